"""A site's training labels: archive import (JSONL, CSV), export, and moderator decisions as labels
(SQLite + PostgreSQL, through the `moderation` command and the dashboard's decision writer)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from moderation.config import Config
from moderation.domain.enums import Action
from moderation.domain.labels import ArchiveError, read_jsonl
from moderation.store.accounts import NewSite
from moderation.store.db import transaction
from moderation.store.decisions import apply_decision, undo
from moderation.store.tables import SiteLabel, User
from tests.browser import seed
from tests.conftest import Database
from tests.test_cli import run


def _write(path: Path, lines: list[Any]) -> Path:
    path.write_text(
        "".join((json.dumps(x, ensure_ascii=False) if not isinstance(x, str) else x) + "\n" for x in lines)
    )
    return path


def _count(database: Database) -> int:
    with database.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(SiteLabel)) or 0)


def test_jsonl_archive_is_imported_in_order_and_exported(
    config: Config, database: Database, site: NewSite, tmp_path: Path
) -> None:
    archive = _write(
        tmp_path / "archive.jsonl",
        [
            {"text": "Gute Analyse.", "action": "approve", "external_id": "a1", "author_id": "u1"},
            {"text": "Du Vollidiot.", "action": "reject", "reason": "insult", "external_id": "a2"},
            {
                "text": "Älter, aber später im File.",
                "action": "approve",
                "decided_at": "2020-01-01T10:00:00Z",
            },
            "",
            {"text": "Werbung: billige Uhren", "action": "reject", "article_id": "art-9", "author_id": 17},
        ],
    )
    result = run(config, database, "labels", "import", str(archive), "--site", "testsite")
    assert result.exit_code == 0, result.output
    assert "imported 4 labels for testsite (2 rejected, 2 approved)" in result.output
    out = tmp_path / "export.jsonl"
    exported = run(config, database, "labels", "export", "--site", "testsite", "-o", str(out))
    assert exported.exit_code == 0, exported.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    # The dated line first; lines without `decided_at` keep their file order.
    assert [r["text"] for r in rows] == [
        "Älter, aber später im File.",
        "Gute Analyse.",
        "Du Vollidiot.",
        "Werbung: billige Uhren",
    ]
    assert rows[0]["decided_at"] == "2020-01-01T10:00:00Z"
    assert rows[2]["reason"] == "insult" and rows[3]["author_id"] == "17" and rows[3]["article_id"] == "art-9"
    assert {r["source"] for r in rows} == {"imported"} and all(r["comment_id"] is None for r in rows)
    # The same archive again replaces the lines with external ids instead of doubling them.
    again = run(config, database, "labels", "import", str(archive), "--site", "testsite")
    assert again.exit_code == 0, again.output
    assert _count(database) == 6  # a1 and a2 replaced; the two lines without an id are added again


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not valid JSON"),
        ('["text", "approve"]', "must be a JSON object"),
        ('{"text": "", "action": "approve"}', "'text' must be a non-empty string"),
        ('{"text": "x", "action": "hold"}', "'action' must be 'approve' or 'reject'"),
        ('{"text": "x"}', "'action' must be 'approve' or 'reject'"),
        ('{"text": "x", "action": "reject", "decided_at": "gestern"}', "not an ISO 8601"),
        ('{"text": "x", "action": "reject", "colour": "red"}', "unknown keys ['colour']"),
        ('{"text": "x", "action": "reject", "author_id": ["a"]}', "'author_id' must be a string"),
        ('{"text": "' + "x" * 10_001 + '", "action": "reject"}', "has 10001 characters; at most 10000"),
    ],
)
def test_a_bad_line_is_named_and_nothing_is_imported(
    config: Config, database: Database, site: NewSite, tmp_path: Path, line: str, message: str
) -> None:
    archive = _write(tmp_path / "bad.jsonl", [{"text": "gut", "action": "approve"}, line])
    result = run(config, database, "labels", "import", str(archive), "--site", "testsite")
    assert result.exit_code == 1
    assert "1 bad lines, nothing imported" in result.output and "line 2: " in result.output
    assert message in result.output
    assert _count(database) == 0


def test_every_bad_line_is_listed() -> None:
    lines = ['{"text": "ok", "action": "approve"}'] + ['{"text": "x", "action": "maybe"}'] * 30
    with pytest.raises(ArchiveError) as caught:
        read_jsonl(lines)
    assert caught.value.total == 30 and caught.value.errors[0].startswith("line 2: ")
    assert str(caught.value).endswith("... and 10 more")


def test_csv_archive_with_columns_and_positive_value(
    config: Config, database: Database, site: NewSite, tmp_path: Path
) -> None:
    archive = tmp_path / "archive.csv"
    archive.write_text(
        'id,body,label\n1,"Sachlich, danke.",0.0\n2,Halt die Klappe,1.0\n3,"Mehrzeilig\nund gut",0\n'
    )
    result = run(
        config,
        database,
        "labels",
        "import",
        str(archive),
        "--site",
        "testsite",
        "--text-col",
        "body",
        "--label-col",
        "label",
        "--positive",
        "1",
    )
    assert result.exit_code == 0, result.output
    with database.sessions() as session:
        stored = list(session.execute(select(SiteLabel.text, SiteLabel.action).order_by(SiteLabel.id)))
    assert stored == [
        ("Sachlich, danke.", "approve"),
        ("Halt die Klappe", "reject"),
        ("Mehrzeilig\nund gut", "approve"),
    ]
    missing = run(
        config, database, "labels", "import", str(archive), "--site", "testsite", "--text-col", "text"
    )
    assert missing.exit_code == 1 and "no column 'text'" in missing.output


def test_unknown_site_and_unknown_format_are_refused(
    config: Config, database: Database, tmp_path: Path
) -> None:
    archive = _write(tmp_path / "a.jsonl", [{"text": "x", "action": "approve"}])
    result = run(config, database, "labels", "import", str(archive), "--site", "nirgendwo")
    assert result.exit_code == 1 and "no site named 'nirgendwo'" in result.output
    odd = tmp_path / "a.xml"
    odd.write_text("<x/>")
    result = run(config, database, "labels", "import", str(odd), "--site", "nirgendwo")
    assert result.exit_code == 1


def test_moderator_decisions_are_labels_and_the_latest_wins(database: Database, site: NewSite) -> None:
    with transaction(database.sessions) as session:
        seed.make_users(session)
        held = seed.add_comment(
            session, site.site.id, "Geh doch nach drüben, du Spinner.", scores={"toxicity": 0.6}
        )
        other = seed.add_comment(
            session, site.site.id, "Ein Kommentar, den niemand anfasst.", scores={"toxicity": 0.6}
        )
    comment_id = held.id

    def labels() -> list[tuple[str | None, str, str | None, str]]:
        with database.sessions() as session:
            rows = session.execute(
                select(SiteLabel.comment_id, SiteLabel.action, SiteLabel.reason, SiteLabel.source)
            )
            return [tuple(row) for row in rows]  # type: ignore[misc]

    def moderator(session: Any) -> User:
        return session.scalars(select(User).where(User.email == "mod@example.org")).one()

    assert labels() == []  # the model's decisions are no labels
    with transaction(database.sessions) as session:
        rejected = apply_decision(session, moderator(session), [comment_id], Action.REJECT, "insult")
    assert labels() == [(comment_id, "reject", "insult", "moderator")]
    with transaction(database.sessions) as session:
        approved = apply_decision(session, moderator(session), [comment_id], Action.APPROVE)
    assert labels() == [(comment_id, "approve", None, "moderator")]  # reversed: the latest wins
    with transaction(database.sessions) as session:
        undo(session, moderator(session), approved.action_id)
    assert labels() == [(comment_id, "reject", "insult", "moderator")]  # back to the standing reject
    with transaction(database.sessions) as session:
        undo(session, moderator(session), rejected.action_id)
    assert labels() == []  # undone: the model's decision stands again, no label
    with transaction(database.sessions) as session:
        apply_decision(session, moderator(session), [comment_id], Action.REJECT, "insult")
        apply_decision(session, moderator(session), [comment_id], Action.HOLD)
    assert labels() == []  # put back in the queue: no standing verdict
    assert other.id not in {row[0] for row in labels()}
