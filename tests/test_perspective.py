"""The Perspective drop-in: Google's own client against a real server and a real RQ worker, requests copied
from Perspective's documentation, `doNotStore` storing nothing, and every refusal in Google's error shape."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from rq import Queue, SimpleWorker
from sqlalchemy import func, select

from moderation.domain import perspective
from moderation.resources import Resources
from moderation.store.accounts import NewSite
from moderation.store.analysis import JOB_KEY
from moderation.store.db import transaction
from moderation.store.labels import training_labels
from moderation.store.queue import QUEUE_NAME, PendingQueue
from moderation.store.tables import Base, Comment, Decision, Site, SiteLabel
from moderation.web.app import create_app
from tests.conftest import Database
from workers.reconcile import reconcile

ANALYZE = "/v1alpha1/comments:analyze"
SUGGEST = "/v1alpha1/comments:suggestscore"
# Perspective's documentation, "Analyzing a comment" (its Python and curl samples send this body).
DOCUMENTED: dict[str, Any] = {
    "comment": {"text": "What kind of idiot name is foo?"},
    "languages": ["en"],
    "requestedAttributes": {"TOXICITY": {}},
}
INSULT = "You are a stupid idiot and a moron. Thanks for the article, it was good."


def run_worker_while(redis_conn: redis.Redis, call: Callable[[], Any]) -> Any:
    """Runs `call` (an HTTP request that waits for the workers) in a thread while a real RQ worker runs
    here, in the main thread (RQ installs signal handlers): it blocks until the job comes, runs it, stops."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = call()
        except BaseException as exc:  # handed to the test below
            result["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    worker = SimpleWorker([Queue(QUEUE_NAME, connection=redis_conn)], connection=redis_conn)
    worker.work(max_jobs=1, max_idle_time=15)
    thread.join(15)
    if "error" in result:
        raise result["error"]
    return result["value"]


def row_counts(database: Database) -> dict[str, int]:
    with database.sessions() as session:
        return {
            table.name: int(session.scalar(select(func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables
        }


def analyze(client: FlaskClient, site: NewSite, body: Any, **kwargs: Any) -> Any:
    return client.post(ANALYZE, json=body, headers={"X-Goog-Api-Key": site.secret_key}, **kwargs)


@pytest.fixture
def live(app: Flask) -> Iterator[str]:
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_googles_client_as_in_perspectives_sample_gets_scores(
    live: str, site: NewSite, context: Any, database: Database, redis_conn: redis.Redis
) -> None:
    from googleapiclient import discovery

    client = discovery.build(
        "commentanalyzer",
        "v1alpha1",
        developerKey=site.secret_key,
        discoveryServiceUrl=f"{live}/$discovery/rest?version=v1alpha1",
        static_discovery=False,
        cache_discovery=False,
    )
    body = {
        "comment": {"text": "friendly greetings from python"},
        "requestedAttributes": {"TOXICITY": {}, "SEVERE_TOXICITY": {}, "PROPAGANDA": {}},
        "clientToken": "c-42",
    }
    answer = run_worker_while(redis_conn, lambda: client.comments().analyze(body=body).execute())
    assert set(answer["attributeScores"]) == {"TOXICITY", "SEVERE_TOXICITY", "PROPAGANDA"}
    for scores in answer["attributeScores"].values():
        assert scores["summaryScore"]["type"] == "PROBABILITY"
        assert 0 <= scores["summaryScore"]["value"] <= 1
    assert answer["attributeScores"]["TOXICITY"]["summaryScore"]["value"] < 0.5
    assert answer["clientToken"] == "c-42" and answer["detectedLanguages"] == ["en"]
    # Perspective's default (doNotStore false): stored as the site's comment and decided by the worker.
    with database.sessions() as session:
        comment = session.scalars(select(Comment)).one()
        assert comment.extra["via"] == "perspective" and comment.author_id == "perspective-client"
        assert comment.status == "approved"
        assert session.scalar(select(func.count()).select_from(Decision)) == 1
    suggested = client.comments().suggestscore(
        body={
            "comment": {"text": "Go back where you came from"},
            "attributeScores": {"TOXICITY": {"summaryScore": {"value": 0.9}}},
            "clientToken": "s-1",
        }
    )
    assert suggested.execute() == {"clientToken": "s-1"}


def test_a_request_from_perspectives_documentation_gets_a_well_formed_answer(
    client: FlaskClient, site: NewSite, context: Any, database: Database, redis_conn: redis.Redis
) -> None:
    response = run_worker_while(redis_conn, lambda: analyze(client, site, DOCUMENTED))
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert answer == {
        "attributeScores": {
            "TOXICITY": {
                "summaryScore": {
                    "value": answer["attributeScores"]["TOXICITY"]["summaryScore"]["value"],
                    "type": "PROBABILITY",
                }
            }
        },
        "languages": ["en"],
        "detectedLanguages": ["en"],
    }
    assert answer["attributeScores"]["TOXICITY"]["summaryScore"]["value"] > 0.5
    with database.sessions() as session:
        comment = session.scalars(select(Comment)).one()
        assert comment.text == "What kind of idiot name is foo?" and comment.status in ("held", "rejected")
        assert comment.article_id == "perspective"


def test_do_not_store_stores_nothing_and_answers_per_sentence(
    client: FlaskClient, site: NewSite, context: Any, database: Database, redis_conn: redis.Redis
) -> None:
    before = row_counts(database)
    body = {
        "comment": {"text": INSULT, "type": "PLAIN_TEXT"},
        "requestedAttributes": {"INSULT": {"scoreType": "PROBABILITY"}, "THREAT": {"scoreThreshold": 0.99}},
        "spanAnnotations": True,
        "doNotStore": True,
        "sessionId": "reader-7",
        "context": {"entries": [{"text": "The article", "type": "PLAIN_TEXT"}]},
        "languages": ["en-US"],
    }
    answer = run_worker_while(redis_conn, lambda: analyze(client, site, body)).get_json()
    assert row_counts(database) == before
    assert not redis_conn.keys("moderation:analyze:*")  # the text has left Redis too
    assert set(answer["attributeScores"]) == {"INSULT"}  # THREAT is below its scoreThreshold
    spans = answer["attributeScores"]["INSULT"]["spanScores"]
    assert [INSULT[s["begin"] : s["end"]] for s in spans] == [
        "You are a stupid idiot and a moron.",
        "Thanks for the article, it was good.",
    ]
    assert spans[0]["score"]["value"] > spans[1]["score"]["value"]
    assert answer["languages"] == ["en"]


def test_unsupported_attributes_are_dropped_when_asked(
    client: FlaskClient, site: NewSite, context: Any, redis_conn: redis.Redis
) -> None:
    body = {
        "comment": {"text": "Nice weather today"},
        "requestedAttributes": {"TOXICITY": {}, "FLIRTATION": {}, "SITE_REJECT": {}},
        "dropUnsupportedAttributes": True,
        "doNotStore": True,
    }
    answer = run_worker_while(redis_conn, lambda: analyze(client, site, body)).get_json()
    assert set(answer["attributeScores"]) == {"TOXICITY"}


def _publishable(site: NewSite) -> dict[str, str]:
    return {"X-Goog-Api-Key": site.publishable_key}


TEXT = {"comment": {"text": "hello"}, "requestedAttributes": {"TOXICITY": {}}}
# (what is sent, the status it must get, Google's status code)
BAD_INPUTS: list[tuple[str, dict[str, Any], int, str]] = [
    ("bad JSON", {"data": b'{"comment": ', "headers": "secret"}, 400, "INVALID_ARGUMENT"),
    (
        "missing comment.text",
        {"json": {"comment": {}, "requestedAttributes": {"TOXICITY": {}}}},
        400,
        "INVALID_ARGUMENT",
    ),
    ("no comment", {"json": {"requestedAttributes": {"TOXICITY": {}}}}, 400, "INVALID_ARGUMENT"),
    (
        "unknown attribute",
        {"json": {**TEXT, "requestedAttributes": {"FLIRTATION": {}}}},
        400,
        "INVALID_ARGUMENT",
    ),
    (
        "SITE_REJECT without a site model",
        {"json": {**TEXT, "requestedAttributes": {"SITE_REJECT": {}}}},
        400,
        "INVALID_ARGUMENT",
    ),
    ("no attribute", {"json": {**TEXT, "requestedAttributes": {}}}, 400, "INVALID_ARGUMENT"),
    (
        "HTML type",
        {"json": {**TEXT, "comment": {"text": "<b>hi</b>", "type": "HTML"}}},
        400,
        "INVALID_ARGUMENT",
    ),
    ("text over the limit", {"json": {**TEXT, "comment": {"text": "a" * 10_001}}}, 400, "INVALID_ARGUMENT"),
    ("a language we do not read", {"json": {**TEXT, "languages": ["fr"]}}, 400, "INVALID_ARGUMENT"),
    (
        "threshold out of range",
        {"json": {**TEXT, "requestedAttributes": {"TOXICITY": {"scoreThreshold": 2}}}},
        400,
        "INVALID_ARGUMENT",
    ),
    ("bad key", {"json": TEXT, "headers": {"X-Goog-Api-Key": "mk_wrong"}}, 400, "INVALID_ARGUMENT"),
    ("no key", {"json": TEXT, "headers": {}}, 403, "PERMISSION_DENIED"),
    ("publishable key", {"json": TEXT, "headers": "publishable"}, 403, "PERMISSION_DENIED"),
]


def test_bad_inputs_get_googles_error_shape_and_store_nothing(
    client: FlaskClient, site: NewSite, database: Database
) -> None:
    before = row_counts(database)
    for case, request_kwargs, status, google_status in BAD_INPUTS:
        kwargs = dict(request_kwargs)
        headers = kwargs.pop("headers", "secret")
        if headers == "secret":
            headers = {"X-Goog-Api-Key": site.secret_key}
        elif headers == "publishable":
            headers = _publishable(site)
        response = client.post(ANALYZE, headers=headers, content_type="application/json", **kwargs)
        assert response.status_code == status, case
        error = response.get_json()["error"]
        assert (error["code"], error["status"]) == (status, google_status), case
        assert error["message"], case
    assert row_counts(database) == before


def test_errors_the_service_raises_itself_are_in_googles_shape_too(
    client: FlaskClient, site: NewSite
) -> None:
    missing = client.post("/v1alpha1/comments:classify", json=TEXT)
    assert missing.status_code == 404 and missing.get_json()["error"]["status"] == "NOT_FOUND"
    wrong_method = client.get(ANALYZE)
    assert wrong_method.status_code == 405 and "POST" in wrong_method.headers["Allow"]
    assert wrong_method.get_json()["error"]["code"] == 405
    # Outside /v1alpha1 the service keeps its own shape.
    ours = client.get("/api/v1/comments/nope")
    assert ours.get_json()["error"]["code"] == "unauthorized"


def test_the_key_may_come_as_a_query_parameter_and_the_budget_is_per_key(
    client: FlaskClient, site: NewSite, database: Database
) -> None:
    with transaction(database.sessions) as session:
        session.get(Site, site.site.id).limits = {"perspective_per_minute": 1}  # type: ignore[union-attr]
    first = client.post(f"{ANALYZE}?key={site.secret_key}", json={"comment": {}})
    assert first.status_code == 400  # the key was read; the request drew from the budget
    second = client.post(f"{ANALYZE}?key={site.secret_key}", json={"comment": {}})
    assert second.status_code == 429 and int(second.headers["Retry-After"]) >= 1
    assert second.get_json()["error"]["status"] == "RESOURCE_EXHAUSTED"


def test_without_a_worker_it_answers_unavailable_within_the_budget_and_loses_nothing(
    resources: Resources, site: NewSite, context: Any, database: Database, redis_conn: redis.Redis
) -> None:
    quick = Resources(
        resources.config.with_overrides(analyze_timeout_ms=300),
        database.engine,
        database.sessions,
        redis_conn,
    )
    client = create_app(resources=quick, test_config={"TESTING": True}).test_client()
    secret = analyze(client, site, {**DOCUMENTED, "doNotStore": True})
    assert secret.status_code == 503 and secret.get_json()["error"]["status"] == "UNAVAILABLE"
    assert not redis_conn.keys(JOB_KEY.format(id="*"))  # the text is gone from Redis
    stored = analyze(client, site, DOCUMENTED)
    assert stored.status_code == 503 and "stored" in stored.get_json()["error"]["message"]
    # The late comment went to the ordinary queue (the reconciler finds none left behind) and is decided.
    assert reconcile(database.sessions, PendingQueue(redis_conn), older_than_s=0) == 0
    SimpleWorker([Queue(QUEUE_NAME, connection=redis_conn)], connection=redis_conn).work(burst=True)
    with database.sessions() as session:
        assert session.scalars(select(Comment.status)).one() in ("held", "rejected")


def test_suggested_scores_become_training_labels_of_the_site(
    client: FlaskClient, site: NewSite, database: Database
) -> None:
    body = {
        "comment": {"text": "Eure Zeitung lügt doch nur"},
        "attributeScores": {"TOXICITY": {"summaryScore": {"value": 0.8}}},
        "languages": ["de"],
        "sessionId": "leser-9",
    }
    response = client.post(SUGGEST, json=body, headers={"X-Goog-Api-Key": site.secret_key})
    assert response.status_code == 200 and response.get_json() == {"requestedLanguages": ["de"]}
    with database.sessions() as session:
        label = session.scalars(select(SiteLabel)).one()
        assert (label.source, label.action, label.author_id) == ("suggested", "reject", "leser-9")
        assert [t.rejected for t in training_labels(session, site.site.id)] == [1]
    unknown = client.post(
        SUGGEST,
        json={**body, "attributeScores": {"FLIRTATION": {"summaryScore": {"value": 0.1}}}},
        headers={"X-Goog-Api-Key": site.secret_key},
    )
    assert unknown.status_code == 400 and unknown.get_json()["error"]["status"] == "INVALID_ARGUMENT"


def test_the_discovery_document_names_the_api_and_its_methods(client: FlaskClient) -> None:
    document = client.get("/$discovery/rest?version=v1alpha1").get_json()
    assert (document["name"], document["version"], document["servicePath"]) == (
        "commentanalyzer",
        "v1alpha1",
        "",
    )
    assert document["rootUrl"] == "http://localhost/"
    analyze_method = document["resources"]["comments"]["methods"]["analyze"]
    assert (analyze_method["path"], analyze_method["httpMethod"]) == ("v1alpha1/comments:analyze", "POST")
    assert "key" in document["parameters"]
    assert client.get("/$discovery/rest?version=v9").get_json()["error"]["status"] == "NOT_FOUND"


def test_sentences_severe_toxicity_and_thresholds() -> None:
    text = "  First one! Second?\nThird without end"
    assert [text[b:e] for b, e in perspective.sentence_spans(text)] == [
        "First one!",
        "Second?",
        "Third without end",
    ]
    plain_insult = {
        "toxicity": 0.95,
        "insult": 0.9,
        "profanity": 0.05,
        "threat": 0.02,
        "identity_attack": 0.05,
    }
    threat = {"toxicity": 0.9, "insult": 0.3, "profanity": 0.1, "threat": 0.9, "identity_attack": 0.05}
    assert perspective.severe_toxicity(plain_insult) < 0.1 < 0.5 < perspective.severe_toxicity(threat)
    wanted = perspective.parse_analyze(
        {"comment": {"text": "x"}, "requestedAttributes": {"THREAT": {"scoreThreshold": 0.5}, "INSULT": {}}},
        site_reject_available=False,
    )
    answer = perspective.analyze_response(wanted, threat | {"insult": 0.3}, "de+kk")
    assert set(answer["attributeScores"]) == {"THREAT", "INSULT"}
    assert answer["detectedLanguages"] == ["de", "kk"]
    below = perspective.analyze_response(wanted, plain_insult, "und")
    assert set(below["attributeScores"]) == {"INSULT"} and below["languages"] == []
