"""A site's own model, end to end (SQLite + PostgreSQL): labels of an insult the generic model misses are
imported, `moderation retrain` promotes a site model behind the guard, running workers pick it up without
a restart and record its version; a rollback restores the earlier model; corrupted labels are refused."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient
from sqlalchemy import select

from classifiers.registry import Registry
from moderation.config import Config
from moderation.domain.enums import Action, SiteModelState
from moderation.domain.labels import LabelIn
from moderation.resources import Resources
from moderation.store.accounts import NewSite
from moderation.store.db import transaction
from moderation.store.decisions import apply_decision
from moderation.store.labels import import_labels
from moderation.store.model_versions import register_and_activate
from moderation.store.tables import AuditEvent, Decision, ShadowScore, SiteModel, User
from tests.browser import seed
from tests.conftest import Database
from tests.test_cli import run
from tests.test_perspective import run_worker_while
from tests.test_workers import get, post, work
from workers import runtime

# An insult no corpus has: the generic model cannot know it; the site's moderators reject it.
WORD = "Zwirbeltost"
SUBJECTS = [
    "Der Autor",
    "Mein Nachbar",
    "Der Bürgermeister",
    "Dieser Kommentator",
    "Der Redakteur",
    "Unser Abgeordneter",
    "Der Typ von oben",
    "Die Ministerin",
    "Der Vorredner",
    "Der Experte im Artikel",
]
REJECTED = [
    "{s} ist ein {w}.",
    "{s} ist so ein {w}, echt jetzt.",
    "Was für ein {w} ist {s} eigentlich?",
    "{s}? Ein typisches {w}.",
    "Nur ein {w} wie {s} schreibt sowas über Kasachstan.",
    "{s} bleibt ein {w}, egal was er über die Wahlen sagt.",
]
APPROVED = [
    "{s} hat die Lage in Kasachstan gut beschrieben.",
    "Ich sehe das anders als {s}, aber danke für den Text.",
    "{s} erwähnt die Sanktionen, das finde ich wichtig.",
    "Kann {s} Quellen zu den Zahlen nennen?",
    "{s} schreibt sachlich über die Pipeline nach China.",
    "Interessant, was {s} über die Steppe erzählt.",
]


@pytest.fixture
def home(config: Config, database: Database, trained_model_dir: Path) -> Config:
    """A registry of this test's own (site models are written into it) holding the session's generic model."""
    source = Registry(trained_model_dir)
    version = source.latest()
    assert version is not None
    config.models_dir.mkdir(parents=True)
    (config.models_dir / version).symlink_to(source.path(version), target_is_directory=True)
    register_and_activate(database.sessions, Registry(config.models_dir), version, actor="test")
    return config


@pytest.fixture
def context(home: Config, database: Database, redis_conn: redis.Redis, monkeypatch: Any) -> Any:
    monkeypatch.setattr(runtime, "MODEL_CHECK_INTERVAL_S", 0.0)
    ctx = runtime.WorkerContext(Resources(home, database.engine, database.sessions, redis_conn))
    runtime.install(ctx)
    yield ctx
    runtime.install(None)


def _archive(rng: random.Random, count: int, *, corrupt: bool = False) -> list[LabelIn]:
    rows = []
    for i in range(count):
        bad = i % 2 == 0
        template = rng.choice(REJECTED if bad else APPROVED)
        text = template.format(s=rng.choice(SUBJECTS), w=WORD) + f" ({rng.randint(1, 9999)})"
        action = rng.choice(["approve", "reject"]) if corrupt else ("reject" if bad else "approve")
        rows.append(LabelIn(line=i + 1, text=text, action=action, external_id=f"arch-{i}"))
    return rows


def _import(database: Database, site_id: int, labels: list[LabelIn]) -> None:
    with transaction(database.sessions) as session:
        import_labels(session, site_id, labels)


def _decide(client: FlaskClient, site: NewSite, redis_conn: redis.Redis, text: str) -> dict[str, Any]:
    cid = post(client, site, text, author="leser-neu").get_json()["id"]
    work(redis_conn)
    return get(client, site, cid)


def _retrain(home: Config, database: Database, site: str) -> dict[str, Any]:
    result = run(home, database, "retrain", "--site", site, "--json")
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_the_site_learns_an_insult_and_workers_use_it_without_a_restart(
    home: Config,
    database: Database,
    client: FlaskClient,
    site: NewSite,
    redis_conn: redis.Redis,
    context: Any,
) -> None:
    text = f"Der Kolumnist bleibt ein {WORD}."
    before = _decide(client, site, redis_conn, text)
    assert before["decision"]["action"] == "approve", (before["decision"], before["scores"])
    assert before["scores"]["site_reject"] is None and before["decision"]["site_model_version"] is None

    _import(database, site.site.id, _archive(random.Random(1), 400))
    verdict = _retrain(home, database, "testsite")
    assert verdict["verdict"] == "promoted", verdict["reasons"]
    version = verdict["candidate"]
    assert verdict["metrics"]["candidate"]["slice_auc"] > verdict["metrics"]["generic_toxicity_slice_auc"]

    after = _decide(client, site, redis_conn, text)  # the same worker context, no restart
    assert after["scores"]["site_reject"] >= 0.5, after["scores"]
    assert after["decision"]["action"] in ("hold", "reject")
    assert any(r["code"].startswith("site_reject_") for r in after["decision"]["reasons"])
    assert after["decision"]["site_model_version"] == version
    civil = _decide(client, site, redis_conn, "Danke für den Artikel über die Pipeline nach China.")
    assert civil["scores"]["site_reject"] < 0.5 and civil["decision"]["action"] == "approve"
    with database.sessions() as session:
        stored = session.scalars(select(Decision).where(Decision.comment_id == after["id"])).one()
        assert stored.site_model_version == version
        assert stored.model_version == before["decision"]["model_version"]

    listed = run(home, database, "models", "list", "--site", "testsite")
    assert f"* {version}  active" in listed.output and "verdict: promoted" in listed.output

    # The Perspective drop-in answers SITE_REJECT from the same site model (and stores nothing).
    body = {"comment": {"text": text}, "requestedAttributes": {"SITE_REJECT": {}}, "doNotStore": True}
    answer = run_worker_while(
        redis_conn,
        lambda: client.post(
            "/v1alpha1/comments:analyze", json=body, headers={"X-Goog-Api-Key": site.secret_key}
        ),
    )
    assert answer.status_code == 200, answer.get_json()
    summary = answer.get_json()["attributeScores"]["SITE_REJECT"]["summaryScore"]
    assert summary["type"] == "PROBABILITY"
    assert summary["value"] == pytest.approx(after["scores"]["site_reject"], abs=1e-3)

    # `moderation score --site` scores with the same site model.
    source = home.home / "in.jsonl"
    source.write_text(json.dumps({"text": text}) + "\n")
    out = home.home / "out.jsonl"
    scored = run(home, database, "score", str(source), "--site", "testsite", "-o", str(out))
    assert scored.exit_code == 0, scored.output
    line = json.loads(out.read_text())
    assert line["scores"]["site_reject"] == after["scores"]["site_reject"]
    assert line["decision"]["site_model_version"] == version

    # More labels, a second model; then a rollback, which the running workers follow.
    more = [
        LabelIn(i + 1, r.text, r.action, external_id=f"more-{i}")
        for i, r in enumerate(_archive(random.Random(5), 200))
    ]
    _import(database, site.site.id, more)
    second = _retrain(home, database, "testsite")
    assert second["verdict"] == "promoted" and second["active"] == version, second
    assert _decide(client, site, redis_conn, text)["decision"]["site_model_version"] == second["candidate"]
    rolled = run(home, database, "models", "rollback", "--site", "testsite")
    assert rolled.exit_code == 0 and version in rolled.output
    assert _decide(client, site, redis_conn, text)["decision"]["site_model_version"] == version
    refused = run(home, database, "models", "promote", "no-such-version", "--site", "testsite")
    assert refused.exit_code == 1 and "not recorded" in refused.output

    # The newer model in shadow: it scores beside the active one without deciding, and once moderators
    # decide, `models list` says how often each agreed with them.
    shadow = run(home, database, "models", "shadow", second["candidate"], "--site", "testsite")
    assert shadow.exit_code == 0, shadow.output
    shadowed = _decide(client, site, redis_conn, f"Der Nachbar ist ein {WORD}.")
    assert shadowed["decision"]["site_model_version"] == version
    with database.sessions() as session:
        scored = session.scalars(select(ShadowScore).where(ShadowScore.comment_id == shadowed["id"])).one()
        assert scored.site_reject >= 0.5
    with transaction(database.sessions) as session:
        seed.make_users(session)
        moderator = session.scalars(select(User).where(User.email == "mod@example.org")).one()
        apply_decision(session, moderator, [shadowed["id"]], Action.REJECT, "insult")
    listed = run(home, database, "models", "list", "--site", "testsite")
    assert listed.output.count("agreed with the moderators on 1 of 1 comments") == 2, listed.output


def test_corrupted_labels_are_refused_and_the_reason_recorded(
    home: Config, database: Database, site: NewSite, context: Any
) -> None:
    # Labels that say nothing about the texts (a broken export): the newest fifth (200) shows it.
    _import(database, site.site.id, _archive(random.Random(2), 1000, corrupt=True))
    verdict = _retrain(home, database, "testsite")
    assert verdict["verdict"] == "refused", (verdict["reasons"], verdict["metrics"])
    assert {r["code"] for r in verdict["reasons"]} <= {"below_floor", "not_above_chance", "not_beats_generic"}
    with database.sessions() as session:
        row = session.scalars(select(SiteModel)).one()
        assert row.state == SiteModelState.REFUSED.value and row.verdict["reasons"] == verdict["reasons"]
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.event == "site_model.verdict")))
        assert [e.data["verdict"] for e in events] == ["refused"]
        assert "site_model.activated" not in {e.event for e in session.scalars(select(AuditEvent))}
    assert runtime.current().site_models() == ({}, {})


def test_too_few_labels_are_refused_without_training(home: Config, database: Database, site: NewSite) -> None:
    _import(database, site.site.id, _archive(random.Random(3), 20))
    verdict = _retrain(home, database, "testsite")
    assert verdict["verdict"] == "refused" and verdict["candidate"] is None
    assert (
        verdict["reasons"][0]["code"] == "too_few_labels" and "at least 50" in verdict["reasons"][0]["detail"]
    )
