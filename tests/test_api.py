"""The HTTP contract: every status code the comment API can answer, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient
from sqlalchemy import func, select

from moderation.resources import connect_redis
from moderation.store.accounts import NewSite
from moderation.store.queue import PENDING_KEY
from moderation.store.tables import AuditEvent, Comment
from tests.conftest import Database


def body(
    text: str = "Ich finde die Analyse zu Kasachstan sehr aufschlussreich.", **extra: Any
) -> dict[str, Any]:
    return {
        "text": text,
        "article_id": "kasachstan-russland",
        "author": {"id": "leser-1", "name": "Leserin"},
        **extra,
    }


def auth(site: NewSite) -> dict[str, str]:
    return {"Authorization": f"Bearer {site.secret_key}"}


def count_comments(database: Database) -> int:
    with database.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Comment)) or 0)


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["code"] == code
    assert error["message"]
    return error


def test_post_stores_pending_and_enqueues(
    client: FlaskClient, site: NewSite, database: Database, redis_conn: redis.Redis
) -> None:
    response = client.post("/api/v1/comments", json=body(external_id="e-1"), headers=auth(site))
    assert response.status_code == 202
    payload = response.get_json()
    assert payload["status"] == "pending"
    assert payload["external_id"] == "e-1"
    assert redis_conn.lrange(PENDING_KEY, 0, -1) == [payload["id"].encode()]
    assert redis_conn.llen("rq:queue:moderation") == 1
    with database.sessions() as session:
        comment = session.get(Comment, payload["id"])
        assert comment is not None and comment.status == "pending"
        events = session.scalars(select(AuditEvent.event).where(AuditEvent.comment_id == comment.id)).all()
        assert events == ["comment.received"]


def test_many_posts_share_one_queued_job(client: FlaskClient, site: NewSite, redis_conn: redis.Redis) -> None:
    for i in range(5):
        assert (
            client.post("/api/v1/comments", json=body(f"Kommentar {i}"), headers=auth(site)).status_code
            == 202
        )
    assert redis_conn.llen(PENDING_KEY) == 5
    assert redis_conn.llen("rq:queue:moderation") == 1


def test_ip_is_stored_only_as_keyed_hash(client: FlaskClient, site: NewSite, database: Database) -> None:
    data = body(author={"id": "a", "ip": "203.0.113.7"})
    cid = client.post("/api/v1/comments", json=data, headers=auth(site)).get_json()["id"]
    with database.sessions() as session:
        comment = session.get(Comment, cid)
        assert comment is not None and comment.author_ip_hash
        assert "203.0.113.7" not in comment.author_ip_hash and len(comment.author_ip_hash) == 64


def test_get_returns_the_comment(client: FlaskClient, site: NewSite) -> None:
    cid = client.post("/api/v1/comments", json=body(external_id="g"), headers=auth(site)).get_json()["id"]
    response = client.get(f"/api/v1/comments/{cid}", headers=auth(site))
    assert response.status_code == 200
    payload = response.get_json()
    assert payload["text"] == body()["text"]
    assert payload["decision"] is None and payload["scores"] is None and payload["spans"] == []


def test_other_site_cannot_see_comment(client: FlaskClient, site: NewSite, other_site: NewSite) -> None:
    cid = client.post("/api/v1/comments", json=body(), headers=auth(site)).get_json()["id"]
    assert_error(client.get(f"/api/v1/comments/{cid}", headers=auth(other_site)), 404, "not_found")


def test_idempotent_on_external_id(
    client: FlaskClient, site: NewSite, other_site: NewSite, database: Database
) -> None:
    first = client.post("/api/v1/comments", json=body(external_id="same"), headers=auth(site))
    again = client.post("/api/v1/comments", json=body(external_id="same"), headers=auth(site))
    assert again.status_code == 202 and again.get_json()["id"] == first.get_json()["id"]
    assert_error(
        client.post("/api/v1/comments", json=body("anders", external_id="same"), headers=auth(site)),
        409,
        "conflict",
    )
    # The same external id belongs to each site separately.
    assert (
        client.post("/api/v1/comments", json=body(external_id="same"), headers=auth(other_site)).status_code
        == 202
    )
    assert count_comments(database) == 2


def test_batch_stores_in_order(client: FlaskClient, site: NewSite, redis_conn: redis.Redis) -> None:
    items = [body(f"Kommentar {i}", external_id=f"b-{i}") for i in range(3)]
    response = client.post("/api/v1/comments:batch", json={"comments": items}, headers=auth(site))
    assert response.status_code == 202
    got = response.get_json()["comments"]
    assert [c["external_id"] for c in got] == ["b-0", "b-1", "b-2"]
    assert redis_conn.llen(PENDING_KEY) == 3 and redis_conn.llen("rq:queue:moderation") == 1


def test_batch_with_invalid_item_stores_nothing(
    client: FlaskClient, site: NewSite, database: Database
) -> None:
    items = [body("gut"), {"text": "", "article_id": "a", "author": {"id": "r"}}, body(5)]
    error = assert_error(
        client.post("/api/v1/comments:batch", json={"comments": items}, headers=auth(site)),
        422,
        "invalid_request",
    )
    assert [d["index"] for d in error["details"]] == [1, 2]
    assert count_comments(database) == 0


def test_batch_conflict_stores_nothing(client: FlaskClient, site: NewSite, database: Database) -> None:
    client.post("/api/v1/comments", json=body("eins", external_id="x"), headers=auth(site))
    items = [body("neu", external_id="y"), body("zwei", external_id="x")]
    error = assert_error(
        client.post("/api/v1/comments:batch", json={"comments": items}, headers=auth(site)), 409, "conflict"
    )
    assert error["details"]["index"] == 1
    assert count_comments(database) == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"comments": []}, None),
        ({"comments": [body()] * 1001}, None),
        ({"comments": [body()], "extra": 1}, None),
        ({"items": [body()]}, None),
        ([body()], None),
    ],
    ids=["empty", "over-1000", "extra-field", "wrong-key", "not-an-object"],
)
def test_batch_shape_errors(
    client: FlaskClient, site: NewSite, payload: Any, field: Any, database: Database
) -> None:
    assert_error(
        client.post("/api/v1/comments:batch", json=payload, headers=auth(site)), 422, "invalid_request"
    )
    assert count_comments(database) == 0


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (body("   "), "text"),
        (body(5), "text"),
        (body(None), "text"),
        (body("ab " * 3400), "text"),
        (body("hallo\x00welt"), "text"),
        (body("klingel\x07"), "text"),
        (body(color="red"), "color"),
        ({"article_id": "a", "author": {"id": "r"}}, "text"),
        ({"text": "hallo", "author": {"id": "r"}}, "article_id"),
        ({"text": "hallo", "article_id": "a"}, "author"),
        (body(author={"id": "r", "role": "admin"}), "author.role"),
        (body(author="r"), "author"),
        (body(author={"id": ""}), "author.id"),
        (body(lang="deutsch!"), "lang"),
        (body(metadata=[1, 2]), "metadata"),
        (body(external_id=7), "external_id"),
        ("just a string", None),
    ],
    ids=[
        "blank",
        "int",
        "null",
        "too-long",
        "nul",
        "bell",
        "unknown-field",
        "no-text",
        "no-article",
        "no-author",
        "unknown-author-field",
        "author-string",
        "empty-author-id",
        "bad-lang",
        "metadata-list",
        "external-id-int",
        "not-an-object",
    ],
)
def test_invalid_comment_is_422_and_not_stored(
    client: FlaskClient, site: NewSite, database: Database, payload: Any, field: str | None
) -> None:
    error = assert_error(
        client.post("/api/v1/comments", json=payload, headers=auth(site)), 422, "invalid_request"
    )
    if field is not None:
        assert field in [d["field"] for d in error["details"]]
    assert count_comments(database) == 0


def test_text_is_trimmed_and_html_kept_as_text(client: FlaskClient, site: NewSite) -> None:
    text = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    response = client.post("/api/v1/comments", json=body(f"  {text}\n"), headers=auth(site))
    assert response.status_code == 202 and response.get_json()["text"] == text


def test_exactly_10000_characters_is_accepted(client: FlaskClient, site: NewSite) -> None:
    assert client.post("/api/v1/comments", json=body("ä" * 10_000), headers=auth(site)).status_code == 202


@pytest.mark.parametrize(
    ("raw", "content_type", "status", "code"),
    [
        (b'{"text": "abc"', "application/json", 400, "invalid_json"),
        (b"\xff\xfe{}", "application/json", 400, "invalid_json"),
        (b'{"text": NaN}', "application/json", 400, "invalid_json"),
        (b"[" * 100_000, "application/json", 400, "invalid_json"),
        (b"text=hallo", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        (b"hallo", "text/plain", 415, "unsupported_media_type"),
        (b"", None, 415, "unsupported_media_type"),
    ],
    ids=["truncated", "invalid-utf8", "nan", "deep-nesting", "form", "text-plain", "no-body"],
)
def test_unreadable_bodies(
    client: FlaskClient,
    site: NewSite,
    database: Database,
    raw: bytes,
    content_type: str | None,
    status: int,
    code: str,
) -> None:
    headers = auth(site) | ({"Content-Type": content_type} if content_type else {})
    assert_error(client.post("/api/v1/comments", data=raw, headers=headers), status, code)
    assert count_comments(database) == 0


def test_body_over_1_mib_is_413(client: FlaskClient, site: NewSite, database: Database) -> None:
    raw = json.dumps(body("a" * 2_000_000)).encode()
    response = client.post(
        "/api/v1/comments", data=raw, headers=auth(site) | {"Content-Type": "application/json"}
    )
    assert_error(response, 413, "payload_too_large")
    assert count_comments(database) == 0


def test_batch_body_over_16_mib_is_413(client: FlaskClient, site: NewSite) -> None:
    raw = json.dumps({"comments": [body("a" * 9000)] * 1000 * 2}).encode()
    assert len(raw) > 16 * 1024 * 1024
    response = client.post(
        "/api/v1/comments:batch", data=raw, headers=auth(site) | {"Content-Type": "application/json"}
    )
    assert_error(response, 413, "payload_too_large")


@pytest.mark.parametrize("wait", ["6000", "-1", "soon", "1.5"])
def test_wait_out_of_range_is_400(client: FlaskClient, site: NewSite, database: Database, wait: str) -> None:
    assert_error(
        client.post(f"/api/v1/comments?wait={wait}", json=body(), headers=auth(site)), 400, "invalid_request"
    )
    assert count_comments(database) == 0


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer not-a-real-key-0000000000", "Basic dXNlcjpwYXNz", "mk_sec_whatever"],
    ids=["none", "empty-bearer", "wrong-key", "basic", "no-scheme"],
)
def test_bad_keys_are_401(client: FlaskClient, site: NewSite, database: Database, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    assert_error(client.post("/api/v1/comments", json=body(), headers=headers), 401, "unauthorized")
    assert_error(client.get("/api/v1/comments/abc", headers=headers), 401, "unauthorized")
    assert count_comments(database) == 0


def test_publishable_key_needs_an_allowed_origin(client: FlaskClient, database: Database) -> None:
    from moderation.store.accounts import create_site
    from moderation.store.db import transaction

    with transaction(database.sessions) as session:
        new = create_site(session, "browser", allowed_origins=["https://zeitung.example"])
    headers = {"Authorization": f"Bearer {new.publishable_key}"}
    assert_error(
        client.post("/api/v1/comments", json=body(), headers=headers | {"Origin": "https://evil.example"}),
        403,
        "forbidden",
    )
    assert_error(client.post("/api/v1/comments", json=body(), headers=headers), 403, "forbidden")  # no Origin
    allowed = headers | {"Origin": "https://zeitung.example"}
    ok = client.post("/api/v1/comments", json=body(external_id="form-1"), headers=allowed)
    assert ok.status_code == 202
    assert ok.headers["Access-Control-Allow-Origin"] == "https://zeitung.example"
    # A browser learns the status and the reader's reason (none while pending), not scores, reasons or text.
    assert ok.get_json() == {
        "id": ok.get_json()["id"],
        "external_id": "form-1",
        "status": "pending",
        "reader_reason": None,
    }
    got = client.get(f"/api/v1/comments/{ok.get_json()['id']}", headers=allowed)
    assert got.status_code == 200 and set(got.get_json()) == {"id", "external_id", "status", "reader_reason"}
    batch = client.post("/api/v1/comments:batch", json={"comments": [body()]}, headers=allowed)
    assert_error(batch, 403, "forbidden")


def test_cors_preflight_and_no_cors_for_secret_keys(client: FlaskClient, site: NewSite) -> None:
    preflight = client.options(
        "/api/v1/comments",
        headers={
            "Origin": "https://zeitung.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://zeitung.example"
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    # The secret key is for servers: a browser page must not be able to read what it returns.
    response = client.post(
        "/api/v1/comments", json=body(), headers=auth(site) | {"Origin": "https://evil.example"}
    )
    assert response.status_code == 202 and "Access-Control-Allow-Origin" not in response.headers


def test_rate_limit_is_429(resources: Any, site: NewSite, database: Database) -> None:
    from moderation.web.app import create_app

    limited = create_app(
        resources=type(resources)(
            resources.config.with_overrides(rate_limit_per_minute=2),
            resources.engine,
            resources.sessions,
            resources.redis,
        )
    )
    client = limited.test_client()
    for _ in range(2):
        assert client.post("/api/v1/comments", json=body(), headers=auth(site)).status_code == 202
    assert_error(client.post("/api/v1/comments", json=body(), headers=auth(site)), 429, "rate_limited")
    assert count_comments(database) == 2


def test_unknown_route_and_method_are_json(client: FlaskClient, site: NewSite) -> None:
    assert_error(client.get("/api/v1/nothing-here", headers=auth(site)), 404, "not_found")
    assert_error(client.delete("/api/v1/comments/abc", headers=auth(site)), 405, "invalid_request")


def test_redis_down_still_stores_and_answers_202(app: Any, site: NewSite, database: Database) -> None:
    resources = app.extensions["moderation"]
    resources.redis = connect_redis("redis://127.0.0.1:1")
    response = app.test_client().post("/api/v1/comments", json=body(), headers=auth(site))
    assert response.status_code == 202
    assert count_comments(database) == 1


def test_internal_error_is_json_without_trace(app: Any, site: NewSite) -> None:
    resources = app.extensions["moderation"]

    def broken() -> None:
        raise RuntimeError("secret detail")

    resources.sessions = broken
    response = app.test_client().post("/api/v1/comments", json=body(), headers=auth(site))
    error = assert_error(response, 500, "internal")
    assert "secret detail" not in response.get_data(as_text=True) and "Traceback" not in error["message"]


def test_health_and_openapi(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["checks"]["redis"] == "ok"
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    for path in [
        "/api/v1/comments",
        "/api/v1/comments:batch",
        "/api/v1/comments/{id}",
        "/healthz",
        "/readyz",
        "/metrics",
        "/api/openapi.json",
    ]:
        assert path in spec["paths"]
    assert "moderation_comments" in client.get("/metrics").get_data(as_text=True)


def test_readyz_is_503_when_redis_is_down(app: Any) -> None:
    app.extensions["moderation"].redis = connect_redis("redis://127.0.0.1:1")
    assert_error(app.test_client().get("/readyz"), 503, "unavailable")
