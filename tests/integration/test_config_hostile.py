#!/usr/bin/env python3
"""Hostile config files against the real daemon: a FIFO in place of the config (at --check-config,
at start and swapped in before a SIGHUP) is refused at once and the daemon keeps answering; numbers
past any integer type are config errors (exit 78), not a crash; a secret pasted into a *_file key is
never echoed; a huge or error-packed file is refused cheaply, with the first 50 errors and a count;
the secret-file rule (root:cellgate 0640) is what --check-config enforces, also when run as the
service user; warnings print in the errors' form; a config that runs nothing says so."""

import contextlib
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time

import harness
from harness import GATEWAY_IFACE, GATEWAY_PATH, Daemon, PrivateBus, wait_for

EX_CONFIG = 78
SERVICE_USER = "cellgate"
RULE = "secret files are root:cellgate 0640 (or cellgate's own, 0600)"
MODEM = "modem:\n  port: auto\n  apn:\n    name: cmnet\n"


@contextlib.contextmanager
def workdir():
    d = tempfile.mkdtemp(prefix="cellgate-hostile-")
    os.chmod(d, 0o755)  # the service user must reach the files in it
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def write(d, name, text, mode=0o644):
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def check(args, path, user=None, timeout=10):
    """--check-config on `path`: (exit code, stdout, stderr, seconds, peak RSS in KiB)."""
    cmd = [args.daemon, "--check-config", "--config", path]
    if user:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", *cmd]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.monotonic()
        p = subprocess.Popen(cmd, stdout=out, stderr=err)
        # wait4() for this child's own peak RSS.
        while True:
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - start > timeout:
                p.kill()
                os.wait4(p.pid, 0)
                p.returncode = -9
                raise AssertionError(f"--check-config {path} did not finish within {timeout}s")
            time.sleep(0.005)
        elapsed = time.monotonic() - start
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return p.returncode, out.read(), err.read(), elapsed, usage.ru_maxrss


def service_user():
    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        return None


# --- a FIFO is never waited on --------------------------------------------------------------

def test_check_config_on_a_fifo_fails_at_once(args):
    with workdir() as d:
        fifo = os.path.join(d, "cellgate.yaml")
        os.mkfifo(fifo)
        rc, _, err, elapsed, _ = check(args, fifo, timeout=5)
        assert rc == EX_CONFIG, (rc, err)
        assert err == f"{fifo}: is a FIFO, not a regular file\n", err
        assert elapsed < 2, f"--check-config took {elapsed:.1f}s on a FIFO"
        # The service's start too, before any bus is looked for.
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS="unix:path=/nonexistent/bus")
        r = subprocess.run([args.daemon, "--config", fifo], capture_output=True, text=True, timeout=5, env=env)
        assert r.returncode == EX_CONFIG and f"<3>config: {fifo}: is a FIFO" in r.stderr, r
        # A secret file that is a FIFO is refused the same way.
        secret = os.path.join(d, "secret")
        os.mkfifo(secret)
        cfg = write(d, "c.yaml", "local:\n  username: u\n  password_file: " + secret + "\n")
        rc, _, err, elapsed, _ = check(args, cfg, timeout=5)
        assert rc == EX_CONFIG and "local.password_file: is a FIFO, not a regular file" in err, (rc, err)


def test_sighup_with_a_fifo_in_place_keeps_the_daemon_answering(args):
    with PrivateBus(args.policy, keep=args.keep) as bus, \
            Daemon(args.daemon, "log_level: info\n", bus, keep=args.keep) as d:
        d.wait_ready()
        fifo = d.config_path + ".fifo"
        os.mkfifo(fifo)
        os.rename(fifo, d.config_path)  # atomically, as an editor or a config tool would
        seen = len(d.poll_notifications())
        d.proc.send_signal(signal.SIGHUP)
        d.wait_log("reload: keeping the running configuration", 3)
        start = time.monotonic()
        state = bus.get_property(GATEWAY_PATH, GATEWAY_IFACE, "State")
        elapsed = time.monotonic() - start
        assert elapsed < 1, f"a property read took {elapsed:.2f}s after the reload"
        assert state, state
        assert f"reload: {d.config_path}: is a FIFO, not a regular file" in d.log(), d.log()
        wait_for(lambda: any(n.get("READY") == "1" for n in d.poll_notifications()[seen:]), 3, "READY=1")
        # A good file again: the next reload applies it.
        os.unlink(d.config_path)
        with open(d.config_path, "w") as f:
            f.write("log_level: debug\n")
        d.proc.send_signal(signal.SIGHUP)
        d.wait_log("log_level changed", 3)
        harness.assert_clean_stop(d)


