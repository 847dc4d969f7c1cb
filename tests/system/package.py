"""The .deb the system test installs: CPack on a build tree of the source under test.

A sanitizer build cannot run under the shipped unit (LeakSanitizer stops the threads with ptrace(),
which its system call filter refuses: the daemon ends with "LeakSanitizer has encountered a fatal
error" and a failure status), and it is not what users install; so for such a build tree the
package comes from a plain build of the same source, kept beside it and rebuilt incrementally."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

BUILD_TIMEOUT = 1200


def _run(cmd, timeout: float) -> None:
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {r.returncode}:\n{r.stdout[-3000:]}{r.stderr[-3000:]}")


def _cache_value(build: str, key: str) -> str | None:
    try:
        with open(os.path.join(build, "CMakeCache.txt")) as f:
            m = re.search(rf"^{key}:\w+=(.*)$", f.read(), re.M)
    except OSError:
        return None
    return m.group(1).strip() if m else None


def plain_build(build: str) -> str:
    """`build` itself, or for a sanitizer build a plain RelWithDebInfo build of its source, built."""
    if _cache_value(build, "CELLGATE_SANITIZE") not in ("ON", "TRUE", "1", "YES"):
        return build
    source = _cache_value(build, "CMAKE_HOME_DIRECTORY")
    assert source, f"{build}/CMakeCache.txt names no source directory"
    plain = os.path.join(build, "system-plain")
    _run(["cmake", "-S", source, "-B", plain, "-DCMAKE_BUILD_TYPE=RelWithDebInfo", "-DCELLGATE_SANITIZE=OFF",
          "-DCELLGATE_TESTS=OFF"], timeout=300)
    _run(["cmake", "--build", plain, "-j", str(os.cpu_count() or 2), "--target", "cellgated", "cellgatectl", "cellgate_docs"],
         timeout=BUILD_TIMEOUT)
    return plain


def build_deb(build: str, out: str) -> str:
    """Runs cpack on `build` (already built: cpack never builds) into `out`; returns the .deb."""
    config = os.path.join(build, "CPackConfig.cmake")
    assert os.path.exists(config), f"{config} missing: not a configured cellgate build tree"
    # -B keeps CPack's staging tree out of the build dir, so this does not race the package test.
    _run(["cpack", "--config", config, "-B", out], timeout=300)
    debs = [f for f in os.listdir(out) if f.endswith(".deb")]
    assert len(debs) == 1, f"cpack made {debs}"
    return os.path.join(out, debs[0])


def field(deb: str, name: str) -> str:
    r = subprocess.run(["dpkg-deb", "-f", deb, name], capture_output=True, text=True, timeout=60, check=True)
    return r.stdout.strip()


def tools_missing() -> list:
    return [t for t in ("cmake", "cpack", "dpkg-deb", "apt-cache") if not shutil.which(t)]
