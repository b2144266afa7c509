"""Property-based tests (hypothesis) of the comment API and the dashboard's filters: whatever arrives,
the answer is never a 5xx, always in the error shape, and matches what the validation rules say.

Real Redis, SQLite and PostgreSQL; one app per database for the whole module.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from moderation.domain.submissions import MAX_TEXT_CHARS
from tests.hostile_env import HostileEnv, hostile_env

EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ERROR_CODES = {
    "invalid_json",
    "invalid_request",
    "unauthorized",
    "forbidden",
    "not_found",
    "conflict",
    "payload_too_large",
    "unsupported_media_type",
    "rate_limited",
    "unavailable",
}
CONTROL = {chr(c) for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0)]}

# Every code point, lone surrogates included (json.dumps writes them as \\udXXX escapes).
any_text = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=40)
scalars = st.none() | st.booleans() | st.integers() | st.floats() | any_text
# Texts near the length limit, with anything around them (white space trimmed, controls refused, ...).
around_the_limit = st.tuples(any_text, st.integers(MAX_TEXT_CHARS - 10, MAX_TEXT_CHARS + 2), any_text).map(
    lambda parts: parts[0] + "ä" * parts[1] + parts[2]
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=20,
)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostileEnv]:
    with hostile_env(request.param, tmp_path_factory.mktemp("properties")) as environment:
        yield environment


def post(env: HostileEnv, body: bytes, path: str = "/api/v1/comments") -> TestResponse:
    env.redis.flushdb()  # a fresh rate-limit budget for every example
    return env.app.test_client().post(
        path,
        data=body,
        headers={"Authorization": f"Bearer {env.site.secret_key}", "Content-Type": "application/json"},
    )


def assert_well_formed(response: TestResponse) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/json"
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    if response.status_code >= 400:
        error = response.get_json()["error"]
        assert error["code"] in ERROR_CODES and error["message"]


def _has_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_surrogate(v) for v in value)
    return False


def _has_bad_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return not math.isfinite(value) or abs(value) > 2**63 - 1
    if isinstance(value, dict):
        return any(_has_bad_number(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_bad_number(v) for v in value)
    return False


@EXAMPLES
@given(body=json_values)
def test_any_json_body_gets_a_json_answer(env: HostileEnv, body: Any) -> None:
    before = env.comment_count()
    response = post(env, json.dumps(body).encode())
    assert_well_formed(response)
    # A random value is never a whole valid comment.
    assert response.status_code in (400, 422)
    if _has_surrogate(body) or _has_bad_number(body):
        assert response.get_json()["error"]["code"] == "invalid_json"
    assert env.comment_count() == before


@EXAMPLES
@given(body=st.binary(max_size=200))
def test_any_bytes_get_a_json_answer(env: HostileEnv, body: bytes) -> None:
    response = post(env, body)
    assert_well_formed(response)
    assert response.status_code in (400, 422)


@EXAMPLES
@given(text=any_text | around_the_limit)
def test_any_text_is_accepted_or_refused_by_the_rules(env: HostileEnv, text: str) -> None:
    body = {"text": text, "article_id": "artikel", "author": {"id": "leserin"}}
    response = post(env, json.dumps(body).encode())
    assert_well_formed(response)
    stripped = text.strip()
    if _has_surrogate(text):
        expected = 400
    elif any(c in CONTROL for c in text) or not stripped or len(stripped) > MAX_TEXT_CHARS:
        expected = 422
    else:
        expected = 202
    assert response.status_code == expected, response.get_data(as_text=True)[:300]
    if expected == 202:
        stored = env.app.test_client().get(
            f"/api/v1/comments/{response.get_json()['id']}",
            headers={"Authorization": f"Bearer {env.site.secret_key}"},
        )
        assert stored.status_code == 200 and stored.get_json()["text"] == stripped


@EXAMPLES
@given(metadata=st.dictionaries(any_text, json_values, max_size=5))
def test_any_metadata_is_stored_or_refused_never_an_error(env: HostileEnv, metadata: dict[str, Any]) -> None:
    body = {
        "text": "Ein Kommentar",
        "article_id": "artikel",
        "author": {"id": "leserin"},
        "metadata": metadata,
    }
    before = env.comment_count()
    response = post(env, json.dumps(body).encode())
    assert_well_formed(response)
    assert response.status_code in (202, 400, 422)
    if _has_surrogate(metadata) or _has_bad_number(metadata):
        assert response.status_code == 400
    assert env.comment_count() == before + (1 if response.status_code == 202 else 0)


@EXAMPLES
@given(items=st.lists(json_values, min_size=1, max_size=4))
def test_any_batch_is_refused_whole(env: HostileEnv, items: list[Any]) -> None:
    before = env.comment_count()
    response = post(env, json.dumps({"comments": items}).encode(), "/api/v1/comments:batch")
    assert_well_formed(response)
    assert response.status_code in (400, 422)
    assert env.comment_count() == before


QUEUE_PARAMS = (
    "site", "article", "band_min", "band_max", "attribute", "technique", "narrative", "lang",
    "date_from", "date_to", "q", "cursor", "sort", "since",
)  # fmt: skip
AUDIT_PARAMS = ("actor", "event", "comment", "date_from", "date_to", "before")
# Query values as a browser may send them: any text (NUL apart: refused with a 400, tested in the corpus)
# and strings that look nearly right.
query_values = (
    st.text(st.characters(min_codepoint=1, max_codepoint=0x10FFFF, exclude_categories=["Cs"]), max_size=30)
    | st.from_regex(r"\A[0-9+\-]{0,6}-[0-9]{1,3}-[0-9]{1,3}(T[0-9:.+\-Z]{0,14})?\Z")
    | st.integers().map(str)
    | st.floats().map(str)
    | st.binary(max_size=60).map(lambda b: base64.urlsafe_b64encode(b).decode())
)


@EXAMPLES
@given(
    page=st.sampled_from(["/", "/queue/all", "/queue/rejected", "/stats", "/queue/updates"]),
    args=st.dictionaries(st.sampled_from(QUEUE_PARAMS), query_values, max_size=4),
)
def test_queue_filters_never_fail(env: HostileEnv, page: str, args: dict[str, str]) -> None:
    response = env.client("moderator").get(page, query_string=args)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert "Content-Security-Policy" in response.headers


@EXAMPLES
@given(args=st.dictionaries(st.sampled_from(AUDIT_PARAMS), query_values, max_size=4))
def test_audit_filters_never_fail(env: HostileEnv, args: dict[str, str]) -> None:
    response = env.client("moderator").get("/audit", query_string=args)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
