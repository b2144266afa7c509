"""The chaos test, 300 comments (`make chaos` runs 5,000): workers SIGKILLed, Redis restarted empty,
PostgreSQL stopped for 10 s and the API killed while comments arrive; every comment that got a 2xx is
decided exactly once. Real processes on loopback with a Redis and a PostgreSQL of their own
(benchmarks/chaos.py); skipped, with a notice, where PostgreSQL's server binaries are missing."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def has_initdb() -> bool:
    import shutil

    return bool(list(Path("/usr/lib/postgresql").glob("*/bin/initdb")) or shutil.which("initdb"))


@pytest.mark.timeout(240)
def test_chaos_300_comments(trained_model_dir: Path) -> None:
    if not has_initdb():
        pytest.skip("NOTICE: initdb not found (PostgreSQL server binaries); the chaos test did not run")
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "chaos.py"), "--comments", "300", "--post-seconds", "16"]
        + ["--settle", "30", "--give-up", "40", "--models", str(trained_model_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=220,
    )
    took = time.monotonic() - started
    report = "\n".join(line for line in run.stdout.splitlines() if " INFO " not in line)
    print(report, f"\n(chaos test took {took:.0f} s)")
    assert run.returncode == 0, report + "\n" + run.stderr[-3000:]
    [line] = [line for line in run.stdout.splitlines() if line.startswith("CHAOS ")]
    counts = json.loads(line[len("CHAOS ") :])
    assert counts["lost"] == 0 and counts["duplicated"] == 0
    assert (
        counts["posted"] == counts["accepted"] == counts["decided"] == counts["decided_exactly_once"] == 300
    )
    answers = next(line for line in run.stdout.splitlines() if line.startswith("Answers:"))
    assert "503:" in answers, "PostgreSQL was stopped, yet the API never answered 503"
    assert "503 without Retry-After: 0;" in run.stdout
