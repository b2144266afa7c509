"""`moderation worker --processes N`: workers forked after the model is loaded decide comments, share the
model's pages, are replaced when one dies, and stop with the pool."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from classifiers.registry import Registry
from moderation.config import DEFAULT_WORKER_NICE, Config
from moderation.store.accounts import NewSite
from moderation.store.model_versions import register_and_activate
from tests.conftest import TEST_REDIS_URL, Database
from workers.jobs import batch_size_for
from workers.lifeline import die_with_parent


def _members(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid and b"worker" in cmdline:
                found.add(int(entry.name))
    return found


def _rollup(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        out[name.strip()] = int(value.split()[0])
    return out


def _until(check: Any, what: str, log: Path, timeout_s: float = 120) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (result := check()):
        assert time.monotonic() < deadline, f"{what}:\n{log.read_text()[-3000:]}"
        time.sleep(0.1)
    return result


def _start_pool(database: Database, home: Path, log: Path, **extra: str) -> subprocess.Popen[bytes]:
    """`moderation worker --processes 2` on the test's database and Redis, its output in `log`."""
    env = dict(
        os.environ,
        DATABASE_URL=database.url,
        REDIS_URL=TEST_REDIS_URL,
        MODERATION_HOME=str(home),
        SECRET_KEY="test-secret-key",
        **extra,
    )
    with log.open("wb") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "moderation", "worker", "--processes", "2"],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent(),
        )


def test_pool_decides_shares_the_model_and_replaces_a_dead_worker(
    client: FlaskClient,
    site: NewSite,
    model_home: Config,
    database: Database,
    redis_conn: redis.Redis,
    tmp_path: Path,
) -> None:
    log = tmp_path / "pool.log"
    pool = _start_pool(database, model_home.home, log, MODERATION_WORKER_NICE="7")
    try:
        _until(lambda: log.read_text().count("worker ready") >= 2, "two pool workers ready", log)
        assert log.read_text().count("loading model") == 1  # loaded once, by the pool, before the fork
        members = _until(lambda: len(m := _members(pool.pid)) == 2 and m, "two pool members", log)
        # The pool and its workers yield the CPU to the API at the configured niceness.
        for pid in [pool.pid, *members]:
            assert os.getpriority(os.PRIO_PROCESS, pid) == 7
        headers = {"Authorization": f"Bearer {site.secret_key}"}
        body = {"text": "Danke für den Artikel.", "article_id": "a", "author": {"id": "leser-1"}}
        answer = client.post("/api/v1/comments?wait=5000", json=body, headers=headers)
        assert answer.status_code == 200 and answer.get_json()["status"] == "approved"
        # The model's memory (anonymous pages, which separately started processes never share) is
        # shared across the pool: each member's share of it (Pss_Anon) is well below what it maps.
        for pid in members:
            rollup = _rollup(pid)
            assert rollup["Pss_Anon"] < rollup["Anonymous"] - 20_000, rollup

        os.kill(min(members), signal.SIGKILL)
        _until(lambda: log.read_text().count("worker ready") >= 3, "a replacement worker", log)
        assert "starting another" in log.read_text()
        answer = client.post(
            "/api/v1/comments?wait=5000", json={**body, "text": "Gut erklärt."}, headers=headers
        )
        assert answer.status_code == 200 and answer.get_json()["status"] == "approved"

        pool.send_signal(signal.SIGTERM)
        assert pool.wait(timeout=60) == 0
        assert not _members(pool.pid)
    finally:
        if pool.poll() is None:
            pool.kill()
            pool.wait()


def test_batches_stay_small_on_a_short_queue_and_grow_under_a_backlog() -> None:
    assert batch_size_for(0, 256) == 256  # a pop takes what is there: one comment, one batch
    assert batch_size_for(512, 256) == 256
    assert batch_size_for(1_000, 256) == 500  # two drains share a backlog
    assert batch_size_for(100_000, 256) == 1024  # at most four times the configured size


