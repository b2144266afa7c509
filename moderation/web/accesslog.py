"""The access log of `moderation serve` (gunicorn), kept free of personal data by default.

Each line has the time, method, path, protocol, status, size and duration. It never has the user agent,
the referrer, query strings (dashboard searches may name people), request headers or the author id of
`/api/v1/authors/<id>`. The client address is written only when `MODERATION_ACCESS_LOG_IPS=1`
(behind `MODERATION_TRUSTED_PROXIES` reverse proxies: the address the outermost proxy saw).
"""

from __future__ import annotations

import re
from typing import Any

from gunicorn.glogging import Logger

FORMAT = '%(t)s "%(r)s" %(s)s %(b)s %(M)sms'
FORMAT_WITH_IPS = '%(h)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms'

_AUTHOR_PATH = re.compile(r"^(/api/v1/authors/)[^?]*")


def redact_path(path: str) -> str:
    """The path without its query string, and with an author id replaced by `-`."""
    path = path.split("?", 1)[0]
    return _AUTHOR_PATH.sub(r"\1-", path)


def client_address(environ: dict[str, Any], trusted_proxies: int) -> str:
    address = str(environ.get("REMOTE_ADDR") or "-")
    if trusted_proxies > 0:
        forwarded = [
            a.strip() for a in str(environ.get("HTTP_X_FORWARDED_FOR") or "").split(",") if a.strip()
        ]
        if len(forwarded) >= trusted_proxies:
            address = forwarded[-trusted_proxies]
    return address


class PrivateAccessLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger with the atoms of each access log line reduced to what is not personal."""

    log_ips = False
    trusted_proxies = 0

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        full = super().atoms(resp, req, environ, request_time)
        path = redact_path(str(environ.get("RAW_URI") or environ.get("PATH_INFO") or ""))
        method, protocol = full.get("m") or "-", full.get("H") or "-"
        return {
            "h": client_address(environ, self.trusted_proxies) if self.log_ips else "-",
            "l": "-",
            "u": "-",
            "t": full["t"],
            "r": f"{method} {path} {protocol}",
            "s": full["s"],
            "m": method,
            "U": redact_path(str(full.get("U") or "")),
            "q": "-",
            "H": protocol,
            "b": full["b"],
            "B": full["B"],
            "f": "-",
            "a": "-",
            "T": full["T"],
            "D": full["D"],
            "M": full["M"],
            "L": full["L"],
            "p": full["p"],
        }


def access_logger(*, log_ips: bool, trusted_proxies: int = 0) -> tuple[type[Logger], str]:
    """The logger class and access log format for gunicorn's `logger_class` and `access_log_format`."""
    logger = type(
        "PrivateAccessLogger",
        (PrivateAccessLogger,),
        {"log_ips": log_ips, "trusted_proxies": trusted_proxies},
    )
    return logger, FORMAT_WITH_IPS if log_ips else FORMAT
