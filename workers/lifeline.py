"""Child processes that end with their parent, however the parent ends (even SIGKILL).

On Linux the kernel does it: `prctl(PR_SET_PDEATHSIG)` asks for a signal when the parent dies. It is set
in the child between fork and exec (`preexec_fn`), and survives the exec. Where prctl is missing (not
Linux), `watch_parent` polls the parent's pid from a thread instead.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1


def _prctl_pdeathsig(signum: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def die_with_parent(signum: int = signal.SIGTERM) -> Callable[[], None]:
    """A `preexec_fn` for `subprocess.Popen`: the child gets `signum` when the process that started it
    dies. Checks the parent once more after prctl, in case it died in between.

    The kernel ties this to the *thread* that forked the child: start long-lived children from a thread
    that lives as long as they should (the main thread), or they are signalled when that thread ends."""
    parent = os.getpid()

    def preexec() -> None:
        _prctl_pdeathsig(signum)
        if os.getppid() != parent:
            os.kill(os.getpid(), signum)

    return preexec


def children_die_with_me(signum: int = signal.SIGTERM) -> None:
    """Makes every process this process forks from now on (e.g. RQ's scheduler) get `signum` when this
    process dies, so a SIGKILLed worker leaves nothing behind."""
    os.register_at_fork(after_in_child=lambda: _prctl_pdeathsig(signum))


def watch_parent(
    interval_s: float = 1.0, signum: int = signal.SIGTERM, grace_s: float = 10.0
) -> threading.Thread | None:
    """Sends this process `signum` once its parent is gone, again every `grace_s` while it is still
    running (a second SIGTERM makes RQ stop without waiting, where the first one can be swallowed by a
    reconnect loop), and ends it after three tries. On Linux it backs up PR_SET_PDEATHSIG; elsewhere it is
    the only guard. Returns the watching thread, or None when the parent is init already."""
    parent = os.getppid()
    if parent == 1:
        return None

    def watch() -> None:
        stop = threading.Event()
        while not stop.wait(interval_s):
            if os.getppid() != parent:
                break
        log.warning("parent process %d is gone; stopping", parent)
        for _ in range(3):
            os.kill(os.getpid(), signum)
            stop.wait(grace_s)
        log.error("still running %.0f s after the parent died; exiting", 3 * grace_s)
        os._exit(1)

    thread = threading.Thread(target=watch, name="parent-watch", daemon=True)
    thread.start()
    return thread
