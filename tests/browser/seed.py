"""Realistic comments under the Russia/Kazakhstan article, written straight to SQL (no model needed)."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from moderation.domain import reasons
from moderation.domain.attributes import NAMES, ScoreSet
from moderation.domain.enums import Action, Role, SiteModelState, Source
from moderation.domain.facts import CommentFacts
from moderation.domain.learning import Figures, judge
from moderation.domain.policy import Verdict
from moderation.domain.priority import thresholds_of
from moderation.domain.timestamps import utcnow
from moderation.store import site_models
from moderation.store.accounts import create_user
from moderation.store.decisions import ModelDecision, record_model_decisions
from moderation.store.tables import Comment, Site

ARTICLE = "russland-kasachstan-befuerchtung"
XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"

# (text, attribute of the explaining span, the span's words, scores)
TEXTS: list[tuple[str, str, str, dict[str, float]]] = [
    (
        "Kasachstan hat völlig recht, die Donbas-Republiken nicht anzuerkennen. Tokajew zeigt Rückgrat.",
        "",
        "",
        {"toxicity": 0.04, "propaganda": 0.08},
    ),
    (
        "Die Russen im Norden Kasachstans werden unterdrückt, das weiß doch jeder. "
        "Russland muss sie schützen!",
        "propaganda",
        "Russland muss sie schützen",
        {"toxicity": 0.12, "propaganda": 0.81},
    ),
    (
        "Was ist mit den Verbrechen der NATO? Über die schreibt ihr nie, ihr Heuchler.",
        "propaganda",
        "Was ist mit den Verbrechen der NATO?",
        {"toxicity": 0.41, "propaganda": 0.74, "insult": 0.38},
    ),
    (
        "Der Autor ist ein dummer Schreiberling, der von Zentralasien keine Ahnung hat.",
        "insult",
        "dummer Schreiberling",
        {"toxicity": 0.86, "insult": 0.83, "propaganda": 0.10},
    ),
    (
        "Ukrainische NGOs steuern die russophobe Hetze in Almaty, gesteuert aus Washington.",
        "propaganda",
        "gesteuert aus Washington",
        {"toxicity": 0.22, "propaganda": 0.88},
    ),
    (
        "Interessanter Artikel. In Uralsk leben inzwischen tausende Russen, die vor dem Krieg geflohen sind.",
        "",
        "",
        {"toxicity": 0.03, "propaganda": 0.12},
    ),
    (
        "Wer Putin widerspricht, wird schon sehen, was passiert. Kasachstan ist als Nächstes dran.",
        "threat",
        "wird schon sehen, was passiert",
        {"toxicity": 0.71, "threat": 0.66, "propaganda": 0.57},
    ),
    (
        "Diese Kasachen sollen dankbar sein, dass Russland sie so lange durchgefüttert hat.",
        "identity_attack",
        "Diese Kasachen sollen dankbar sein",
        {"toxicity": 0.64, "identity_attack": 0.69, "propaganda": 0.6},
    ),
    (
        "Billige Uhren und Pillen hier: www.super-deals-online.biz – nur heute!",
        "spam",
        "www.super-deals-online.biz",
        {"toxicity": 0.05, "spam": 0.93},
    ),
    (
        "Die längste Landgrenze der Welt – das erklärt, warum Astana so vorsichtig formuliert.",
        "",
        "",
        {"toxicity": 0.02, "propaganda": 0.15},
    ),
    (
        "Halt die Fresse, du Kremltroll, geh zurück in deine Trollfabrik.",
        "insult",
        "Halt die Fresse",
        {"toxicity": 0.95, "insult": 0.91, "profanity": 0.77},
    ),
    (
        "Die Sowjetunion war russisches Land, so hat Putin es gesagt, und so ist es historisch.",
        "propaganda",
        "Die Sowjetunion war russisches Land",
        {"toxicity": 0.18, "propaganda": 0.77},
    ),
]

# The seeded reasons: each of these scores at or over 0.50 is named as a hold reason.
REASON_ATTRIBUTES = ("toxicity", "propaganda", "spam")
SEED_VERSION = "demo-2026-11"


@dataclass
class Seeded:
    held: list[str]
    approved: list[str]
    rejected: list[str]


def _scores(text: str, attribute: str, words: str, base: dict[str, float]) -> ScoreSet:
    values = dict.fromkeys(NAMES, 0.0)
    values.update(base)
    spans: list[dict[str, Any]] = []
    if words and words in text:
        start = text.index(words)
        spans.append({"start": start, "end": start + len(words), "attribute": attribute, "weight": 0.42})
    narratives = [("protect_russian_speakers", values["propaganda"])] if values["propaganda"] > 0.5 else []
    techniques = (
        {"whataboutism": 0.7}
        if "Was ist mit" in text
        else {"loaded_language": round(values["propaganda"] / 2, 2)}
    )
    return ScoreSet.rounded(values, techniques, narratives, spans)


def _verdict(status: str, scores: dict[str, float] | None) -> Verdict:
    action = {"held": Action.HOLD, "approved": Action.APPROVE, "rejected": Action.REJECT}[status]
    found = [
        reasons.score_band(name, "hold", value, 0.5, Action.HOLD)
        for name, value in (scores or {}).items()
        if name in REASON_ATTRIBUTES and value >= 0.5
    ]
    if not found and scores is not None:
        found = [reasons.below_thresholds([(n, scores.get(n, 0.0), 0.5) for n in REASON_ATTRIBUTES])]
    return Verdict(action, Source.MODEL, tuple(found))


def add_comment(
    session: Session,
    site_id: int,
    text: str,
    *,
    status: str = "held",
    scores: dict[str, float] | None = None,
    attribute: str = "",
    words: str = "",
    author: str = "leser-1",
    created_at: datetime | None = None,
    parent_id: str | None = None,
    external_id: str | None = None,
) -> Comment:
    """One decided comment: the row, then its scores (when given) and the model's decision, written by
    the service's decision writer (so priority, audit event and recorded facts are as in production)."""
    created = created_at or utcnow()
    comment = Comment(
        site_id=site_id,
        article_id=ARTICLE,
        author_id=author,
        author_name=author.title(),
        text=text,
        status="pending",
        created_at=created,
        decided_at=created + timedelta(seconds=2),
        parent_id=parent_id,
        external_id=external_id,
    )
    session.add(comment)
    session.flush()
    site = session.get(Site, site_id)
    assert site is not None
    record_model_decisions(
        session,
        [
            ModelDecision(
                comment_id=comment.id,
                site_id=site_id,
                verdict=_verdict(status, scores),
                facts=CommentFacts(text, author_has_history=True, lang="de"),
                scores=None if scores is None else _scores(text, attribute, words, scores),
                lang="de",
                thresholds=thresholds_of(site.policy),
                scoring_profile="full",
            )
        ],
        model_version=SEED_VERSION,
        now=created + timedelta(seconds=2),
    )
    session.refresh(comment)
    return comment


