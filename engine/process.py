"""Process plumbing shared by ``siji serve`` (engine/cli/serve.py) and the gunicorn application
(api/server.py): a child that must not outlive its parent."""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def set_parent_death_signal(sig: int = signal.SIGKILL) -> bool:
    """Ask Linux to send ``sig`` to this process when the thread that forked it dies (an orphan
    would otherwise keep the port and serve on its own). Returns False where there is no prctl."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    return True


def die_with_parent(parent_pid: int, sig: int = signal.SIGKILL) -> None:
    """Set the parent-death signal, then make sure the parent was not already gone before it was
    set (the signal is not sent for a death that happened earlier): leave at once if so."""
    set_parent_death_signal(sig)
    if os.getppid() != parent_pid:
        os._exit(1)


def thread_count() -> int:
    """OS threads of this process (every thread, not only Python's)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        import threading

        return threading.active_count()


def exit_now(code: int = 0) -> None:
    """Leave without the interpreter's teardown of every loaded module (about half a second for
    the service's processes, paid at every stop and restart): for a process whose own work is
    done and whose database connections were closed."""
    import logging

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    logging.shutdown()
    os._exit(code)


# --------------------------------------------------------------------------- reading /proc (Linux)
# For whoever watches a process tree from outside: the fault-injection tool and the tests.
def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(p) for p in fh.read().split()]
    except OSError:
        return []


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            stat = fh.read()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
