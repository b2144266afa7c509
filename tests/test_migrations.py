"""Revision 0004 on data written under 0003: users table, structured reasons, one decision event shape."""

from __future__ import annotations

import base64
import hmac
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from moderation.domain.reasons import describe, for_api
from moderation.store.comments import serialize
from moderation.store.db import MIGRATIONS_DIR, make_engine, migrate
from moderation.store.tables import Comment
from tests.conftest import TEST_DATABASE_URL, postgres_available

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

BELOW = [("toxicity", 0.1, 0.4), ("propaganda", 0.05, 0.4), ("spam", 0.0, 1.0)]
# (code, sentence stored under 0003, params 0004 must derive from it)
PARSEABLE: list[tuple[str, str, dict[str, Any]]] = [
    (
        "toxicity_reject",
        "toxicity 0.93 >= reject threshold 0.90",
        {"attribute": "toxicity", "score": 0.93, "threshold": 0.9},
    ),
    (
        "identity_attack_hold",
        "identity_attack 0.55 >= hold threshold 0.50",
        {"attribute": "identity_attack", "score": 0.55, "threshold": 0.5},
    ),
    (
        "below_thresholds",
        "all scores below hold thresholds: toxicity 0.10 < 0.40, propaganda 0.05 < 0.40, spam 0.00 < 1.00",
        {"scores": [dict(attribute=a, score=s, threshold=t) for a, s, t in BELOW]},
    ),
    ("banned_word", "matched banned word 'Vollidiot'", {"word": "Vollidiot"}),
    ("suspect_word", "matched suspect word 'Gehirnwäsche'", {"word": "Gehirnwäsche"}),
    (
        "link_from_new_author",
        "first comment of this author contains a link: https://x.example/a?b=1",
        {"link": "https://x.example/a?b=1"},
    ),
    (
        "coordinated_posting",
        "nearly the same text as at least 3 recent comments by 2 other authors",
        {"copies": 3, "authors": 2},
    ),
    ("unsupported_language", "language 'fr' is not one our models cover", {"lang": "fr"}),
    ("scoring_failed", "the model could not score this comment; fallback is hold", {"fallback": "hold"}),
]
QUOTED = [  # A site's banned and suspect words are free text; the old policy quoted them as listed.
    ("banned_word", "matched banned word 'don't'", {"word": "don't"}),
    ("suspect_word", "matched suspect word 'geht's noch'", {"word": "geht's noch"}),
]
UNPARSEABLE = {"code": "custom_rule", "detail": "whatever"}
OLD_REASONS = [{"code": c, "detail": d} for c, d, _ in PARSEABLE] + [UNPARSEABLE]
EVENT_KEYS = {"decision_id", "action", "source", "status", "reasons", "model_version", "reason_code"}
EVENT_KEYS |= {"note", "undo_of", "site_model_version"}
NO_VALUES = dict.fromkeys(["decision_id", "model_version", "reason_code", "note", "undo_of"])
NO_VALUES |= {"site_model_version": None}


@pytest.fixture(params=["sqlite", "postgresql"])
def old_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """A database migrated only to 0003: a SQLite file, or a PostgreSQL schema dropped afterwards."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        migrate(engine, "0003")
        yield engine
        engine.dispose()
        return
    if not postgres_available():
        pytest.skip(f"PostgreSQL not reachable at {TEST_DATABASE_URL}")
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(TEST_DATABASE_URL)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in TEST_DATABASE_URL else "?"
    engine = make_engine(f"{TEST_DATABASE_URL}{sep}options=-csearch_path%3D{schema}")
    try:
        migrate(engine, "0003")
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def downgrade(engine: sa.Engine, revision: str) -> None:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)


def tables(engine: sa.Engine) -> dict[str, sa.Table]:
    """The schema as it is now; JSON columns reflect as JSON, so values go in and come out as Python."""
    metadata = sa.MetaData()
    metadata.reflect(bind=engine)
    return dict(metadata.tables)


def insert_old_rows(engine: sa.Engine) -> None:
    def comment(cid: str, status: str) -> dict[str, Any]:
        return dict(id=cid, site_id=1, article_id="a1", author_id="u1", text=cid, status=status, metadata={})

    def decision(did: int, cid: str, action: str, source: str, reasons: Any, **kw: Any) -> dict[str, Any]:
        return dict(id=did, comment_id=cid, action=action, source=source, reasons=reasons) | kw

    def event(eid: int, cid: str, data: dict[str, Any], name: str = "comment.decided") -> dict[str, Any]:
        actor = "moderator:mod@example.org" if data.get("source") == "moderator" else "model:m1"
        return dict(id=eid, comment_id=cid, data=data, event=name, actor=actor)

    def worker(action: str, reasons: list[dict[str, str]]) -> dict[str, Any]:
        return {"action": action, "source": "model", "reasons": reasons}

    def moderator(action: str, decision_source: str, status: str, decision_id: int) -> dict[str, Any]:
        data = dict(action=action, source="moderator", decision_source=decision_source, status=status)
        return data | dict(
            reason_code="insult" if action == "reject" else None, note="rude", decision_id=decision_id
        )

    entries = [dict(comment_id="c2", decision_id=3, status="held", decided_at=NOW.isoformat())]
    rows: dict[str, list[dict[str, Any]]] = {
        "sites": [
            dict(id=1, name="s", api_key_hash="h", api_key_prefix="p", publishable_key="pk")
            | dict(allowed_origins=[], policy={})
        ],
        "moderators": [dict(id=7, email="mod@example.org", password_hash="x", role="moderator", active=True)],
        "comments": [comment("c1", "rejected"), comment("c2", "rejected"), comment("c3", "approved")],
        "decisions": [
            decision(1, "c1", "reject", "model", OLD_REASONS, model_version="m1"),
            decision(2, "c2", "hold", "rule", OLD_REASONS[3:5]),
            decision(3, "c2", "reject", "moderator", [], moderator_id=7, reason_code="insult", note="rude"),
            decision(4, "c3", "approve", "model", OLD_REASONS[2:3], model_version="m1"),
            decision(5, "c3", "reject", "rule", [{"code": c, "detail": d} for c, d, _ in QUOTED]),
        ],
        "moderator_actions": [dict(id="a" * 32, moderator_id=7, action="reject", entries=entries)],
        "audit_events": [
            event(1, "c1", worker("reject", OLD_REASONS)),
            event(2, "c3", worker("approve", OLD_REASONS[2:3])),
            event(3, "c2", moderator("reject", "moderator", "rejected", 3)),
            # An undo restoring the rule's decision: the event names the restored decision's source.
            event(4, "c2", moderator("hold", "rule", "held", 2) | {"undo_of": 3}),
            event(5, "c1", {"external_id": None}, name="comment.received"),
        ],
    }
    schema = tables(engine)
    with engine.begin() as c:
        for name, table_rows in rows.items():
            stamps = {"created_at": NOW} | ({"decided_at": NOW} if name == "comments" else {})
            for row in table_rows:  # one by one: rows leave out different nullable columns
                c.execute(schema[name].insert(), row | stamps)


def stored(engine: sa.Engine) -> tuple[dict[int, Any], dict[int, Any]]:
    """Every decision's reasons and every audit event's data, by id."""
    schema = tables(engine)
    with engine.connect() as c:
        decisions, events = schema["decisions"], schema["audit_events"]
        reasons = c.execute(sa.select(decisions.c.id, decisions.c.reasons)).all()
        return dict(reasons), dict(c.execute(sa.select(events.c.id, events.c.data)).all())


def upgraded(engine: sa.Engine) -> tuple[dict[int, Any], dict[int, Any]]:
    insert_old_rows(engine)
    migrate(engine)
    return stored(engine)


def check_reasons(new_reasons: list[Any], old: list[dict[str, str]]) -> None:
    expected = {d: {"code": c, "params": p} for c, d, p in PARSEABLE + QUOTED}
    assert len(new_reasons) == len(old)
    for new, before in zip(new_reasons, old, strict=True):
        if before == UNPARSEABLE:
            assert new == UNPARSEABLE
        else:
            # As JSON text, so that an int where a float belongs (3 for 3.0) differs too.
            assert json.dumps(new, sort_keys=True) == json.dumps(expected[before["detail"]], sort_keys=True)
        assert describe(new) == before["detail"]
        assert for_api(new)["detail"] == before["detail"]


def test_upgrade_renames_moderators_and_keeps_foreign_keys(old_engine: sa.Engine) -> None:
    upgraded(old_engine)
    inspector = sa.inspect(old_engine)
    assert "users" in inspector.get_table_names() and "moderators" not in inspector.get_table_names()
    assert {fk["referred_table"] for fk in inspector.get_foreign_keys("decisions")} == {"comments", "users"}
    assert [fk["referred_table"] for fk in inspector.get_foreign_keys("moderator_actions")] == ["users"]
    with old_engine.begin() as c:
        assert c.execute(sa.text("SELECT id, email FROM users")).all() == [(7, "mod@example.org")]
        joined = "SELECT d.id, u.email FROM decisions d JOIN users u ON u.id = d.moderator_id"
        assert c.execute(sa.text(joined)).all() == [(3, "mod@example.org")]
        joined = "SELECT a.action, u.email FROM moderator_actions a JOIN users u ON u.id = a.moderator_id"
        assert c.execute(sa.text(joined)).all() == [("reject", "mod@example.org")]
        if old_engine.dialect.name == "sqlite":
            assert c.execute(sa.text("PRAGMA foreign_key_check")).all() == []
        assert c.execute(sa.text("SELECT count(*) FROM decisions WHERE facts IS NULL")).scalar() == 5
    bad = dict(id=9, comment_id="c1", action="hold", source="moderator", moderator_id=999, reasons=[])
    with pytest.raises(sa.exc.IntegrityError), old_engine.begin() as c:
        c.execute(tables(old_engine)["decisions"].insert(), [bad | {"created_at": NOW}])


def test_upgrade_structures_reasons_and_keeps_their_sentences(old_engine: sa.Engine) -> None:
    decisions, events = upgraded(old_engine)
    check_reasons(decisions[1], OLD_REASONS)
    check_reasons(decisions[2], OLD_REASONS[3:5])
    assert decisions[3] == []
    check_reasons(decisions[4], OLD_REASONS[2:3])
    check_reasons(events[1]["reasons"], OLD_REASONS)
    check_reasons(events[2]["reasons"], OLD_REASONS[2:3])
    # What the API shows for an existing decision is the sentence it showed before.
    with Session(old_engine) as session:
        api = [serialize(c) for c in session.scalars(sa.select(Comment).order_by(Comment.id))]
    assert [r["detail"] for r in api[0]["decision"]["reasons"]] == [r["detail"] for r in OLD_REASONS]
    assert api[0]["decision"]["reasons"][-1] == UNPARSEABLE
    assert api[1]["decision"]["reasons"] == [] and api[1]["decision"]["source"] == "moderator"


def test_upgrade_gives_decision_events_one_shape(old_engine: sa.Engine) -> None:
    _, events = upgraded(old_engine)
    assert all(set(events[i]) == EVENT_KEYS for i in (1, 2, 3, 4))
    assert {k: v for k, v in events[1].items() if k != "reasons"} == NO_VALUES | dict(
        action="reject", source="model", status="rejected"
    )
    assert events[2]["status"] == "approved"
    assert events[3] == NO_VALUES | dict(action="reject", source="moderator", status="rejected") | dict(
        decision_id=3, reasons=[], reason_code="insult", note="rude"
    )
    assert events[4] == NO_VALUES | dict(action="hold", source="rule", status="held") | dict(
        decision_id=2, reasons=[], note="rude", undo_of=3
    )
    assert events[5] == {"external_id": None}


def test_downgrade_to_0003_and_upgrade_again(old_engine: sa.Engine) -> None:
    before = upgraded(old_engine)
    downgrade(old_engine, "0003")
    inspector = sa.inspect(old_engine)
    assert "moderators" in inspector.get_table_names() and "users" not in inspector.get_table_names()
    assert "facts" not in {col["name"] for col in inspector.get_columns("decisions")}
    targets = {fk["referred_table"] for fk in inspector.get_foreign_keys("decisions")}
    assert targets == {"comments", "moderators"}
    with old_engine.begin() as c:
        joined = "SELECT d.id FROM decisions d JOIN moderators m ON m.id = d.moderator_id"
        assert c.execute(sa.text(joined)).all() == [(3,)]
        if old_engine.dialect.name == "sqlite":
            assert c.execute(sa.text("PRAGMA foreign_key_check")).all() == []
    # 0003 shows the stored `detail`: the downgrade writes each sentence back, exactly as it was.
    downgraded, _ = stored(old_engine)
    assert downgraded[1] == OLD_REASONS
    # Upgrading again gives the same params and events as the first upgrade.
    migrate(old_engine)
    assert stored(old_engine) == before


def test_upgrade_reads_quoted_words_that_contain_an_apostrophe(old_engine: sa.Engine) -> None:
    decisions, _ = upgraded(old_engine)
    check_reasons(decisions[5], [{"code": c, "detail": d} for c, d, _ in QUOTED])


def test_upgrade_never_hands_out_an_undone_decisions_id_again(old_engine: sa.Engine) -> None:
    """SQLite gave the highest id away after undo deleted that decision; from 0004 on, ids are never reused,
    not even those only the audit trail still names (PostgreSQL sequences never reused them)."""
    if old_engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL sequences never hand an id out twice")
    insert_old_rows(old_engine)
    schema = tables(old_engine)
    with old_engine.begin() as c:  # decision 40 was undone (deleted); its events remain
        c.execute(sa.insert(schema["audit_events"]), [event_row(90, 40, undo_of=None), event_row(91, 5, 40)])
    migrate(old_engine)
    with old_engine.begin() as c:
        c.execute(sa.text("DELETE FROM decisions WHERE id = 5"))  # an undo after the upgrade
        new = c.execute(
            sa.text(
                "INSERT INTO decisions (comment_id, action, source, reasons, created_at) "
                "SELECT comment_id, 'approve', 'moderator', '[]', created_at FROM decisions LIMIT 1 "
                "RETURNING id"
            )
        ).scalar()
    assert new == 41


def event_row(eid: int, decision_id: int, undo_of: int | None) -> dict[str, Any]:
    data = {"action": "approve", "source": "moderator", "decision_id": decision_id, "undo_of": undo_of}
    return dict(
        id=eid, comment_id=None, data=data, event="comment.decided", actor="moderator:m", created_at=NOW
    )


def test_0008_turns_old_webhook_secrets_into_standard_webhooks_secrets_of_the_same_key(
    old_engine: sa.Engine,
) -> None:
    """A hex secret a receiver already checks HMACs with keeps signing with the same key bytes, now
    written `whsec_` + base64 of them, so a Standard Webhooks library accepts what we sign."""
    migrate(old_engine, "0007")
    old_secret = "3f9a" * 16
    site = dict(api_key_prefix="p", allowed_origins=[], policy={}, created_at=NOW)
    with old_engine.begin() as c:
        c.execute(
            tables(old_engine)["sites"].insert(),
            [
                site
                | dict(id=1, name="hex", api_key_hash="h1", publishable_key="pk1", webhook_secret=old_secret),
                site | dict(id=2, name="none", api_key_hash="h2", publishable_key="pk2", webhook_secret=None),
            ],
        )
    migrate(old_engine)
    with old_engine.connect() as c:
        secrets = {
            name: secret for name, secret in c.execute(sa.text("SELECT name, webhook_secret FROM sites"))
        }
    assert secrets == {"hex": "whsec_" + base64.b64encode(old_secret.encode()).decode(), "none": None}
    body = b'{"type":"comment.decided"}'
    timestamp = datetime.now(UTC)
    signature = Webhook(secrets["hex"]).sign("msg_1", timestamp, body)
    expected = hmac.new(old_secret.encode(), f"msg_1.{int(timestamp.timestamp())}.".encode() + body, "sha256")
    assert signature == "v1," + base64.b64encode(expected.digest()).decode()
    downgrade(old_engine, "0007")
    with old_engine.connect() as c:
        assert (
            c.execute(sa.text("SELECT webhook_secret FROM sites WHERE name = 'hex'")).scalar() == old_secret
        )
