"""Counters that add up over all gunicorn processes of one API instance.

A scrape of /metrics reaches one gunicorn process, and each process counts its own requests (rate-limit
refusals, fail-open passes, degraded waits). Without help, Prometheus would see the counter jump between
the processes' values and take every drop for a restart. prometheus_client's multiprocess mode fixes
that: each process writes its counters to files in one directory, and /metrics adds up all of them.

The mode is chosen when prometheus_client is first imported, from `PROMETHEUS_MULTIPROC_DIR`; so
`moderation serve` sets it (a fresh private directory, unless the operator named one) before gunicorn
starts its processes, which import the app after the fork. This module imports prometheus_client only
inside the function that needs it, so importing it does not fix the mode too early.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_directory() -> Path:
    """Makes sure `PROMETHEUS_MULTIPROC_DIR` names an empty directory for this server's processes.

    A directory the operator named is emptied of counter files from an earlier run (counters restart at
    zero, as Prometheus expects of a restarted server); otherwise a private temporary one is made.
    """
    named = os.environ.get(MULTIPROC_ENV)
    if named:
        directory = Path(named)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink(missing_ok=True)
    else:
        directory = Path(tempfile.mkdtemp(prefix="moderation-metrics-"))
        os.environ[MULTIPROC_ENV] = str(directory)
        atexit.register(_remove_when_server_stops, directory, os.getpid())
    return directory


def _remove_when_server_stops(directory: Path, server_pid: int) -> None:
    """Removes the directory when the server stops, not when one of its forked processes exits."""
    if os.getpid() == server_pid:
        shutil.rmtree(directory, ignore_errors=True)


def counters_exposition(single_process: CollectorRegistry) -> bytes:
    """The counters in Prometheus' text format: of every process of this server in multiprocess mode,
    else those of `single_process` (tests, the Flask development server, `moderation up`'s own API)."""
    from prometheus_client import CollectorRegistry, generate_latest, multiprocess, values

    # Multiprocess values were chosen at import only if the environment named the directory then.
    if not os.environ.get(MULTIPROC_ENV) or values.ValueClass is values.MutexValue:
        return generate_latest(single_process)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry)
