"""Child processes and scratch directories: the one way a test ends a process it started."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile


def make_workdir(prefix: str) -> str:
    d = tempfile.mkdtemp(prefix=prefix)
    # nobody (the setpriv callers) must be able to reach the bus socket inside.
    os.chmod(d, 0o755)
    return d


def stop_process(proc: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 5.0,
                 cont: bool = False) -> int | None:
    """Sends `sig` to a running process and waits up to `timeout` s, then SIGKILLs it; always
    reaps. cont=True follows the signal with SIGCONT (a SIGSTOPped process acts on it only once
    continued). Returns the exit code, None when there was no process."""
    if proc is None:
        return None
    if proc.poll() is None:
        proc.send_signal(sig)
        if cont:
            proc.send_signal(signal.SIGCONT)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode
