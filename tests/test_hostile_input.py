"""The hostile-input corpus: what the open internet sends to a comment form and to the dashboard.

Every case names the exact status and error code it must get, runs against the real app (real Redis,
SQLite and PostgreSQL), and every answer must carry the security headers, show no trace and, for a
refused API write, store nothing. No case may get a 5xx.

Rules the corpus pins down:
- API bodies must be strict JSON (I-JSON): truncated or malformed JSON, invalid UTF-8, lone surrogates,
  duplicate keys, non-finite or out-of-range numbers and nesting deeper than 64 levels: 400
  `invalid_json`. Well-formed JSON that is not a valid comment (wrong types, unknown fields, control
  characters or NUL in metadata, metadata deeper than 16 levels): 422 `invalid_request`.
- A NUL anywhere in a path, query string or form field: 400 (`invalid_request` for the API, the error page
  in the user's language for the dashboard). A query string over 8 KiB: 414.
- Dashboard filters with garbage values are ignored (the page answers 200 as if the filter were absent),
  as the queue has always treated a bad value.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
from werkzeug.test import TestResponse

from tests.hostile_env import ORIGIN, HostileEnv, hostile_env

SECURITY_HEADERS = ("X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy", "Content-Security-Policy")
GERMAN_REFUSED = "Die Anfrage wurde abgewiesen."
JSON = "application/json"

VALID: dict[str, Any] = {
    "text": "Ein sachlicher Kommentar zur Lage in Kasachstan.",
    "article_id": "artikel-1",
    "author": {"id": "leser-1", "name": "Leserin"},
}


def comment(**changes: Any) -> dict[str, Any]:
    return {**VALID, **changes}


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


def nested(depth: int, leaf: str = "1", kind: str = "[") -> str:
    close = "]" if kind == "[" else "}"
    if kind == "[":
        return "[" * depth + leaf + close * depth
    return '{"a":' * depth + leaf + close * depth


def with_metadata(raw: str) -> bytes:
    """A valid comment whose metadata is the raw JSON text `raw` (to send what json.dumps cannot)."""
    return (
        '{"text": "Ein Kommentar", "article_id": "a", "author": {"id": "x"}, "metadata": ' + raw + "}"
    ).encode()


def with_text(raw: str) -> bytes:
    return ('{"text": ' + raw + ', "article_id": "a", "author": {"id": "x"}}').encode()


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    status: int
    # API cases: the JSON error code ("" for a success); dashboard cases: "html", "json" or "redirect".
    code: str
    body: bytes | None = None
    content_type: str | None = JSON
    who: str = "site"  # site | publishable | other | anon | moderator
    headers: dict[str, str] = field(default_factory=dict)
    environ: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] | None = None
    csrf: bool = False
    check: Callable[[TestResponse], None] | None = None


def _no_injected_header(response: TestResponse) -> None:
    for name, value in response.headers.items():
        assert "\r" not in value and "\n" not in value, (name, value)
        assert "x=1" not in value or name == "Content-Security-Policy", (name, value)
    assert "x" not in {c.split("=")[0].strip() for c in response.headers.getlist("Set-Cookie")}


def _location_is_local(response: TestResponse) -> None:
    _no_injected_header(response)
    location = response.headers["Location"]
    assert location.startswith("/") and not location.startswith("//"), location


def _no_cors_echo(response: TestResponse) -> None:
    _no_injected_header(response)
    assert "Access-Control-Allow-Origin" not in response.headers


CASES: list[Case] = []


def add(*cases: Case) -> None:
    CASES.extend(cases)


COMMENTS = "/api/v1/comments"
BATCH = "/api/v1/comments:batch"

# --- Truncated and malformed JSON ----------------------------------------------------------------------
_FULL = json.dumps(comment(metadata={"n": [1, 2.5, True, None], "s": "ä"}), ensure_ascii=False)
for cut in range(0, len(_FULL), max(1, len(_FULL) // 30)):
    add(Case(f"truncated-at-{cut}", "POST", COMMENTS, 400, "invalid_json", _FULL[:cut].encode()))
for label, raw in [
    ("only-whitespace", b"   \n\t "),
    ("open-brace", b"{"),
    ("close-brace", b"}"),
    ("bare-word", b"comment"),
    ("truncated-true", b"tru"),
    ("key-without-value", b'{"text"}'),
    ("colon-without-value", b'{"text":}'),
    ("lone-comma", b"{,}"),
    ("trailing-comma", b'{"text": "x", "article_id": "a", "author": {"id": "x"},}'),
    ("single-quotes", b"{'text': 'x'}"),
    ("unquoted-keys", b'{text: "x"}'),
    ("js-comment", b'// c\n{"text": "x"}'),
    ("two-documents", dumps(VALID) + dumps(VALID)),
    ("nan-literal", with_metadata('{"n": NaN}')),
    ("infinity-literal", with_metadata('{"n": Infinity}')),
    ("minus-infinity-literal", with_metadata('{"n": -Infinity}')),
    ("leading-zero-number", with_metadata('{"n": 012}')),
    ("hex-number", with_metadata('{"n": 0x1F}')),
    ("plus-sign-number", with_metadata('{"n": +1}')),
    ("unterminated-string", b'{"text": "abc'),
    ("raw-newline-in-string", b'{"text": "a\nb", "article_id": "a", "author": {"id": "x"}}'),
    ("bad-escape", b'{"text": "a\\qb", "article_id": "a", "author": {"id": "x"}}'),
    ("short-unicode-escape", b'{"text": "a\\u12", "article_id": "a", "author": {"id": "x"}}'),
    ("utf8-bom", b"\xef\xbb\xbf" + dumps(VALID)),
]:
    add(Case(f"malformed-{label}", "POST", COMMENTS, 400, "invalid_json", raw))

# --- Not UTF-8 ---------------------------------------------------------------------------------------
for label, raw in [
    ("latin1", '{"text": "Grüße", "article_id": "a", "author": {"id": "x"}}'.encode("latin-1")),
    ("utf16", json.dumps(VALID).encode("utf-16")),
    ("overlong-slash", b'{"text": "a\xc0\xafb", "article_id": "a", "author": {"id": "x"}}'),
    ("encoded-surrogate", b'{"text": "a\xed\xa0\x80b", "article_id": "a", "author": {"id": "x"}}'),
    ("lone-continuation-byte", b'{"text": "a\x80b", "article_id": "a", "author": {"id": "x"}}'),
    ("ff-byte", b"\xff" + dumps(VALID)),
]:
    add(Case(f"not-utf8-{label}", "POST", COMMENTS, 400, "invalid_json", raw))

# --- Lone surrogates (valid JSON syntax, not Unicode) -----------------------------------------------
for label, raw in [
    ("text-high", with_text('"a\\ud800b"')),
    ("text-low", with_text('"a\\udc00b"')),
    ("text-reversed-pair", with_text('"\\ude00\\ud83d"')),
    ("text-high-at-end", with_text('"abc\\udbff"')),
    ("author-id", b'{"text": "x", "article_id": "a", "author": {"id": "\\ud800"}}'),
    ("article-id", b'{"text": "x", "article_id": "\\udfff", "author": {"id": "x"}}'),
    ("metadata-key", with_metadata('{"\\ud800": 1}')),
    ("metadata-value", with_metadata('{"k": "\\ud800"}')),
    ("metadata-list-item", with_metadata('{"k": ["ok", "\\udc80"]}')),
    ("top-level-key", b'{"\\ud800": 1}'),
]:
    add(Case(f"lone-surrogate-{label}", "POST", COMMENTS, 400, "invalid_json", raw))
add(Case("surrogate-pair-is-fine", "POST", COMMENTS, 202, "", with_text('"Gut gemacht \\ud83d\\ude00"')))

# --- Deep nesting ------------------------------------------------------------------------------------
add(
    Case("metadata-17-levels", "POST", COMMENTS, 422, "invalid_request", with_metadata(nested(17, "1", "{"))),
    Case("metadata-16-levels-is-fine", "POST", COMMENTS, 202, "", with_metadata(nested(16, "1", "{"))),
    Case(
        "metadata-70-arrays",
        "POST",
        COMMENTS,
        400,
        "invalid_json",
        with_metadata('{"m": ' + nested(70) + "}"),
    ),
    Case(
        "metadata-980-arrays",
        "POST",
        COMMENTS,
        400,
        "invalid_json",
        with_metadata('{"m": ' + nested(980) + "}"),
    ),
    Case("metadata-980-objects", "POST", COMMENTS, 400, "invalid_json", with_metadata(nested(980, "1", "{"))),
    Case(
        "metadata-5000-arrays",
        "POST",
        COMMENTS,
        400,
        "invalid_json",
        with_metadata('{"m": ' + nested(5000) + "}"),
    ),
    Case("body-100000-open-brackets", "POST", COMMENTS, 400, "invalid_json", b"[" * 100_000),
    Case("text-is-deep-array", "POST", COMMENTS, 400, "invalid_json", with_text(nested(3000))),
    Case("body-is-deep-array", "POST", COMMENTS, 400, "invalid_json", nested(2000).encode()),
    Case(
        "batch-deep-array",
        "POST",
        BATCH,
        400,
        "invalid_json",
        ('{"comments": ' + nested(1500) + "}").encode(),
    ),
)

# --- Numbers -----------------------------------------------------------------------------------------
for label, number, status, code in [
    ("exponent-overflow", "1e999999", 400, "invalid_json"),
    ("negative-exponent-overflow", "-1e999999", 400, "invalid_json"),
    ("just-beyond-double", "1.8e308", 400, "invalid_json"),
    ("huge-integer", "1" + "0" * 30, 400, "invalid_json"),
    ("integer-2-pow-63", str(2**63), 400, "invalid_json"),
    ("negative-huge-integer", "-" + "9" * 25, 400, "invalid_json"),
    ("5000-digit-integer", "7" * 5000, 400, "invalid_json"),
    ("int64-max-is-fine", str(2**63 - 1), 202, ""),
    ("underflow-is-zero", "1e-999999", 202, ""),
    ("float-beyond-int64", "1e19", 400, "invalid_json"),
    ("float-within-int64-is-fine", "9.2e18", 202, ""),
    ("long-fraction-is-fine", "0." + "3" * 500, 202, ""),
]:
    add(Case(f"number-{label}", "POST", COMMENTS, status, code, with_metadata('{"n": ' + number + "}")))
add(
    Case("text-is-huge-number", "POST", COMMENTS, 400, "invalid_json", with_text("1e999999")),
    Case("text-is-number", "POST", COMMENTS, 422, "invalid_request", with_text("42")),
    Case("wait-in-body", "POST", COMMENTS, 422, "invalid_request", dumps(comment(wait=5))),
)

# --- Duplicate keys: refused, since parsers disagree on which value wins -------------------------
for label, raw in [
    ("text", b'{"text": "harmlos", "text": "anders", "article_id": "a", "author": {"id": "x"}}'),
    ("author", b'{"text": "x", "article_id": "a", "author": {"id": "x"}, "author": {"id": "y"}}'),
    ("author-id", b'{"text": "x", "article_id": "a", "author": {"id": "x", "id": "y"}}'),
    ("metadata", with_metadata('{"k": 1, "k": 2}')),
    ("metadata-nested", with_metadata('{"k": {"a": 1, "a": 1}}')),
    ("batch-comments", b'{"comments": [], "comments": []}'),
]:
    add(
        Case(
            f"duplicate-key-{label}",
            "POST",
            BATCH if "batch" in label else COMMENTS,
            400,
            "invalid_json",
            raw,
        )
    )
add(
    Case(
        "keys-differing-in-case",
        "POST",
        COMMENTS,
        422,
        "invalid_request",
        b'{"text": "x", "Text": "y", "article_id": "a", "author": {"id": "x"}}',
    )
)

# --- Control characters and NUL inside JSON --------------------------------------------------------
for label, raw in [
    ("metadata-key-nul", with_metadata('{"a\\u0000b": 1}')),
    ("metadata-key-only-nul", with_metadata('{"\\u0000": 1}')),
    ("metadata-key-control", with_metadata('{"a\\u0001": 1}')),
    ("metadata-key-delete", with_metadata('{"a\\u007f": 1}')),
    ("metadata-key-c1", with_metadata('{"\\u009b": 1}')),
    ("metadata-nested-key-nul", with_metadata('{"k": [{"\\u0000": 1}]}')),
    ("metadata-value-nul", with_metadata('{"k": "a\\u0000b"}')),
    ("metadata-deep-value-nul", with_metadata('{"k": {"l": ["\\u0000"]}}')),
    ("text-nul", with_text('"a\\u0000b"')),
    ("text-escape-char", with_text('"a\\u001bb"')),
    ("text-c1-control", with_text('"a\\u0085b"')),
    ("author-id-nul", b'{"text": "x", "article_id": "a", "author": {"id": "a\\u0000"}}'),
    ("author-name-control", b'{"text": "x", "article_id": "a", "author": {"id": "a", "name": "\\u0007"}}'),
    ("article-id-nul", b'{"text": "x", "article_id": "\\u0000", "author": {"id": "x"}}'),
    ("external-id-nul", dumps(comment(external_id="e\x00"))),
    ("parent-id-control", dumps(comment(parent_id="p\x1f"))),
]:
    add(Case(f"control-{label}", "POST", COMMENTS, 422, "invalid_request", raw))

# --- Wrong shapes and types --------------------------------------------------------------------------
for label, value in [
    ("body-array", [VALID]),
    ("body-string", "Ein Kommentar"),
    ("body-number", 1),
    ("body-null", None),
    ("body-true", True),
    ("empty-object", {}),
    ("text-missing", {k: v for k, v in VALID.items() if k != "text"}),
    ("text-list", comment(text=["a"])),
    ("text-object", comment(text={"de": "a"})),
    ("text-null", comment(text=None)),
    ("text-blank", comment(text=" \n\t ")),
    ("text-too-long", comment(text="a" * 10_001)),
    ("author-string", comment(author="leser")),
    ("author-id-number", comment(author={"id": 7})),
    ("author-id-empty", comment(author={"id": ""})),
    ("author-unknown-field", comment(author={"id": "x", "email": "a@b.example"})),
    ("article-id-too-long", comment(article_id="a" * 501)),
    ("external-id-empty", comment(external_id="")),
    ("lang-not-a-tag", comment(lang="deutsch!")),
    ("lang-sql", comment(lang="de' OR '1'='1")),
    ("metadata-list", comment(metadata=[1, 2])),
    ("metadata-string", comment(metadata="x")),
    ("metadata-too-large", comment(metadata={"k": "x" * 20_000})),
    ("unknown-field", comment(score=0)),
    ("proto-pollution-field", comment(__proto__={"admin": True})),
]:
    add(Case(f"shape-{label}", "POST", COMMENTS, 422, "invalid_request", dumps(value)))

# --- Content types -----------------------------------------------------------------------------------
for label, content_type, raw, status, code in [
    ("missing", None, dumps(VALID), 415, "unsupported_media_type"),
    ("text-plain", "text/plain", dumps(VALID), 415, "unsupported_media_type"),
    ("text-json", "text/json", dumps(VALID), 415, "unsupported_media_type"),
    ("form", "application/x-www-form-urlencoded", b"text=abc&article_id=a", 415, "unsupported_media_type"),
    ("multipart", "multipart/form-data; boundary=xyz", b"--xyz--\r\n", 415, "unsupported_media_type"),
    ("xml", "application/xml", b"<comment/>", 415, "unsupported_media_type"),
    ("garbage", "\x01\x02", dumps(VALID), 415, "unsupported_media_type"),
    (
        "json-utf16-charset",
        "application/json; charset=utf-16",
        json.dumps(VALID).encode("utf-16"),
        400,
        "invalid_json",
    ),
    ("json-latin1-charset-utf8-body", "application/json; charset=latin-1", dumps(VALID), 202, ""),
    ("upper-case-json", "APPLICATION/JSON", dumps(VALID), 202, ""),
    ("plus-json-suffix", "application/merge-patch+json", dumps(VALID), 202, ""),
]:
    add(Case(f"content-type-{label}", "POST", COMMENTS, status, code, raw, content_type=content_type))

# --- Oversized bodies --------------------------------------------------------------------------------
_MIB = 1024 * 1024
add(
    Case("body-over-1-mib", "POST", COMMENTS, 413, "payload_too_large", dumps(comment(text="a" * _MIB))),
    Case("body-padded-over-1-mib", "POST", COMMENTS, 413, "payload_too_large", dumps(VALID) + b" " * _MIB),
    Case(
        "content-length-claims-too-much",
        "POST",
        COMMENTS,
        413,
        "payload_too_large",
        dumps(VALID),
        environ={"CONTENT_LENGTH": str(10 * _MIB)},
    ),
    Case(
        "batch-over-16-mib",
        "POST",
        BATCH,
        413,
        "payload_too_large",
        b'{"comments": ["' + b"a" * (16 * _MIB) + b'"]}',
    ),
    Case(
        "text-10001-characters", "POST", COMMENTS, 422, "invalid_request", dumps(comment(text="ä" * 10_001))
    ),
)

# --- The wait parameter and query strings -----------------------------------------------------------
for value, status, code in [
    ("-1", 400, "invalid_request"),
    ("5001", 400, "invalid_request"),
    ("abc", 400, "invalid_request"),
    ("1e3", 400, "invalid_request"),
    ("%C2%B2", 400, "invalid_request"),
    ("9" * 40, 400, "invalid_request"),
    ("9" * 5000, 400, "invalid_request"),
    ("%00", 400, "invalid_request"),
    ("", 400, "invalid_request"),
]:
    add(
        Case(
            f"wait-{value[:12] or 'empty'}-{len(value)}",
            "POST",
            f"{COMMENTS}?wait={value}",
            status,
            code,
            dumps(VALID),
        )
    )
add(
    Case(
        "query-string-over-8-kib", "POST", f"{COMMENTS}?x={'a' * 9000}", 414, "invalid_request", dumps(VALID)
    ),
    Case("query-nul-in-name", "GET", "/api/v1/comments/x?%00=1", 400, "invalid_request", None, None),
    Case("healthz-nul-query", "GET", "/healthz?a=%00", 400, "invalid_request", None, None, "anon"),
    Case("openapi-nul-query", "GET", "/api/openapi.json?a=%00", 400, "invalid_request", None, None, "anon"),
    Case("readyz-long-query", "GET", f"/readyz?{'a=1&' * 3000}", 414, "invalid_request", None, None, "anon"),
)

# --- Keys --------------------------------------------------------------------------------------------
for label, value, status, code in [
    ("missing", None, 401, "unauthorized"),
    ("empty-bearer", "Bearer ", 401, "unauthorized"),
    ("basic-scheme", "Basic dXNlcjpwYXNz", 401, "unauthorized"),
    ("unknown-key", "Bearer mk_sec_nope", 401, "unauthorized"),
    ("unknown-publishable", "Bearer mk_pub_nope", 401, "unauthorized"),
    ("key-with-nul", "Bearer mk_sec_\x00abc", 401, "unauthorized"),
    ("key-with-control", "Bearer mk_pub_\x01abc", 401, "unauthorized"),
    ("key-non-ascii", "Bearer mk_sec_äöü", 401, "unauthorized"),
    ("key-10-kib", "Bearer mk_sec_" + "a" * 10_240, 401, "unauthorized"),
    ("sql-in-key", "Bearer ' OR '1'='1", 401, "unauthorized"),
]:
    headers = {} if value is None else {"Authorization": value}
    add(Case(f"key-{label}", "POST", COMMENTS, status, code, dumps(VALID), who="anon", headers=headers))
    add(
        Case(
            f"key-{label}-get",
            "GET",
            "/api/v1/comments/{comment_id}",
            status,
            code,
            None,
            None,
            "anon",
            headers,
        )
    )
add(
    Case("publishable-without-origin", "POST", COMMENTS, 403, "forbidden", dumps(VALID), who="publishable"),
    Case(
        "publishable-foreign-origin",
        "POST",
        COMMENTS,
        403,
        "forbidden",
        dumps(VALID),
        who="publishable",
        headers={"Origin": "https://evil.example"},
    ),
    Case(
        "publishable-origin-with-path",
        "POST",
        COMMENTS,
        403,
        "forbidden",
        dumps(VALID),
        who="publishable",
        headers={"Origin": ORIGIN + "/x"},
    ),
    Case(
        "publishable-on-batch",
        "POST",
        BATCH,
        403,
        "forbidden",
        dumps({"comments": [VALID]}),
        who="publishable",
        headers={"Origin": ORIGIN},
    ),
)

# --- Batches -----------------------------------------------------------------------------------------
for label, value, status, code in [
    ("body-list", [VALID], 422, "invalid_request"),
    ("no-comments-field", {"items": [VALID]}, 422, "invalid_request"),
    ("comments-object", {"comments": VALID}, 422, "invalid_request"),
    ("comments-null", {"comments": None}, 422, "invalid_request"),
    ("empty", {"comments": []}, 422, "invalid_request"),
    ("1001-items", {"comments": [VALID] * 1001}, 422, "invalid_request"),
    ("extra-field", {"comments": [VALID], "site": "x"}, 422, "invalid_request"),
    ("one-bad-item", {"comments": [VALID, comment(text="")]}, 422, "invalid_request"),
    ("item-not-object", {"comments": [VALID, "x"]}, 422, "invalid_request"),
    ("item-metadata-nul-key", {"comments": [comment(metadata={"\x00": 1})]}, 422, "invalid_request"),
]:
    add(Case(f"batch-{label}", "POST", BATCH, status, code, dumps(value)))
add(
    Case("batch-truncated", "POST", BATCH, 400, "invalid_json", dumps({"comments": [VALID]})[:-3]),
    Case("batch-lone-surrogate", "POST", BATCH, 400, "invalid_json", b'{"comments": [{"text": "\\udead"}]}'),
    Case("batch-huge-number", "POST", BATCH, 400, "invalid_json", b'{"comments": [1e400]}'),
    Case(
        "batch-wrong-content-type",
        "POST",
        BATCH,
        415,
        "unsupported_media_type",
        dumps({"comments": [VALID]}),
        "text/plain",
    ),
)

# --- Comment ids -------------------------------------------------------------------------------------
for label, ident, status, code in [
    ("unknown", "0123456789abcdef0123456789abcdef", 404, "not_found"),
    ("sql", quote("' OR '1'='1", safe=""), 404, "not_found"),
    ("10-kib", "a" * 10_240, 404, "not_found"),
    ("unicode", quote("kommentar-ü-😀"), 404, "not_found"),
    ("invalid-utf8", "%ED%A0%80", 404, "not_found"),
    ("dot-dot", "..", 404, "not_found"),
    ("encoded-slash", "a%2Fb", 404, "not_found"),
    ("nul", "a%00b", 400, "invalid_request"),
    ("control", "a%01b", 404, "not_found"),
    ("negative-number", "-1", 404, "not_found"),
    ("huge-number", "9" * 40, 404, "not_found"),
]:
    add(Case(f"comment-id-{label}", "GET", f"/api/v1/comments/{ident}", status, code, None, None))
add(
    Case(
        "comment-of-other-site", "GET", "/api/v1/comments/{comment_id}", 404, "not_found", None, None, "other"
    ),
    Case("comment-delete", "DELETE", "/api/v1/comments/{comment_id}", 405, "invalid_request", None, None),
    Case("comment-put", "PUT", "/api/v1/comments/{comment_id}", 405, "invalid_request", dumps(VALID)),
    Case("comments-get", "GET", COMMENTS, 405, "invalid_request", None, None),
    Case("comments-patch", "PATCH", COMMENTS, 405, "invalid_request", dumps(VALID)),
    Case("batch-get", "GET", BATCH, 405, "invalid_request", None, None),
    Case("trace", "TRACE", COMMENTS, 405, "invalid_request", None, None),
    Case("unknown-api-path", "GET", "/api/v1/nothing", 404, "not_found", None, None),
    Case("unknown-api-version", "POST", "/api/v2/comments", 404, "not_found", dumps(VALID)),
    Case("unknown-api-path-nul", "GET", "/api/v1/%00", 400, "invalid_request", None, None),
    Case("healthz-post", "POST", "/healthz", 405, "invalid_request", dumps(VALID), who="anon"),
    Case("metrics-garbage-query", "GET", "/metrics?name[]=%27", 200, "", None, None, "anon"),
)

# --- Authors (export and erasure) ------------------------------------------------------------------
AUTHORS = "/api/v1/authors"
for label, method, ident, who, status, code in [
    ("unknown", "GET", "niemand", "site", 404, "not_found"),
    ("unknown-delete", "DELETE", "niemand", "site", 404, "not_found"),
    ("nul", "GET", "a%00b", "site", 400, "invalid_request"),
    ("nul-delete", "DELETE", "%00", "site", 400, "invalid_request"),
    ("control", "GET", "a%01b", "site", 404, "not_found"),
    ("too-long", "GET", "a" * 201, "site", 404, "not_found"),
    ("sql", "DELETE", quote("x' OR '1'='1", safe=""), "site", 404, "not_found"),
    ("slashes", "GET", "a/b/../c", "site", 404, "not_found"),
    ("invalid-utf8", "GET", "%ED%A0%80", "site", 404, "not_found"),
    ("publishable", "GET", "leser-1", "publishable", 403, "forbidden"),
    ("no-key", "DELETE", "leser-1", "anon", 401, "unauthorized"),
    ("put", "PUT", "leser-1", "site", 405, "invalid_request"),
]:
    headers = {"Origin": ORIGIN} if who == "publishable" else {}
    add(Case(f"author-{label}", method, f"{AUTHORS}/{ident}", status, code, None, None, who, headers))
for label, ip in [
    ("not-an-address", "kein Rechner"),
    ("huge-octets", "999.999.999.999"),
    ("zone", "fe80::1%eth0"),
]:
    add(Case(f"author-ip-{label}", "POST", COMMENTS, 202, "", dumps(comment(author={"id": "ip", "ip": ip}))))

# --- Header injection ---------------------------------------------------------------------------------
_INJECT = "/%0d%0aSet-Cookie:x=1"
add(
    Case(
        "preflight-origin-with-crlf",
        "OPTIONS",
        COMMENTS,
        200,
        "",
        None,
        None,
        "anon",
        {"Access-Control-Request-Method": "POST"},
        {"HTTP_ORIGIN": "https://a.example\r\nSet-Cookie: x=1"},
        check=_no_cors_echo,
    ),
    Case(
        "preflight-origin-with-control",
        "OPTIONS",
        COMMENTS,
        200,
        "",
        None,
        None,
        "anon",
        {"Access-Control-Request-Method": "POST", "Origin": "https://a.example\x01"},
        check=_no_cors_echo,
    ),
    Case(
        "publishable-origin-with-crlf",
        "POST",
        COMMENTS,
        403,
        "forbidden",
        dumps(VALID),
        who="publishable",
        environ={"HTTP_ORIGIN": ORIGIN + "\r\nSet-Cookie: x=1"},
        check=_no_cors_echo,
    ),
    Case(
        "host-with-crlf",
        "GET",
        "/api/v1/comments/{comment_id}",
        200,
        "",
        None,
        None,
        environ={"HTTP_HOST": "zeitung.example\r\nSet-Cookie: x=1"},
        check=_no_injected_header,
    ),
    Case(
        "forwarded-for-garbage",
        "POST",
        COMMENTS,
        202,
        "",
        dumps(comment(author={"id": "leser-xff"})),
        headers={"X-Forwarded-For": "1.2.3.4\x01, <script>"},
        check=_no_injected_header,
    ),
    Case(
        "login-next-crlf",
        "GET",
        f"/login?next={_INJECT}",
        200,
        "html",
        None,
        None,
        "anon",
        check=_no_injected_header,
    ),
    Case(
        "login-next-crlf-signed-in",
        "GET",
        f"/login?next={_INJECT}",
        302,
        "redirect",
        None,
        None,
        "moderator",
        check=_location_is_local,
    ),
    Case(
        "language-next-crlf",
        "POST",
        "/language",
        302,
        "redirect",
        None,
        None,
        "moderator",
        form={"lang": "de", "next": "/\r\nSet-Cookie:x=1"},
        csrf=True,
        check=_location_is_local,
    ),
    Case(
        "decide-next-crlf",
        "POST",
        "/actions/decide",
        302,
        "redirect",
        None,
        None,
        "moderator",
        form={"comment_id": "missing", "action": "approve", "next": "/\r\nSet-Cookie:x=1"},
        csrf=True,
        check=_location_is_local,
    ),
    Case(
        "tampered-session-cookie",
        "GET",
        "/",
        302,
        "redirect",
        None,
        None,
        "anon",
        headers={"Cookie": "session=eyJfZnJlc2giOnRydWV9.garbage.sig"},
        check=_location_is_local,
    ),
)

# --- Dashboard: every query parameter with garbage (a logged-in moderator) -------------------------
_DEEP_CURSOR = base64.urlsafe_b64encode(b"[" * 3000).decode()
_GARBAGE = {
    "superscript-two": "%C2%B2",
    "huge-number": "9" * 23,
    "last-day": "9999-12-31",
    "first-day": "0001-01-01",
    "sql-and-like": quote("' OR 1=1 -- %_\\\"", safe=""),
    "controls": "%01%02%1B",
    "invalid-utf8": "%ED%A0%80%FF",
    "long": "x" * 6000,
}
_SPECIFIC = {
    "band_min": ["NaN", "-inf", "1e999999", "-0"],
    "band_max": ["inf", "1e-999999"],
    "sort": ["risk%27", "OLDEST"],
    "attribute": ["toxicity%27", "__class__"],
    "cursor": [
        _DEEP_CURSOR,
        "%%%",
        base64.urlsafe_b64encode(b'[1e999, "x"]').decode(),
        base64.urlsafe_b64encode(b'["9999-12-31T23:59:59-23:59", "x"]').decode(),
        base64.urlsafe_b64encode(b'["0001-01-01T00:00:00+23:59", "x"]').decode(),
        base64.urlsafe_b64encode(b'{"a": 1, "b": 2}').decode(),
        base64.urlsafe_b64encode(json.dumps([0.5, "\x00"]).encode()).decode(),
        base64.urlsafe_b64encode(b"[" + b"9" * 400 + b', "x"]').decode(),
    ],
    "q": ["%22%22%22", "a%22b%22c", "NEAR(a b)", "*", "%E2%80%AE%E2%80%AE%E2%80%AE"],
    "date_from": ["2026-02-30", "+99999-01-01"],
}
_QUEUE_PARAMS = (
    "site", "article", "band_min", "band_max", "attribute", "technique", "narrative", "lang",
    "date_from", "date_to", "q", "cursor", "sort",
)  # fmt: skip
for param in _QUEUE_PARAMS:
    values = dict(_GARBAGE)
    values.update({f"specific-{i}": v for i, v in enumerate(_SPECIFIC.get(param, []))})
    for label, value in values.items():
        path = "/queue/all" if label in ("huge-number", "controls") else "/"
        add(
            Case(
                f"queue-{param}-{label}",
                "GET",
                f"{path}?{param}={value}",
                200,
                "html",
                None,
                None,
                "moderator",
            )
        )
for param in ("actor", "event", "comment", "date_from", "date_to", "before"):
    for label, value in _GARBAGE.items():
        add(
            Case(
                f"audit-{param}-{label}",
                "GET",
                f"/audit?{param}={value}",
                200,
                "html",
                None,
                None,
                "moderator",
            )
        )
for label in ("superscript-two", "huge-number", "last-day", "invalid-utf8"):
    add(
        Case(
            f"stats-site-{label}",
            "GET",
            f"/stats?site={_GARBAGE[label]}",
            200,
            "html",
            None,
            None,
            "moderator",
        ),
        Case(
            f"stats-date_to-{label}",
            "GET",
            f"/stats?date_to={_GARBAGE[label]}",
            200,
            "html",
            None,
            None,
            "moderator",
        ),
    )
for label, value in {**_GARBAGE, "far-future": "9999-12-31T23:59:59-23:59", "zone-only": "Z"}.items():
    add(
        Case(
            f"updates-since-{label}",
            "GET",
            f"/queue/updates?since={value}",
            200,
            "json",
            None,
            None,
            "moderator",
        )
    )
add(
    Case(
        "updates-cursor-deep",
        "GET",
        f"/queue/updates?cursor={_DEEP_CURSOR}",
        200,
        "json",
        None,
        None,
        "moderator",
    ),
    Case("updates-site-huge", "GET", "/queue/updates?site=" + "9" * 30, 200, "json", None, None, "moderator"),
)
# The reproductions from the issue, by their own URLs.
for path in (
    "/?site=%C2%B2",
    "/queue/all?site=99999999999999999999999",
    "/audit?before=%C2%B2",
    "/audit?before=" + "9" * 40,
    "/?date_to=9999-12-31",
    "/audit?date_to=9999-12-31",
    f"/?cursor={_DEEP_CURSOR}",
):
    add(Case(f"issue-{path}", "GET", path, 200, "html", None, None, "moderator"))
for path in ("/queue/all?q=%00%00%00", "/?q=%00", "/audit?actor=%00", "/stats?site=1%00", "/comments/a%00b"):
    add(Case(f"dashboard-nul-{path}", "GET", path, 400, "html", None, None, "moderator"))
add(
    Case("dashboard-long-query", "GET", f"/?q={'x' * 9000}", 414, "html", None, None, "moderator"),
    Case("dashboard-unknown-queue", "GET", "/queue/%27", 404, "html", None, None, "moderator"),
    Case("dashboard-comment-unknown", "GET", "/comments/" + "a" * 5000, 404, "html", None, None, "moderator"),
    Case("dashboard-comment-sql", "GET", "/comments/%27%20OR%201=1", 404, "html", None, None, "moderator"),
    Case("dashboard-comment-bad-utf8", "GET", "/comments/%ED%A0%80", 404, "html", None, None, "moderator"),
    Case(
        "dashboard-site-huge-id", "GET", "/settings/sites/" + "9" * 25, 404, "html", None, None, "moderator"
    ),
    Case("dashboard-site-2-pow-31", "GET", f"/settings/sites/{2**31}", 404, "html", None, None, "moderator"),
    Case("dashboard-site-negative", "GET", "/settings/sites/-1", 404, "html", None, None, "moderator"),
    Case("dashboard-settings-moderator", "GET", "/settings/sites/1", 403, "html", None, None, "moderator"),
    Case("dashboard-patch", "PATCH", "/", 405, "html", None, None, "moderator"),
    Case("dashboard-static-traversal", "GET", "/static/../../etc/passwd", 404, "html", None, None, "anon"),
    Case("dashboard-anon-garbage", "GET", "/?site=%C2%B2&q=%ED%A0%80", 302, "redirect", None, None, "anon"),
    Case(
        "login-page-garbage-next",
        "GET",
        "/login?next=%ED%A0%80" + "x" * 3000,
        200,
        "html",
        None,
        None,
        "anon",
    ),
)

# --- Dashboard forms with garbage (CSRF token present unless the case is about it) -----------------
for label, path, form, status, code in [
    ("no-csrf", "/actions/decide", {"comment_id": "x", "action": "approve"}, 400, "html"),
    ("nul-field", "/actions/decide", {"comment_id": "x\x00", "action": "approve"}, 400, "html"),
    ("unknown-action", "/actions/decide", {"comment_id": "x", "action": "explode"}, 302, "redirect"),
    ("no-ids", "/actions/decide", {"action": "approve"}, 302, "redirect"),
    ("long-ids", "/actions/decide", {"comment_id": "a" * 5000, "action": "reject"}, 302, "redirect"),
    (
        "bad-reason",
        "/actions/decide",
        {"comment_id": "x", "action": "reject", "reason_code": "%27"},
        302,
        "redirect",
    ),
    ("band-nan", "/actions/band", {"band_min": "NaN", "band_max": "NaN", "action": "approve"}, 200, "html"),
    (
        "band-garbage",
        "/actions/band",
        {"band_min": "²", "band_max": "9" * 30, "action": "hold", "site": "²"},
        302,
        "redirect",
    ),
    ("undo-unknown", "/actions/undo/%27%20OR%201=1", {}, 302, "redirect"),
    ("undo-long", "/actions/undo/" + "a" * 3000, {}, 302, "redirect"),
    ("language-garbage", "/language", {"lang": "xx\x01", "next": "//evil.example"}, 302, "redirect"),
    ("promote-huge-site", "/models/sites/" + "9" * 30 + "/promote", {"version": "x"}, 404, "html"),
]:
    add(
        Case(
            f"form-{label}",
            "POST",
            path,
            status,
            code,
            None,
            None,
            "moderator",
            form=form,
            csrf=label != "no-csrf",
            check=_location_is_local if code == "redirect" else None,
        )
    )


# --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostileEnv]:
    with hostile_env(request.param, tmp_path_factory.mktemp("hostile")) as environment:
        yield environment


def send(env: HostileEnv, case: Case) -> TestResponse:
    client = env.client("moderator" if case.who == "moderator" else "anon")
    headers = dict(case.headers)
    if case.who in ("site", "other"):
        key = env.site.secret_key if case.who == "site" else env.other_site.secret_key
        headers.setdefault("Authorization", f"Bearer {key}")
    elif case.who == "publishable":
        headers.setdefault("Authorization", f"Bearer {env.site.publishable_key}")
    path = case.path.replace("{comment_id}", env.comment_id)
    if case.form is not None:
        form = dict(case.form)
        if case.csrf:
            form["csrf_token"] = env.moderator_csrf
        return client.open(
            path, method=case.method, data=form, headers=headers, environ_overrides=case.environ
        )
    if case.content_type is not None:
        headers["Content-Type"] = case.content_type
    return client.open(
        path, method=case.method, data=case.body, headers=headers, environ_overrides=case.environ
    )


def assert_safe(response: TestResponse) -> None:
    """What every answer must be, whatever the request: no 5xx, no trace, the security headers."""
    body = response.get_data(as_text=True)
    assert response.status_code < 500, body[:500]
    assert "Traceback" not in body
    for header in SECURITY_HEADERS:
        assert header in response.headers, header
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_corpus_is_large_and_names_unique() -> None:
    names = [case.name for case in CASES]
    assert len(names) == len(set(names)), [n for n in names if names.count(n) > 1]
    assert len(CASES) >= 200


@pytest.mark.parametrize("case", CASES, ids=[case.name[:80] for case in CASES])
def test_hostile_request(env: HostileEnv, case: Case) -> None:
    env.redis.flushdb()  # rate-limit budgets start afresh: each case is judged on its own
    before = env.comment_count() if case.path.startswith("/api/") else 0
    response = send(env, case)
    assert_safe(response)
    assert response.status_code == case.status, response.get_data(as_text=True)[:500]
    if case.path.startswith(("/api/", "/healthz", "/readyz", "/metrics")):
        if case.code:
            assert response.mimetype == JSON
            error = response.get_json()["error"]
            assert error["code"] == case.code, error
            assert error["message"]
        if response.status_code >= 400 and case.path.startswith("/api/"):
            assert env.comment_count() == before, "a refused request stored something"
    elif case.code == "html":
        assert response.mimetype == "text/html"
        if response.status_code in (400, 414) and case.who == "moderator":
            page = response.get_data(as_text=True)
            assert 'lang="de"' in page, "the error page is in the moderator's language"
            if response.status_code == 400:
                assert GERMAN_REFUSED in page
    elif case.code == "json":
        assert response.mimetype == JSON
    elif case.code == "redirect":
        assert "Location" in response.headers
    if case.check is not None:
        case.check(response)
