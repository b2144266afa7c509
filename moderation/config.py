"""Settings read from the environment once, at start-up, and passed around explicitly."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

DEFAULT_TEST_REDIS_URL = "redis://127.0.0.1:6379/15"


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from exc


def _bounded(env: dict[str, str], name: str, default: int, *, high: int = 10**9) -> int:
    """A whole number from 0 to `high`; anything else stops the start with a message naming the variable."""
    value = _int(env, name, default)
    if not 0 <= value <= high:
        raise ValueError(f"{name} must be between 0 and {high}, got {value}")
    return value


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _flag(env: dict[str, str], name: str, default: bool) -> bool:
    """A yes/no switch: 1/true/yes/on or 0/false/no/off (empty: the default)."""
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ValueError(f"{name} must be 1 or 0 (true/false, yes/no, on/off), got {env.get(name)!r}")


# Workers' CPU niceness unless MODERATION_WORKER_NICE says otherwise. Where the API and the workers
# share cores (one host), scoring yields the CPU to a comment form's request: at 100 comments a second on
# 2 cores the accept p99 went from 30-54 ms to 20-36 ms, with the same throughput (docs/performance.md).
DEFAULT_WORKER_NICE = 10

# How workers score (`classifiers.scoring.PROFILES`): `full` adds the sentence encoder, `fast` does not.
SCORING_PROFILES = ("full", "fast")


def load_secret_key(home: Path) -> str:
    """Returns the key kept under MODERATION_HOME, creating it on first use.

    Keeping it on disk means a restart of `moderation up` does not invalidate sessions or IP hashes.
    """
    path = home / "secret_key"
    if path.exists():
        return path.read_text().strip()
    home.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # Created readable by its owner only from the first byte (no window with the umask's mode).
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
        handle.write(key)
    return key


def default_sqlite_path(home: Path) -> Path:
    """`MODERATION_HOME/moderation.db`; an installation that began under the interim name
    `moderation.store.db` keeps using that file."""
    interim = home / "moderation.store.db"
    if interim.exists() and not (home / "moderation.db").exists():
        return interim
    return home / "moderation.db"


@dataclass(frozen=True)
class Config:
    home: Path
    database_url: str
    redis_url: str | None
    secret_key: str
    port: int = 8000
    admin_email: str = "admin@example.org"
    admin_password: str | None = None
    demo_api_key: str | None = None
    # The site whose publishable key the demo article at /demo/ uses (`moderation up` creates it).
    demo_site: str = "demo"
    batch_size: int = 256
    wait_max_ms: int = 5000
    reconcile_after_s: int = 30
    # Sliding one-minute budgets (0 switches one off): the site's secret key, its publishable (browser)
    # key, one author and one client address. The site's budget fits a full 1,000-item batch.
    rate_limit_per_minute: int = 1200
    rate_limit_browser_per_minute: int = 120
    rate_limit_author_per_minute: int = 20
    rate_limit_address_per_minute: int = 30
    # Perspective's `comments:analyze` and `:suggestscore` per site key and sliding minute (a site's
    # `limits.perspective_per_minute` overrides it), and how long an analysis waits for the workers.
    rate_limit_perspective_per_minute: int = 600
    analyze_timeout_ms: int = 5000
    # Requests held open by `?wait` at once in one process, overall and per site; more answer 202 at once.
    wait_max_concurrent: int = 4
    wait_max_concurrent_per_site: int = 2
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto are believed (0: none, direct).
    trusted_proxies: int = 0
    # The access log names client addresses only when this is set (MODERATION_ACCESS_LOG_IPS=1); it never
    # records user agents.
    access_log_ips: bool = False
    # Webhooks may go to private and loopback addresses (MODERATION_WEBHOOK_ALLOW_PRIVATE=1: tests, an
    # endpoint on the same host or network); off by default, so an address cannot reach internal services.
    webhook_allow_private: bool = False
    max_body_bytes: int = 1024 * 1024
    max_batch_body_bytes: int = 16 * 1024 * 1024
    # Coral Talk's external moderation phase answers "no opinion" (204) rather than later than this (a
    # site's `coral_budget_ms` overrides it); keep it below the timeout set for the phase in Coral.
    coral_budget_ms: int = 1500
    # Workers' CPU niceness (0-19): where the API and the workers share cores, scoring a batch yields the
    # CPU to a comment form's request (the accept latency), and uses the rest.
    worker_nice: int = DEFAULT_WORKER_NICE
    extra: dict[str, Any] = field(default_factory=dict)
    catalogue_override: Path | None = None

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def embeddings_dir(self) -> Path:
        """The sentence encoder's embedding cache (MODERATION_EMBEDDINGS overrides it)."""
        return (
            Path(os.environ["MODERATION_EMBEDDINGS"])
            if os.environ.get("MODERATION_EMBEDDINGS")
            else self.home / "embeddings"
        )

    @property
    def catalogue_dir(self) -> Path:
        """Where site editors keep narrative catalogue extensions (MODERATION_CATALOGUE_DIR)."""
        return self.catalogue_override or self.home / "catalogue"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Config:
        env = dict(os.environ if env is None else env)
        home = Path(env.get("MODERATION_HOME") or "./var").resolve()
        database_url = env.get("DATABASE_URL") or f"sqlite:///{default_sqlite_path(home)}"
        secret_key = env.get("SECRET_KEY") or load_secret_key(home)
        scoring = env.get("MODERATION_SCORING", "").strip().lower() or "full"
        if scoring not in SCORING_PROFILES:
            raise ValueError(f"MODERATION_SCORING must be full or fast, not {scoring!r}")
        return cls(
            home=home,
            database_url=normalise_database_url(database_url),
            redis_url=env.get("REDIS_URL") or None,
            secret_key=secret_key,
            port=_int(env, "MODERATION_PORT", 8000),
            admin_email=env.get("MODERATION_ADMIN_EMAIL") or "admin@example.org",
            admin_password=env.get("MODERATION_ADMIN_PASSWORD") or None,
            demo_api_key=env.get("MODERATION_DEMO_API_KEY") or None,
            demo_site=env.get("MODERATION_DEMO_SITE") or "demo",
            batch_size=_int(env, "MODERATION_BATCH_SIZE", 256),
            reconcile_after_s=_int(env, "MODERATION_RECONCILE_AFTER", 30),
            rate_limit_per_minute=_bounded(env, "MODERATION_RATE_LIMIT", 1200),
            rate_limit_browser_per_minute=_bounded(env, "MODERATION_RATE_LIMIT_BROWSER", 120),
            rate_limit_author_per_minute=_bounded(env, "MODERATION_RATE_LIMIT_AUTHOR", 20),
            rate_limit_address_per_minute=_bounded(env, "MODERATION_RATE_LIMIT_ADDRESS", 30),
            rate_limit_perspective_per_minute=_bounded(env, "MODERATION_RATE_LIMIT_PERSPECTIVE", 600),
            analyze_timeout_ms=_bounded(env, "MODERATION_ANALYZE_TIMEOUT_MS", 5000, high=60_000),
            wait_max_concurrent=_bounded(env, "MODERATION_WAIT_MAX_CONCURRENT", 4),
            wait_max_concurrent_per_site=_bounded(env, "MODERATION_WAIT_MAX_CONCURRENT_PER_SITE", 2),
            trusted_proxies=_bounded(env, "MODERATION_TRUSTED_PROXIES", 0, high=10),
            access_log_ips=_flag(env, "MODERATION_ACCESS_LOG_IPS", False),
            webhook_allow_private=_flag(env, "MODERATION_WEBHOOK_ALLOW_PRIVATE", False),
            coral_budget_ms=_bounded(env, "MODERATION_CORAL_BUDGET_MS", 1500, high=5000),
            worker_nice=_bounded(env, "MODERATION_WORKER_NICE", DEFAULT_WORKER_NICE, high=19),
            catalogue_override=Path(env["MODERATION_CATALOGUE_DIR"]).resolve()
            if env.get("MODERATION_CATALOGUE_DIR")
            else None,
        )

    def with_overrides(self, **changes: Any) -> Config:
        return replace(self, **changes)


def normalise_database_url(url: str) -> str:
    """Lets operators write plain `postgresql://` URLs; we drive PostgreSQL with psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url