# --- numbers, secrets, size -------------------------------------------------------------------

def test_numbers_past_any_integer_are_config_errors(args):
    with workdir() as d:
        path = write(d, "c.yaml", MODEM + "  recovery_backoff: 99999999999999999999s\n"
                                          "  cid: 99999999999999999999\n"
                                          "outbox:\n  max_bytes: 99999999999999999999GiB\n")
        rc, _, err, _, _ = check(args, path)
        assert rc == EX_CONFIG, (rc, err)
        assert not harness.daemon.SANITIZER_REPORT.search(err), err
        lines = err.splitlines()
        assert lines == [
            f"{path}:5:21: modem.recovery_backoff: must be between 1s and 10m, got '99999999999999999999s'",
            f"{path}:6:8: modem.cid: must be between 1 and 15, got 99999999999999999999",
            f"{path}:8:14: outbox.max_bytes: must be between 1024 and 1099511627776 bytes, "
            "got 99999999999999999999GiB",
        ], err


def test_a_secret_in_a_file_key_is_never_echoed(args):
    password = "pw-Hunter2-xyz"
    with workdir() as d:
        for value in (password, "/" + password, f'"/{password}\\n"'):
            path = write(d, "c.yaml", f"local:\n  username: u\n  password_file: {value}\n", 0o640)
            rc, out, err, _, _ = check(args, path)
            assert rc == EX_CONFIG, (rc, err)
            assert "local.password_file" in err, err
            assert "Hunter2" not in out + err, f"the secret was echoed:\n{err}"
        # Nor a secret file's content, nor its name.
        secret = write(d, "pw-Hunter2-file", f"{password}\nsecond line\n", 0o640)
        path = write(d, "c.yaml", f"local:\n  username: u\n  password_file: {secret}\n", 0o640)
        rc, out, err, _, _ = check(args, path)
        assert rc == EX_CONFIG and "is one line" in err and "Hunter2" not in out + err, err


