"""The held queue's risk order (`Comment.priority`) and indexed text search (SQLite + PostgreSQL)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, text

from moderation.domain.policy import DEFAULT_THRESHOLDS
from moderation.domain.priority import UNSCORED_PRIORITY, review_priority
from moderation.store.accounts import NewSite
from moderation.store.db import transaction
from moderation.store.tables import Comment, Decision, Site
from tests.browser import seed
from tests.conftest import Database
from tests.test_dashboard_queue import card_ids


def test_risk_peaks_at_the_reject_threshold() -> None:
    # toxicity: hold 0.5, reject 0.9. Right under the boundary needs a human more than far past it.
    at_boundary = review_priority({"toxicity": 0.89}, DEFAULT_THRESHOLDS)
    far_past = review_priority({"toxicity": 0.99}, DEFAULT_THRESHOLDS)
    assert at_boundary == 0.89 and far_past == pytest.approx(0.81)
    assert review_priority({"toxicity": 0.91}, DEFAULT_THRESHOLDS) > far_past
    # Propaganda has no reject threshold: the policy can never reject it, so a high score counts fully.
    assert review_priority({"propaganda": 0.97, "toxicity": 0.2}, DEFAULT_THRESHOLDS) == 0.97
    assert review_priority({}, DEFAULT_THRESHOLDS) == 0.0


@pytest.fixture
def moderator(client: FlaskClient, database: Database) -> str:
    with transaction(database.sessions) as session:
        seed.make_users(session)
    return seed.login(client, "mod@example.org", "moderator-password-1")


def _held(database: Database, site_id: int, text_: str, scores: dict[str, float] | None) -> str:
    with transaction(database.sessions) as session:
        return seed.add_comment(session, site_id, text_, scores=scores).id


def test_priority_is_stored_when_scores_are_written_and_orders_the_held_queue(
    client: FlaskClient, moderator: str, database: Database, site: NewSite
) -> None:
    past = _held(database, site.site.id, "Weit über der Schwelle.", {"toxicity": 0.99})
    boundary = _held(database, site.site.id, "Knapp unter der Schwelle.", {"toxicity": 0.88})
    mild = _held(database, site.site.id, "Knapp gehalten.", {"toxicity": 0.52})
    unscored = _held(database, site.site.id, "Nicht bewertet.", None)
    with database.sessions() as session:
        stored = {row[0]: row[1] for row in session.execute(select(Comment.id, Comment.priority))}
    assert stored[past] == pytest.approx(0.81) and stored[boundary] == pytest.approx(0.88)
    assert stored[unscored] == UNSCORED_PRIORITY
    html = client.get("/").get_data(as_text=True)
    assert card_ids(html) == [unscored, boundary, past, mild]
    assert re.findall(r'class="risk"[^>]*>Risiko ([0-9,]+)', html) == ["1,00", "0,88", "0,81", "0,52"]


def test_scores_and_risk_use_the_interface_languages_number_format(
    client: FlaskClient, moderator: str, database: Database, site: NewSite
) -> None:
    held = _held(database, site.site.id, "Knapp unter der Schwelle.", {"toxicity": 0.71})
    for path in ("/", f"/comments/{held}"):
        html = client.get(path).get_data(as_text=True)
        assert re.search(r'class="risk"[^>]*>Risiko 0,71<', html), path
        assert '<span class="num">0,71</span>' in html and "0.71" not in html, path
        assert 'width="71.0"' in html, path  # the bar's SVG width stays machine-readable
    client.post("/language", data={"lang": "en", "csrf_token": moderator, "next": "/"})
    for path in ("/", f"/comments/{held}"):
        html = client.get(path).get_data(as_text=True)
        assert re.search(r'class="risk"[^>]*>Risk 0.71<', html), path
        assert '<span class="num">0.71</span>' in html and "0,71" not in html, path


def test_saving_thresholds_re_ranks_held_comments(
    client: FlaskClient, database: Database, site: NewSite
) -> None:
    with transaction(database.sessions) as session:
        seed.make_users(session)
    past = _held(database, site.site.id, "Weit über der Schwelle.", {"toxicity": 0.99})
    token = seed.login(client, "admin@example.org", "admin-password-1")
    form = {f"{a}_{b}": "" for a in DEFAULT_THRESHOLDS for b in ("hold", "reject")}
    form.update(toxicity_hold="0.5", toxicity_reject="", csrf_token=token, intent="save", webhook_url="")
    assert client.post(f"/settings/sites/{site.site.id}", data=form).status_code == 302
    with database.sessions() as session:
        assert session.get(Comment, past).priority == pytest.approx(0.99)  # type: ignore[union-attr]
        assert session.get(Site, site.site.id).policy["thresholds"]["toxicity"]["reject"] is None  # type: ignore[union-attr]


def _lower_toxicity_reject(database: Database, site_id: int, reject: float) -> None:
    """Changes the threshold behind the settings page's back: held comments are not re-ranked."""
    with transaction(database.sessions) as session:
        row = session.get(Site, site_id)
        assert row is not None
        policy = dict(row.policy or {})
        thresholds = {k: dict(v) for k, v in (policy.get("thresholds") or DEFAULT_THRESHOLDS).items()}
        thresholds["toxicity"] = {"hold": 0.5, "reject": reject}
        row.policy = {**policy, "thresholds": thresholds}


