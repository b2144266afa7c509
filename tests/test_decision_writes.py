"""The workers' decision writer (`record_model_decisions`): a batch whose comments were scored
differently (with a site model, without one, not at all) stores each one's scores, status, priority,
decision and audit event, and the events name the decisions they announce (SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import select

from moderation.domain.attributes import NAMES, ScoreSet
from moderation.domain.enums import Action, Source
from moderation.domain.facts import CommentFacts
from moderation.domain.policy import DEFAULT_THRESHOLDS, Verdict
from moderation.domain.priority import UNSCORED_PRIORITY
from moderation.domain.submissions import CommentIn
from moderation.domain.timestamps import utcnow
from moderation.store.accounts import NewSite
from moderation.store.comments import store_comments
from moderation.store.db import transaction
from moderation.store.decisions import ModelDecision, claim_pending, record_model_decisions
from moderation.store.tables import AuditEvent, Comment, Decision, Scores, Site
from tests.conftest import Database


def test_a_mixed_batch_is_written_whole(database: Database, site: NewSite) -> None:
    texts = ["Danke für den Artikel.", "Du bist ein Idiot.", "Ein dritter Kommentar, ohne Werte."]
    with transaction(database.sessions) as session:
        row = session.get(Site, site.site.id)
        assert row is not None
        stored = store_comments(
            session,
            row,
            [CommentIn(text=t, article_id="a", author={"id": f"u{i}"}) for i, t in enumerate(texts)],
        )
        ids = [s.comment.id for s in stored]
    plain = {name: 0.1 for name in NAMES if name != "site_reject"}
    with_site = {**plain, "toxicity": 0.8, "site_reject": 0.7}
    now = utcnow()
    with transaction(database.sessions) as session:
        assert claim_pending(session, ids, now) == set(ids)
        assert claim_pending(session, ids, now) == set()  # claimed once
        decided = [
            ModelDecision(
                comment_id=cid,
                site_id=site.site.id,
                verdict=verdict,
                facts=CommentFacts(text, author_has_history=False, lang="de", read_languages=("uk",)),
                scores=scores,
                lang="de",
                thresholds=DEFAULT_THRESHOLDS,
                site_model_version="site-1"
                if scores is not None and "site_reject" in scores.values
                else None,
                scoring_profile="fast",
            )
            for cid, text, verdict, scores in zip(
                ids,
                texts,
                [
                    Verdict(Action.APPROVE, Source.MODEL, ()),
                    Verdict(Action.HOLD, Source.MODEL, ()),
                    Verdict(Action.HOLD, Source.RULE, ()),
                ],
                [ScoreSet.rounded(plain, {"loaded_language": 0.2}), ScoreSet.rounded(with_site), None],
                strict=True,
            )
        ]
        events = record_model_decisions(session, decided, model_version="m-1", now=now)
    assert [e.comment_id for e in events] == ids
    assert [e.action for e in events] == ["approve", "hold", "hold"]
    with database.sessions() as session:
        decisions = {d.comment_id: d for d in session.scalars(select(Decision))}
        assert [decisions[cid].id for cid in ids] == [e.decision_id for e in events]
        assert decisions[ids[1]].site_model_version == "site-1"
        assert decisions[ids[2]].scoring_profile is None and decisions[ids[0]].scoring_profile == "fast"
        assert decisions[ids[0]].facts == {
            "author_has_history": False,
            "copies": 0,
            "copy_authors": 0,
            "read_languages": ["uk"],
        }
        assert decisions[ids[0]].reader_reason is None and decisions[ids[0]].moderator_id is None
        scores = {s.comment_id: s for s in session.scalars(select(Scores))}
        assert set(scores) == set(ids[:2])
        assert scores[ids[0]].site_reject is None and scores[ids[1]].site_reject == 0.7
        assert scores[ids[0]].techniques == {"loaded_language": 0.2} and scores[ids[1]].risk == 0.8
        comments = {c.id: c for c in session.scalars(select(Comment))}
        assert [comments[cid].status for cid in ids] == ["approved", "held", "held"]
        assert comments[ids[2]].priority == UNSCORED_PRIORITY
        assert comments[ids[1]].priority != UNSCORED_PRIORITY and comments[ids[1]].lang == "de"
        audit = session.scalars(select(AuditEvent).where(AuditEvent.event == "comment.decided")).all()
        assert sorted(a.data["decision_id"] for a in audit) == sorted(e.decision_id for e in events)
        assert {a.actor for a in audit} == {"model:m-1", "rule:m-1"}
