"""API keys: random, shown once, stored as SHA-256 (they carry 256 bits, so no slow hash is needed)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "mk_sec_"
PUBLISHABLE_PREFIX = "mk_pub_"


def new_secret_key() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def new_publishable_key() -> str:
    return PUBLISHABLE_PREFIX + secrets.token_urlsafe(24)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def hash_ip(ip: str, secret: str) -> str:
    """A keyed hash, so stored values cannot be reversed by hashing all IPv4 addresses."""
    return hmac.new(secret.encode("utf-8"), ip.strip().encode("utf-8"), hashlib.sha256).hexdigest()


WEBHOOK_SECRET_PREFIX = "whsec_"


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and the base64 of 32 random bytes (the signing key)."""
    return WEBHOOK_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def new_coral_secret() -> str:
    """A signing secret for Coral Talk's external moderation phase (Coral signs with its UTF-8 bytes)."""
    return "coral_" + secrets.token_urlsafe(32)
