"""Standard Webhooks (https://www.standardwebhooks.com): signatures, the retry schedule and which
endpoint addresses we post to. Pure functions; storage and delivery use them.

A receiver verifies `webhook-signature` with any Standard Webhooks library: each space-separated entry
is `v1,` and the base64 HMAC-SHA256 of `<webhook-id>.<webhook-timestamp>.<body>`, keyed with the bytes
the site's `whsec_` secret encodes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
from collections.abc import Iterable, Sequence
from datetime import timedelta
from urllib.parse import urlsplit

SECRET_PREFIX = "whsec_"
SIGNATURE_VERSION = "v1"
DECIDED = "comment.decided"
TEST = "webhook.test"

# The spec's suggested schedule: after the first attempt, retries this long after each failure, about
# a day in all (27 h 35 min 5 s). A delivery whose last retry fails is given up (`failed`).
RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
# An endpoint whose deliveries all failed this long (a delivery gave up and none succeeded meanwhile) is
# switched off until an admin switches it on again.
FAILING_FOR = timedelta(hours=24)


class WebhookUrlError(ValueError):
    """An endpoint address we refuse; `code` says why (for the messages of CLI and dashboard)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def secret_key(secret: str) -> bytes:
    """The signing key a `whsec_` secret encodes (the base64 after the prefix)."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a webhook secret starts with whsec_")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("a webhook secret is whsec_ and base64") from exc
    if not key:
        raise ValueError("a webhook secret must not be empty")
    return key


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """One signature entry, `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}"


def signature_header(secrets: Iterable[str], message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: one entry per secret (two while a rotated secret still counts)."""
    return " ".join(sign(secret, message_id, timestamp, body) for secret in secrets)


def retry_delay(attempts: int, schedule: Sequence[timedelta] = RETRY_DELAYS) -> timedelta | None:
    """How long after the failed attempt number `attempts` (1 = the first) to try again; None: give up."""
    if attempts < 1 or attempts > len(schedule):
        return None
    return schedule[attempts - 1]


def check_url(raw: str, *, allow_private: bool = False) -> str:
    """The endpoint address as stored, or `WebhookUrlError`: http(s) only, a host, no user name or
    password in it, and (unless `allow_private`) not an address of this machine or a private network
    written as an IP address or `localhost` (names are resolved and checked again at each delivery)."""
    url = raw.strip()
    if len(url) > 2000:
        raise WebhookUrlError("too_long", "the webhook URL is longer than 2000 characters")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise WebhookUrlError("invalid", "the webhook URL is not a valid URL") from exc
    if parts.scheme not in ("https", "http") or not host:
        raise WebhookUrlError("scheme", "the webhook URL must start with https:// (or http://)")
    if parts.username is not None or parts.password is not None:
        raise WebhookUrlError("credentials", "the webhook URL must not contain a user name or password")
    if any(ch.isspace() for ch in url):
        raise WebhookUrlError("invalid", "the webhook URL must not contain spaces")
    if not allow_private and (host == "localhost" or host.endswith(".localhost") or _is_private_ip(host)):
        raise WebhookUrlError("private", "the webhook URL must not point to a local or private address")
    return url


def _is_private_ip(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return not address.is_global


def is_public_address(address: str) -> bool:
    """Whether a resolved address may be posted to when private ones are not allowed."""
    try:
        parsed = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    return parsed.is_global and not parsed.is_multicast