def test_undo_back_into_the_held_queue_ranks_under_current_thresholds(
    client: FlaskClient, moderator: str, database: Database, site: NewSite
) -> None:
    boundary = _held(database, site.site.id, "Knapp unter der Schwelle.", {"toxicity": 0.88})
    mild = _held(database, site.site.id, "Knapp gehalten.", {"toxicity": 0.52})
    response = client.post(
        "/actions/decide",
        data={"comment_id": boundary, "action": "approve", "csrf_token": moderator},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200
    # Meanwhile toxicity 0.88 became far past a reject threshold of 0.6: mirrored to 0.32, below 0.52.
    _lower_toxicity_reject(database, site.site.id, 0.6)
    undo = client.post(response.json["undo_url"], data={"csrf_token": moderator})  # type: ignore[index]
    assert undo.status_code == 302
    with database.sessions() as session:
        restored = session.get(Comment, boundary)
        assert restored is not None and restored.status == "held"
        assert restored.priority == pytest.approx(0.32)
    assert card_ids(client.get("/").get_data(as_text=True)) == [mild, boundary]


def test_moderator_hold_ranks_under_current_thresholds(
    client: FlaskClient, moderator: str, database: Database, site: NewSite
) -> None:
    with transaction(database.sessions) as session:
        approved = seed.add_comment(
            session, site.site.id, "Schon freigegeben.", status="approved", scores={"toxicity": 0.85}
        ).id
    mild = _held(database, site.site.id, "Knapp gehalten.", {"toxicity": 0.52})
    _lower_toxicity_reject(database, site.site.id, 0.6)  # 0.85 now ranks 2 * 0.6 - 0.85 = 0.35
    response = client.post(
        "/actions/decide",
        data={"comment_id": approved, "action": "hold", "csrf_token": moderator},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200
    with database.sessions() as session:
        assert session.get(Comment, approved).priority == pytest.approx(0.35)  # type: ignore[union-attr]
    assert card_ids(client.get("/").get_data(as_text=True)) == [mild, approved]


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("trollfabrik", True),  # any case, inside a compound word
        ("KREMLTROLL", True),
        ("Fresse, du", True),  # punctuation and spaces inside the phrase
        ("Fr", True),  # shorter than a trigram: answered without the index
        ('"Trollfabrik"', False),  # quotes are searched for, not FTS syntax
        ("Weltraumbahnhof", False),
    ],
)
def test_search_finds_substrings_case_insensitively(
    client: FlaskClient, moderator: str, database: Database, site: NewSite, query: str, found: bool
) -> None:
    wanted = _held(database, site.site.id, "Halt die Fresse, du Kremltroll, geh in die Trollfabrik.", None)
    _held(database, site.site.id, "Baikonur liegt in Kasachstan.", None)
    ids = card_ids(client.get("/queue/all", query_string={"q": query}).get_data(as_text=True))
    assert ids == ([wanted] if found else [])


def test_search_index_follows_deleted_comments(database: Database, site: NewSite) -> None:
    gone = _held(database, site.site.id, "Trollfabrik in Sankt Petersburg.", None)
    with transaction(database.sessions) as session:
        session.query(Decision).filter(Decision.comment_id == gone).delete()
        session.query(Comment).filter(Comment.id == gone).delete()
    if database.kind == "sqlite":
        with database.sessions() as session:
            left = session.execute(
                text("SELECT count(*) FROM comments_search WHERE comments_search MATCH 'troll'")
            )
            assert left.scalar() == 0


def test_held_queue_and_search_use_their_indexes(database: Database, site: NewSite) -> None:
    held = "SELECT id FROM comments WHERE status = 'held' ORDER BY priority DESC, id DESC LIMIT 26"
    with database.engine.connect() as connection:
        if database.kind == "sqlite":
            plan = " ".join(str(r[-1]) for r in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {held}"))
            assert "ix_comments_status_priority" in plan and "TEMP B-TREE" not in plan
            return
        connection.exec_driver_sql("SET enable_seqscan = off")
        plan = " ".join(r[0] for r in connection.exec_driver_sql(f"EXPLAIN {held}"))
        assert "ix_comments_status_priority" in plan and "Sort" not in plan
        search = "EXPLAIN SELECT id FROM comments WHERE text ILIKE '%%trollfabrik%%'"
        assert "ix_comments_text_trgm" in " ".join(r[0] for r in connection.exec_driver_sql(search))


def test_date_filters_take_and_show_the_interface_languages_format(
    client: FlaskClient, moderator: str, database: Database, site: NewSite
) -> None:
    held = _held(database, site.site.id, "Heute geschrieben.", {"toxicity": 0.71})
    today = datetime.now(UTC).date()
    tomorrow = today + timedelta(days=1)
    german = f"{today.day:02d}.{today.month:02d}.{today.year}"
    for typed in (german, f"{today.day}.{today.month}.{today.year}", today.isoformat()):
        html = client.get("/", query_string={"date_from": typed}).get_data(as_text=True)
        assert held in card_ids(html), typed
        assert f'name="date_from" value="{german}"' in html and 'placeholder="TT.MM.JJJJ"' in html, typed
    later = f"{tomorrow.day:02d}.{tomorrow.month:02d}.{tomorrow.year}"
    assert held not in card_ids(client.get("/", query_string={"date_from": later}).get_data(as_text=True))
    audit = client.get("/audit", query_string={"date_from": german}).get_data(as_text=True)
    assert f'name="date_from" value="{german}"' in audit
    client.post("/language", data={"lang": "en", "csrf_token": moderator, "next": "/"})
    html = client.get("/", query_string={"date_from": german}).get_data(as_text=True)
    assert f'name="date_from" value="{today.isoformat()}"' in html and 'placeholder="YYYY-MM-DD"' in html