def seed(session: Session, site_id: int, count: int = 24, rng_seed: int = 7) -> Seeded:
    """`count` comments spread over the last days; the risky ones held, clear ones approved/rejected."""
    rng = random.Random(rng_seed)
    out = Seeded([], [], [])
    now = utcnow()
    for i in range(count):
        text, attribute, words, base = TEXTS[i % len(TEXTS)]
        jitter = {k: min(0.99, max(0.0, v + rng.uniform(-0.03, 0.03))) for k, v in base.items()}
        risk = max(jitter.values())
        status = "approved" if risk < 0.5 else ("rejected" if risk >= 0.94 else "held")
        comment = add_comment(
            session,
            site_id,
            text,
            status=status,
            scores=jitter,
            attribute=attribute,
            words=words,
            author=f"leser-{i % 7}",
            created_at=now - timedelta(hours=3 * (count - i)),
        )
        getattr(out, status).append(comment.id)
    return out


def make_users(session: Session) -> None:
    create_user(session, "admin@example.org", "admin-password-1", Role.ADMIN)
    create_user(session, "mod@example.org", "moderator-password-1", Role.MODERATOR)


CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF_FIELD.search(html)
    assert match is not None, "no CSRF token on the page"
    return match.group(1)


def login(client: FlaskClient, email: str, password: str) -> str:
    """Logs in through the form and returns the CSRF token of the new session."""
    token = csrf_of(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    return csrf_of(client.get("/").get_data(as_text=True))


SITE_MODEL_VERSIONS = ("2026.11.02-030000", "2026.11.16-030000", "2026.11.23-030000", "2026.11.28-030000")


def site_model_verdict(
    site: str, version: str, candidate: Figures, active: Figures | None, generic: float | None, labels: int
) -> dict[str, Any]:
    """A verdict as `workers/retrain.py` records it, with the promotion guard's own reasons."""
    guard = judge(candidate, active, generic)
    return {
        "site": site,
        "candidate": version,
        "active": None,
        "verdict": guard.outcome.value,
        "reasons": [reason.to_dict() for reason in guard.reasons],
        "metrics": {
            "labels": labels,
            "rejected": labels // 3,
            "held_back": labels // 5,
            "candidate": candidate.to_dict(),
            "active": active.to_dict() if active is not None else None,
            "generic_toxicity_slice_auc": generic,
        },
    }


def add_site_models(
    session: Session, site_id: int, site: str, versions: tuple[str, ...] = SITE_MODEL_VERSIONS
) -> None:
    """Four versions of a site's own model, recorded as retraining would (no model files): the first
    promoted, the second promoted over it (active), the third kept (the active one stays), the fourth
    refused; spread over the last four weeks."""
    first, second, third, fourth = versions
    public = {"germeval2018": 0.71}
    steps = [
        (first, Figures(0.78, {}), None, 120, SiteModelState.CANDIDATE, 28),
        (second, Figures(0.83, public), Figures(0.78, public), 300, SiteModelState.CANDIDATE, 14),
        (third, Figures(0.79, public), Figures(0.83, public), 410, SiteModelState.CANDIDATE, 7),
        (fourth, Figures(0.55, {}), Figures(0.83, {}), 450, SiteModelState.REFUSED, 2),
    ]
    now = utcnow()
    for version, candidate, active, labels, state, days_ago in steps:
        verdict = site_model_verdict(site, version, candidate, active, 0.64, labels)
        row = site_models.record(session, site_id, version, {}, state=state, verdict=verdict)
        row.created_at = now - timedelta(days=days_ago)
        if version in (first, second):
            site_models.activate(session, site_id, version, actor="retrain")
            row.activated_at = now - timedelta(days=days_ago)
    session.flush()