def test_a_batch_takes_about_two_seconds_at_the_last_batchs_rate() -> None:
    """The full profile's encoders cost tens of milliseconds a comment: batches stay short enough that
    no worker sits on a long one while the others run dry."""
    assert batch_size_for(100_000, 256, 0.0005) == 1024  # fast profile: the count limit binds
    assert batch_size_for(100_000, 256, 0.025) == 80  # 2 s at 25 ms a comment
    assert batch_size_for(100, 256, 0.025) == 80
    assert batch_size_for(100_000, 256, 5.0) == 16  # never fewer than 16: per-batch costs stay shared
    assert batch_size_for(100_000, 256, None) == 1024  # nothing measured yet


def _registry_with_a_switch(home: Path, trained: Path) -> tuple[str, str]:
    """A registry of this test's own: the session's quick model, and a copy of it under a new version
    name (its files linked, its card stamped), as a retraining would add one."""
    version = Registry(trained).latest()
    assert version is not None
    models = home / "models"
    models.mkdir(parents=True)
    (models / version).symlink_to(trained / version, target_is_directory=True)
    switched = f"{version}-next"
    (models / switched).mkdir()
    for item in (trained / version).iterdir():
        if item.name == "model_card.json":
            card = json.loads(item.read_text(encoding="utf-8"))
            (models / switched / item.name).write_text(json.dumps({**card, "version": switched}))
        else:
            (models / switched / item.name).symlink_to(item)
    return version, switched


def test_after_a_model_switch_the_pool_reforks_its_workers_with_the_new_model(
    client: FlaskClient,
    site: NewSite,
    database: Database,
    redis_conn: redis.Redis,
    trained_model_dir: Path,
    tmp_path: Path,
) -> None:
    """A promoted model is used at once; then the pool loads it and replaces each worker by a new fork,
    so the new model's pages are shared again (not one private copy per worker)."""
    home = tmp_path / "home"
    first, switched = _registry_with_a_switch(home, trained_model_dir)
    registry = Registry(home / "models")
    register_and_activate(database.sessions, registry, first, actor="test")
    log = tmp_path / "pool.log"
    pool = _start_pool(database, home, log)
    headers = {"Authorization": f"Bearer {site.secret_key}"}

    def decided_by(text: str) -> str:
        body = {"text": text, "article_id": "a", "author": {"id": "leser-1"}}
        answer = client.post("/api/v1/comments?wait=5000", json=body, headers=headers)
        assert answer.status_code == 200, answer.get_json()
        return str(answer.get_json()["decision"]["model_version"])

    try:
        _until(lambda: log.read_text().count("worker ready") >= 2, "two pool workers ready", log)
        before = _until(lambda: len(m := _members(pool.pid)) == 2 and m, "two pool members", log)
        assert decided_by("Danke für den Artikel.") == first

        register_and_activate(database.sessions, registry, switched, actor="test")
        _until(
            lambda: log.read_text().count("starting its replacement") >= 2 and len(_members(pool.pid)) == 2,
            "both workers replaced after the switch",
            log,
            timeout_s=60,
        )
        text = log.read_text()
        assert f"pool loaded model {switched}; replacing its workers one at a time" in text
        assert "exited (status" not in text  # replaced on purpose, none died
        after = _until(lambda: len(m := _members(pool.pid)) == 2 and m, "two new pool members", log)
        assert not (after & before)
        assert decided_by("Gut erklärt, danke.") == switched
        # The new workers were forked with the new model: its pages are shared between them again.
        for pid in after:
            rollup = _rollup(pid)
            assert rollup["Pss_Anon"] < rollup["Anonymous"] - 20_000, rollup

        pool.send_signal(signal.SIGTERM)
        assert pool.wait(timeout=60) == 0
        assert not _members(pool.pid)
    finally:
        if pool.poll() is None:
            pool.kill()
            pool.wait()


@pytest.mark.parametrize("raw", ["-1", "20", "sieben"])
def test_worker_niceness_is_validated(raw: str, tmp_path: Path) -> None:
    env = {"MODERATION_HOME": str(tmp_path), "SECRET_KEY": "k"}
    with pytest.raises(ValueError, match="MODERATION_WORKER_NICE"):
        Config.from_env({**env, "MODERATION_WORKER_NICE": raw})
    assert Config.from_env({**env, "MODERATION_WORKER_NICE": "19"}).worker_nice == 19
    assert Config.from_env(env).worker_nice == DEFAULT_WORKER_NICE
