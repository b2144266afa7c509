"""Throttling dashboard logins without letting an attacker lock a moderator out.

Two counters in Redis, both counted *before* the password is checked, in one Lua script, so parallel
guesses cannot get more password checks than the budget:

- per account and client address: 5 attempts in 15 minutes. Guessing a moderator's password from one
  address does not stop the moderator logging in from theirs.
- per client address: 50 attempts in 15 minutes, across all accounts, against one address trying many
  accounts. Behind a reverse proxy the real client address is read from `X-Forwarded-For` as far as
  `MODERATION_TRUSTED_PROXIES` hops allow, so a newsroom behind one proxy is not one address.

A successful login clears its account-and-address counter and gives back its unit of the address counter.
Client addresses are keyed-hashed with a key derived for this purpose only (not a site's key, not the
session key itself). When Redis is unavailable the `login_failures` table counts instead (not atomic, but
still per account and address), so an outage neither opens the door to unlimited guessing nor locks anyone
out.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import timedelta
from enum import Enum

import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from moderation.domain.timestamps import utcnow
from moderation.store.tables import LoginFailure

log = logging.getLogger(__name__)

WINDOW = timedelta(minutes=15)
MAX_ATTEMPTS_PER_ACCOUNT_AND_ADDRESS = 5
MAX_ATTEMPTS_PER_ADDRESS = 50
PREFIX = "moderation:login:"

# KEYS: the account-and-address counter, the address counter. ARGV: their limits, the window in seconds.
_BEGIN = """
if tonumber(redis.call('GET', KEYS[1]) or '0') >= tonumber(ARGV[1]) then return 0 end
if tonumber(redis.call('GET', KEYS[2]) or '0') >= tonumber(ARGV[2]) then return 0 end
for i = 1, 2 do
  if redis.call('INCR', KEYS[i]) == 1 then redis.call('EXPIRE', KEYS[i], ARGV[3]) end
end
return 1
"""
_SUCCEEDED = """
redis.call('DEL', KEYS[1])
if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
return 1
"""


class Gate(Enum):
    OPEN = "open"  # counted in Redis; go on and check the password
    REFUSED = "refused"  # a budget is spent: answer 429 without checking the password
    UNCOUNTED = "uncounted"  # Redis unavailable: the caller asks `sql_throttled` instead


def address_key(secret_key: str) -> bytes:
    """The key for hashing client addresses of login attempts, derived from the session key."""
    return hmac.new(secret_key.encode("utf-8"), b"login-throttle address key", hashlib.sha256).digest()


class LoginThrottle:
    def __init__(self, connection: redis.Redis | None, secret_key: str) -> None:
        self.connection = connection
        self._key = address_key(secret_key)

    def address_hash(self, address: str) -> str:
        return hmac.new(self._key, address.encode("utf-8"), hashlib.sha256).hexdigest()

    def _keys(self, email: str, address: str) -> list[str]:
        pair = hmac.new(self._key, f"{email}\0{address}".encode(), hashlib.sha256).hexdigest()
        return [f"{PREFIX}pair:{pair}", f"{PREFIX}addr:{self.address_hash(address)}"]

    def begin(self, email: str, address: str) -> Gate:
        """Counts one attempt if both budgets have room (atomically); says whether to go on."""
        if self.connection is None:
            return Gate.UNCOUNTED
        args = (MAX_ATTEMPTS_PER_ACCOUNT_AND_ADDRESS, MAX_ATTEMPTS_PER_ADDRESS, int(WINDOW.total_seconds()))
        try:
            allowed = self.connection.eval(_BEGIN, 2, *self._keys(email, address), *args)
        except (redis.RedisError, OSError):
            log.warning("login throttle cannot reach Redis; counting failed logins in SQL", exc_info=True)
            return Gate.UNCOUNTED
        return Gate.OPEN if int(allowed) == 1 else Gate.REFUSED

    def succeeded(self, email: str, address: str) -> None:
        if self.connection is None:
            return
        try:
            self.connection.eval(_SUCCEEDED, 2, *self._keys(email, address))
        except (redis.RedisError, OSError):
            log.warning("login throttle cannot reach Redis to clear a counter", exc_info=True)


def sql_throttled(db: Session, email: str, address_hash: str) -> bool:
    """The fallback count of recent failures in `login_failures`, with the same limits."""
    since = utcnow() - WINDOW
    recent = LoginFailure.created_at >= since
    by_pair = db.scalar(
        select(func.count()).where(LoginFailure.email == email, LoginFailure.ip_hash == address_hash, recent)
    )
    by_address = db.scalar(select(func.count()).where(LoginFailure.ip_hash == address_hash, recent))
    return (by_pair or 0) >= MAX_ATTEMPTS_PER_ACCOUNT_AND_ADDRESS or (
        by_address or 0
    ) >= MAX_ATTEMPTS_PER_ADDRESS
