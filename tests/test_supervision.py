"""`moderation up` supervises its children: a killed worker or API is started again while the rest keeps
serving, SIGTERM stops everything, and nothing it started outlives it, even when it is SIGKILLed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.test_up import KEY, free_port

pytestmark = pytest.mark.slow


def children_of(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return out


def descendants(pid: int) -> set[int]:
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children_of(todo.pop()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def child(up: subprocess.Popen[bytes], kind: str) -> int:
    pids = [pid for pid in children_of(up.pid) if f"-m moderation {kind}" in cmdline(pid)]
    assert len(pids) == 1, pids
    return pids[0]


def request(base: str, path: str, body: dict[str, Any] | None = None, timeout: float = 10) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method="POST" if data else "GET")
    req.add_header("Authorization", f"Bearer {KEY}")
    if data:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


class Up:
    def __init__(self, tmp_path: Path, trained_model_dir: Path, workers: int) -> None:
        home = tmp_path / "home"
        home.mkdir()
        (home / "models").symlink_to(trained_model_dir, target_is_directory=True)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", "SECRET_KEY")}
        env.update(
            MODERATION_HOME=str(home),
            MODERATION_PORT=str(self.port),
            MODERATION_DEMO_API_KEY=KEY,
            MODERATION_ADMIN_PASSWORD="admin-password-123",
        )
        self.log_path = tmp_path / "up.log"
        self.log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moderation", "up", "--workers", str(workers)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.wait_for("Comment moderation is running", workers)

    def text(self) -> str:
        return self.log_path.read_text()

    def wait_for(self, banner: str, ready_workers: int, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while banner not in self.text() or self.text().count("worker ready with model") < ready_workers:
            assert self.proc.poll() is None, self.text()
            assert time.monotonic() < deadline, self.text()
            time.sleep(0.2)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def decided_within(base: str, comment_id: str, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status, body = request(base, f"/api/v1/comments/{comment_id}")
        if status == 200 and body["status"] != "pending":
            return True
        time.sleep(0.1)
    return False


def test_up_restarts_a_killed_worker_and_api_and_stops_on_sigterm(
    tmp_path: Path, trained_model_dir: Path
) -> None:
    up = Up(tmp_path, trained_model_dir, workers=1)
    try:
        comment = {"text": "Danke für den Artikel.", "article_id": "a", "author": {"id": "leser"}}
        status, body = request(up.base, "/api/v1/comments?wait=3000", comment)
        assert status == 200 and body["status"] == "approved", body
        everything = descendants(up.proc.pid)

        # The only worker dies: the API keeps answering, comments are accepted, and a new worker decides them.
        worker = child(up.proc, "worker")
        os.kill(worker, signal.SIGKILL)
        killed = time.monotonic()
        status, body = request(up.base, "/api/v1/comments", {**comment, "text": "Gleich nach dem Absturz."})
        assert status == 202, body
        assert request(up.base, "/healthz")[0] == 200
        assert decided_within(up.base, body["id"], 90), up.text()
        worker_recovery = time.monotonic() - killed
        assert child(up.proc, "worker") != worker
        assert "worker-1" in up.text() and "exited (signal SIGKILL)" in up.text()

        # The API dies: it is started again, and the worker never stopped.
        api = child(up.proc, "serve")
        worker = child(up.proc, "worker")
        os.kill(api, signal.SIGKILL)
        killed = time.monotonic()
        while True:
            try:
                if request(up.base, "/healthz", timeout=1)[0] == 200 and child(up.proc, "serve") != api:
                    break
            except (OSError, AssertionError):
                pass
            assert time.monotonic() - killed < 90, up.text()
            time.sleep(0.1)
        api_recovery = time.monotonic() - killed
        assert child(up.proc, "worker") == worker
        status, body = request(up.base, "/api/v1/comments?wait=3000", {**comment, "text": "Wieder da."})
        assert status == 200, body
        print(f"\nrecovery: killed worker -> comment decided in {worker_recovery:.1f} s")
        print(f"recovery: killed API -> answering again in {api_recovery:.1f} s")

        # SIGTERM stops everything it started, the embedded Redis included, and exits.
        everything |= descendants(up.proc.pid)
        assert any("redis-server" in cmdline(pid) for pid in everything)
        up.proc.send_signal(signal.SIGTERM)
        assert up.proc.wait(timeout=40) is not None
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in everything) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [cmdline(pid) for pid in everything if alive(pid)]
        assert "stopped" in up.text()
    finally:
        up.close()


def test_nothing_outlives_a_sigkilled_up(tmp_path: Path, trained_model_dir: Path) -> None:
    up = Up(tmp_path, trained_model_dir, workers=2)
    everything = descendants(up.proc.pid)
    try:
        kinds = " ".join(cmdline(pid) for pid in everything)
        assert "redis-server" in kinds and "moderation worker" in kinds and "moderation serve" in kinds
        up.proc.kill()
        up.proc.wait()
        deadline = time.monotonic() + 30
        while any(alive(pid) for pid in everything) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [cmdline(pid) for pid in everything if alive(pid)], up.text()
    finally:
        up.close()
        for pid in everything:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
