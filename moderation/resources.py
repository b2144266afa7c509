"""The resources one process uses, built once from the config and shared by the app, the CLI and the
workers: database engine and sessions, Redis, the model registry and the narrative catalogue."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from redis import Redis
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelConnectionPool
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from classifiers.catalogue import CatalogueWatcher
from classifiers.registry import Registry
from moderation.config import Config
from moderation.store import webhooks
from moderation.store.db import make_engine, make_session_factory, migrate
from moderation.store.queue import copy_pool, follows_sentinel


@dataclass
class Resources:
    config: Config
    engine: Engine
    sessions: sessionmaker[Session]
    redis: Redis | None
    registry: Registry = field(init=False)
    catalogue: CatalogueWatcher = field(init=False)

    def __post_init__(self) -> None:
        self.registry = Registry(self.config.models_dir, self.config.catalogue_dir)
        self.catalogue = CatalogueWatcher(self.config.catalogue_dir)
        # A commit that wrote webhook deliveries queues the job that sends them.
        webhooks.install(self.sessions, self.redis)

    @classmethod
    def from_config(
        cls,
        config: Config,
        *,
        engine: Engine | None = None,
        redis: Redis | None = None,
        migrate_schema: bool = False,
    ) -> Resources:
        """Connects what `config` names (an engine or a Redis client given here is used instead)."""
        engine = engine or make_engine(config.database_url)
        if migrate_schema:
            migrate(engine)
        return cls(config, engine, make_session_factory(engine), redis or connect_redis(config.redis_url))

    def require_redis(self) -> Redis:
        if self.redis is None:
            raise RuntimeError("REDIS_URL is not set: this process has no queue")
        return self.redis

    def close(self) -> None:
        self.engine.dispose()
        if self.redis is not None:
            self.redis.close()


# The API's budget per Redis command: a hung Redis (SIGSTOP, a full network buffer) costs a request this
# much per call, not seconds. Workers block on Redis (RQ) and use longer timeouts (`WORKER_REDIS_TIMEOUT_S`).
API_REDIS_TIMEOUT_S = 0.3
WORKER_REDIS_TIMEOUT_S = 5.0


# After a command timed out, the client fails further commands at once for this long: while Redis hangs,
# one request in each such period pays the timeout, the others none.
FAIL_FAST_S = 1.0


class FailFastRedis(Redis):
    """A Redis client that, once a command has timed out, raises at once for `FAIL_FAST_S` instead of
    waiting out the timeout again on every call (commands of pipelines are not covered)."""

    _fail_until = 0.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # RQ's scheduler process rebuilds its client as `type(client)(connection_pool=ConnectionPool(...))`
        # from the pool's connection class and arguments (`rq.connections.parse_connection`). From a
        # Sentinel client that gives a plain pool whose connections still ask Sentinel for the primary
        # but which keeps connections to a demoted one: made a Sentinel pool again here.
        pool = kwargs.get("connection_pool")
        if pool is not None and not isinstance(pool, SentinelConnectionPool) and follows_sentinel(pool):
            kwargs["connection_pool"] = copy_pool(pool)
        super().__init__(*args, **kwargs)

    def execute_command(self, *args: Any, **options: Any) -> Any:
        if time.monotonic() < self._fail_until:
            raise RedisTimeoutError("Redis timed out a moment ago; not waiting on it again yet")
        try:
            return super().execute_command(*args, **options)
        except RedisTimeoutError:
            self._fail_until = time.monotonic() + FAIL_FAST_S
            raise


def connect_redis(url: str | None, timeout_s: float = API_REDIS_TIMEOUT_S) -> Redis | None:
    """A client that gives up quickly: an outage must cost a request milliseconds, not seconds.

    A refused or reset connection (Redis restarted) is retried once on a fresh connection; a timeout is
    not retried, so one hung command costs at most `timeout_s`, and for a second after it commands fail
    at once (`FailFastRedis`).

    `redis+sentinel://` and `rediss+sentinel://` URLs name Sentinels instead of a server
    (`parse_sentinel_url`): the client asks them for the primary whenever it opens a connection, so after
    a failover it reaches the new primary without a restart. A malformed URL stops the start (ValueError).
    """
    if not url:
        return None
    options: dict[str, Any] = {
        "socket_timeout": timeout_s,
        "socket_connect_timeout": timeout_s,
        "health_check_interval": 30,
        "retry": Retry(
            ExponentialBackoff(cap=0.05, base=0.01), retries=1, supported_errors=(RedisConnectionError,)
        ),
    }
    if is_sentinel_url(url):
        return _connect_sentinel(parse_sentinel_url(url), timeout_s, options)
    return FailFastRedis.from_url(url, **options)


_PASSWORD_PARAMETER = re.compile(r"(?i)(password=)[^&#]*")


def redacted_url(url: str) -> str:
    """`url` with its passwords shown as `***`, for logs: the one before '@' and any `...password=`
    parameter (a Sentinel URL's `sentinel_password`)."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        return url
    userinfo, at, location = rest.rpartition("@")
    if at:
        user, colon, _secret = userinfo.partition(":")
        rest = f"{user}:***@{location}" if colon else f"***@{location}"
    rest = _PASSWORD_PARAMETER.sub(r"\1***", rest)
    return f"{scheme}://{rest}"


SENTINEL_SCHEMES = {"redis+sentinel": False, "rediss+sentinel": True}  # scheme: TLS to the Redis servers
SENTINEL_DEFAULT_PORT = 26379
_SENTINEL_FORM = "redis+sentinel://[:password@]host1:26379,host2:26379/<master name>/<db>"
_SENTINEL_PARAMETERS = ("sentinel_password", "ssl_ca_certs", "ssl_cert_reqs")
_CERT_REQS = ("none", "optional", "required")
_HOST = re.compile(r"[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]")


@dataclass(frozen=True)
class SentinelURL:
    """What a `redis+sentinel://` URL says (the passwords are left out of the repr)."""

    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sentinel_password: str | None = field(default=None, repr=False)
    tls: bool = False
    ssl_ca_certs: str | None = None
    ssl_cert_reqs: str | None = None


def is_sentinel_url(url: str) -> bool:
    return url.partition("://")[0].lower() in SENTINEL_SCHEMES


def parse_sentinel_url(url: str) -> SentinelURL:
    """Reads `redis+sentinel://[[user]:password@]host1[:26379],host2[:26379]/<master name>[/<db>]`
    (`rediss+sentinel://`: TLS to the Redis servers; the Sentinels are asked in plain text), with the
    optional parameters `sentinel_password`, `ssl_ca_certs` and `ssl_cert_reqs` (none, optional, required).

    Strict: anything else stops the start with a message that names the problem. The messages never
    repeat the URL, which may hold a password.
    """

    def bad(problem: str) -> ValueError:
        return ValueError(f"REDIS_URL: {problem} (expected {_SENTINEL_FORM})")

    scheme, separator, rest = url.partition("://")
    if not separator or scheme.lower() not in SENTINEL_SCHEMES:
        raise bad("not a redis+sentinel:// or rediss+sentinel:// URL")
    tls = SENTINEL_SCHEMES[scheme.lower()]
    # The password ends at the last '@'. A '/', '?' or '#' before it is one the password should have
    # percent-encoded (or an '@' later in the URL): stopping here keeps the password out of the messages.
    userinfo, at, rest = rest.rpartition("@")
    if any(char in userinfo for char in "/?#"):
        raise bad("percent-encode '/', '?', '#' and '@' in passwords (%2F, %3F, %23, %40)")
    if "#" in rest:
        raise bad("a '#' fragment has no meaning here")
    rest, _, query = rest.partition("?")
    hosts, _, path = rest.partition("/")
    username = password = None
    if at:
        user, colon, secret = userinfo.partition(":")
        if not colon:
            raise bad("the part before '@' must be ':password' or 'user:password'")
        if not secret:
            raise bad("the password before '@' is empty")
        username, password = unquote(user) or None, unquote(secret)

    sentinels: list[tuple[str, int]] = []
    for entry in hosts.split(","):
        if not entry:
            raise bad("a Sentinel address is missing (an empty entry in the comma-separated list)")
        host, port_text = entry, ""
        if entry.startswith("["):
            host, bracket, port_part = entry.partition("]")
            host += bracket
            if port_part and not port_part.startswith(":"):
                raise bad(f"Sentinel address {entry!r} is not host:port")
            port_text = port_part[1:] if port_part else ""
        elif ":" in entry:
            host, _, port_text = entry.rpartition(":")
        if not _HOST.fullmatch(host):
            raise bad(f"Sentinel address {entry!r} has no valid host name")
        port = SENTINEL_DEFAULT_PORT
        if port_text or entry.endswith(":"):
            if not port_text.isdigit() or not 0 < int(port_text) < 65536:
                raise bad(f"Sentinel address {entry!r} has no valid port")
            port = int(port_text)
        sentinels.append((host.strip("[]"), port))

    parts = path.split("/") if path else []
    if not parts or not parts[0]:
        raise bad("the master name (the path after the Sentinel addresses) is missing")
    if len(parts) > 2:
        raise bad("the path has more than a master name and a database number")
    service = unquote(parts[0])
    db = 0
    if len(parts) == 2:
        if not parts[1].isdigit():
            raise bad(f"the database number {parts[1]!r} is not a whole number")
        db = int(parts[1])

    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True) if query else []
    except ValueError:
        raise bad("the query string is malformed") from None
    params: dict[str, str] = {}
    for name, value in pairs:
        if name not in _SENTINEL_PARAMETERS:
            raise bad(f"unknown parameter {name!r} (supported: {', '.join(_SENTINEL_PARAMETERS)})")
        if name in params:
            raise bad(f"parameter {name!r} is given twice")
        if not value:
            raise bad(f"parameter {name!r} is empty")
        params[name] = value
    if not tls and ("ssl_ca_certs" in params or "ssl_cert_reqs" in params):
        raise bad("ssl_ca_certs and ssl_cert_reqs need rediss+sentinel:// (TLS)")
    if params.get("ssl_cert_reqs", "required") not in _CERT_REQS:
        raise bad(f"ssl_cert_reqs must be one of {', '.join(_CERT_REQS)}")
    return SentinelURL(
        sentinels=tuple(sentinels),
        service=service,
        db=db,
        username=username,
        password=password,
        sentinel_password=params.get("sentinel_password"),
        tls=tls,
        ssl_ca_certs=params.get("ssl_ca_certs"),
        ssl_cert_reqs=params.get("ssl_cert_reqs"),
    )


def _connect_sentinel(address: SentinelURL, timeout_s: float, options: dict[str, Any]) -> Redis:
    """A client of the primary that the Sentinels name. Its pool asks them again for every new connection
    and drops idle connections to a primary they no longer name; a connection to a primary that was
    demoted fails its next write (READONLY) and is opened again to the new one."""
    sentinel = Sentinel(
        address.sentinels,
        sentinel_kwargs={
            "socket_timeout": timeout_s,
            "socket_connect_timeout": timeout_s,
            "password": address.sentinel_password,
            # Not redis-py's default (three retries, 1 to 10 s apart): a Sentinel that does not answer is
            # passed over for the next one at once.
            "retry": Retry(NoBackoff(), 0),
        },
    )
    tls: dict[str, Any] = {}
    if address.tls:
        tls["ssl"] = True
        if address.ssl_ca_certs:
            tls["ssl_ca_certs"] = address.ssl_ca_certs
        if address.ssl_cert_reqs:
            tls["ssl_cert_reqs"] = address.ssl_cert_reqs
    return sentinel.master_for(
        address.service,
        redis_class=FailFastRedis,
        db=address.db,
        username=address.username,
        password=address.password,
        **tls,
        **options,
    )