def test_huge_and_error_packed_files_are_cheap(args):
    with workdir() as d:
        # The probe's file: 1 MiB of "-\n" under cloud: (before: 917 MB and 11 s, 524 278 lines).
        huge = write(d, "huge.yaml", "cloud:\n" + "-\n" * ((1 << 20) // 2 - 4))
        rc, _, err, elapsed, rss = check(args, huge, timeout=10)
        assert rc == EX_CONFIG and err == f"{huge}: is larger than 256 KiB\n", (rc, err)
        # Just under the size bound and packed with errors: 10 000 unknown keys.
        packed = write(d, "packed.yaml", "modem:\n" + "".join(f"  k{i:018d}: 1\n" for i in range(9_990)))
        assert os.path.getsize(packed) < 256 << 10
        rc, _, err, elapsed, rss = check(args, packed, timeout=30)
        lines = err.splitlines()
        assert rc == EX_CONFIG and len(lines) == 51, (rc, len(lines), lines[-3:])
        assert re.fullmatch(re.escape(packed) + r": and \d+ more errors", lines[-1]), lines[-1]
        # Generous for sanitizer builds; the release build takes well under a second and 20 MB.
        assert elapsed < 10, f"{elapsed:.1f}s for {len(lines)} lines"
        assert rss < 300 * 1024, f"peak RSS {rss // 1024} MB"
        print(f"  packed 250 KiB file: {elapsed:.2f}s, peak RSS {rss // 1024} MB")


# --- the secret-file rule ---------------------------------------------------------------------

def test_secret_file_rule(args):
    user = service_user()
    with workdir() as d:
        world = write(d, "world", "pw\n", 0o644)
        path = write(d, "c.yaml", f"local:\n  username: u\n  password_file: {world}\n")
        rc, _, err, _, _ = check(args, path)
        assert rc == EX_CONFIG, (rc, err)
        assert err == f"{path}:3:18: local.password_file: is readable by every user; {RULE}\n", err

        if os.geteuid() != 0 or user is None:
            print(f"  skipped the service-user half: needs root and a user {SERVICE_USER}")
            return
        # What the README and the man page say: root:cellgate 0640. The unit's ExecStartPre runs the
        # check as cellgate, so do that too.
        good = write(d, "good", "pw\n", 0o640)
        os.chown(good, 0, user.pw_gid)
        path = write(d, "c.yaml", f"local:\n  username: u\n  password_file: {good}\n", 0o640)
        os.chown(path, 0, user.pw_gid)
        for who in (None, SERVICE_USER):
            rc, out, err, _, _ = check(args, path, user=who)
            assert rc == 0 and err == "", (who, rc, err)

        # chmod 600 as root: root reads it, the service cannot; root's check warns, the service's
        # own check refuses it and says the rule.
        private = write(d, "private", "pw\n", 0o600)
        path = write(d, "c.yaml", f"local:\n  username: u\n  password_file: {private}\n", 0o640)
        os.chown(path, 0, user.pw_gid)
        rc, out, err, _, _ = check(args, path)
        assert rc == 0, (rc, err)
        assert err == (f"{path}:3:18: warning: local.password_file: the service runs as user cellgate, "
                       f"which cannot read it; {RULE}\n"), err
        rc, out, err, _, _ = check(args, path, user=SERVICE_USER)
        assert rc == EX_CONFIG, (rc, err)
        assert err == f"{path}:3:18: local.password_file: cannot open: Permission denied; {RULE}\n", err


# --- how a config that loads is reported --------------------------------------------------------

def test_warnings_print_like_errors(args):
    with workdir() as d:
        # An inline secret in a config every user can read.
        path = write(d, "c.yaml", MODEM + "    password: pw-inline\n", 0o644)
        rc, out, err, _, _ = check(args, path)
        assert rc == 0 and out == f"{path}: configuration OK\n", (rc, out, err)
        assert err == (f"{path}:5:15: warning: modem.apn.password: is a secret in a file every user can read; "
                       f"{RULE}, and so is a config that holds one\n"), err
        assert "pw-inline" not in err
        # At start the same line goes to the journal at warning level.
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS="unix:path=/nonexistent/bus")
        r = subprocess.run([args.daemon, "--config", path], capture_output=True, text=True, timeout=10, env=env)
        assert f"<4>config: {path}:5:15: warning: modem.apn.password: " in r.stderr, r.stderr


def test_a_config_that_runs_nothing_says_so(args):
    notice = "no modem and no cloud sessions: cellgated will only serve its D-Bus API"
    with workdir() as d:
        path = write(d, "c.yaml", "log_level: info\n")
        rc, out, err, _, _ = check(args, path)
        assert rc == 0 and err == "", (rc, err)
        assert out == f"{path}: configuration OK\n{path}: notice: {notice}\n", out
        rc, out, _, _, _ = check(args, write(d, "m.yaml", MODEM))
        assert rc == 0 and "notice" not in out, out
    with PrivateBus(args.policy, keep=args.keep) as bus, \
            Daemon(args.daemon, "log_level: info\n", bus, keep=args.keep) as dm:
        dm.wait_ready()
        assert f"<5>config: {notice}" in dm.log(), dm.log()
        harness.assert_clean_stop(dm)


if __name__ == "__main__":
    harness.run([
        test_check_config_on_a_fifo_fails_at_once,
        test_sighup_with_a_fifo_in_place_keeps_the_daemon_answering,
        test_numbers_past_any_integer_are_config_errors,
        test_a_secret_in_a_file_key_is_never_echoed,
        test_huge_and_error_packed_files_are_cheap,
        test_secret_file_rule,
        test_warnings_print_like_errors,
        test_a_config_that_runs_nothing_says_so,
    ], workers=1)
