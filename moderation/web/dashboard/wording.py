"""Display strings: the words the database stores in English (statuses, actions, reasons, audit events,
attribute names, refusals), in the reader's language.

Stored values stay English: they are the API's contract and what label exports contain. Policy reasons
are rendered from their code and params (`moderation.domain.reasons`); nothing is parsed back from text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from flask import Flask
from flask_babel import format_decimal, lazy_gettext
from flask_babel import gettext as _

from moderation.domain import attributes, reasons
from moderation.store.errors import DecisionError

STATUSES = {
    "pending": lazy_gettext("pending"),
    "held": lazy_gettext("held"),
    "approved": lazy_gettext("approved"),
    "rejected": lazy_gettext("rejected"),
}
ACTIONS = {"approve": lazy_gettext("approve"), "hold": lazy_gettext("hold"), "reject": lazy_gettext("reject")}
SOURCES = {
    "model": lazy_gettext("model"),
    "rule": lazy_gettext("rule"),
    "moderator": lazy_gettext("moderator"),
}
# Attribute names are defined once, in the domain (`Attribute.label`, English); `pybabel extract` reads
# them from there (keyword `Attribute:2`, see docs/dashboard.md).
ATTRIBUTES = {a.name: lazy_gettext(a.label) for a in attributes.ATTRIBUTES}
REASON_CODES = {
    "insult": lazy_gettext("insult"),
    "threat": lazy_gettext("threat"),
    "identity_attack": lazy_gettext("identity attack"),
    "propaganda": lazy_gettext("propaganda"),
    "spam": lazy_gettext("spam"),
    "off_topic": lazy_gettext("off-topic"),
    "other": lazy_gettext("other"),
}
EVENTS = {
    "comment.received": lazy_gettext("received"),
    "comment.decided": lazy_gettext("decided"),
    "site.created": lazy_gettext("site created"),
    "site.key_rotated": lazy_gettext("API key rotated"),
    "site.policy_changed": lazy_gettext("policy changed"),
    "user.created": lazy_gettext("user created"),
    "model.activated": lazy_gettext("model activated"),
    "login.failed": lazy_gettext("login failed"),
    "login.succeeded": lazy_gettext("logged in"),
}
DECISION_ERRORS = {
    "reason_required": lazy_gettext("a rejection needs a reason code"),
    "no_such_action": lazy_gettext("there is no such action of yours to undo"),
    "already_undone": lazy_gettext("this action was already undone"),
    "too_late": lazy_gettext("too late to undo this action"),
    "unknown_action": lazy_gettext("Unknown action."),
}


def _lookup(table: Mapping[str, Any]) -> Callable[[str | None], str]:
    def label(value: str | None) -> str:
        return "–" if value is None else str(table.get(value, value.replace("_", " ")))

    return label


status_label = _lookup(STATUSES)
action_label = _lookup(ACTIONS)
source_label = _lookup(SOURCES)
attribute_label = _lookup(ATTRIBUTES)
reason_code_label = _lookup(REASON_CODES)
event_label = _lookup(EVENTS)


def decision_error(error: DecisionError) -> str:
    """Why a decision was refused, in the reader's language."""
    if error.code == "unknown_reason":
        return _("unknown reason code %(code)s", code=error.params.get("reason_code", ""))
    message = DECISION_ERRORS.get(error.code)
    return str(message) if message is not None else str(error)


def _number(value: Any) -> str:
    return str(format_decimal(float(value), "0.00"))


def explain_reason(reason: Mapping[str, Any]) -> str:
    """A policy reason (`{"code", "params"}`) as a sentence; a reason without params (or of a code this
    version does not know) keeps the English sentence it was stored with."""
    code = str(reason.get("code", ""))
    params = reason.get("params")
    if not isinstance(params, Mapping):
        return reasons.describe(reason)
    try:
        return _sentence(code, params)
    except (KeyError, TypeError, ValueError):
        return reasons.describe(reason)


def _sentence(code: str, p: Mapping[str, Any]) -> str:
    band = reasons.score_band_of(code)
    if band is not None:
        values = {
            "attribute": attribute_label(band[0]),
            "score": _number(p["score"]),
            "threshold": _number(p["threshold"]),
        }
        if band[1] == "hold":
            return _("%(attribute)s %(score)s ≥ hold threshold %(threshold)s", **values)
        return _("%(attribute)s %(score)s ≥ reject threshold %(threshold)s", **values)
    if code == reasons.COORDINATED_POSTING:
        return _(
            "nearly the same text as at least %(copies)s recent comments by %(authors)s other authors",
            copies=int(p["copies"]),
            authors=int(p["authors"]),
        )
    texts: dict[str, Callable[[], str]] = {
        reasons.BANNED_WORD: lambda: _("contains the banned word “%(word)s”", word=p["word"]),
        reasons.SUSPECT_WORD: lambda: _("contains the suspect word “%(word)s”", word=p["word"]),
        reasons.LINK_FROM_NEW_AUTHOR: lambda: _("first comment of this author, with a link"),
        reasons.UNSUPPORTED_LANGUAGE: lambda: _(
            "language %(lang)s is not one the models cover", lang=p["lang"]
        ),
        reasons.SCORING_FAILED: lambda: _("the model could not score it; the site's fallback applied"),
        reasons.BELOW_THRESHOLDS: lambda: _("all scores below the hold thresholds"),
    }
    return texts[code]()


def decision_summary(data: Mapping[str, Any]) -> str:
    """What a `comment.decided` audit event did, from its data: action, who decided, reason and note."""
    parts = [
        _(
            "%(action)s (%(source)s)",
            action=action_label(data.get("action")),
            source=source_label(data.get("source")),
        )
    ]
    if data.get("reason_code"):
        parts.append(_("reason: %(reason)s", reason=reason_code_label(data["reason_code"])))
    found: Sequence[Mapping[str, Any]] = data.get("reasons") or ()
    parts.extend(explain_reason(r) for r in found)
    if data.get("note"):
        parts.append(_("note: “%(note)s”", note=data["note"]))
    if data.get("status"):
        parts.append(_("now %(status)s", status=status_label(data["status"])))
    return "; ".join(parts)


def init_app(app: Flask) -> None:
    for name, function in {
        "status_label": status_label,
        "action_label": action_label,
        "source_label": source_label,
        "attribute_label": attribute_label,
        "reason_code_label": reason_code_label,
        "event_label": event_label,
        "explain_reason": explain_reason,
        "decision_summary": decision_summary,
    }.items():
        app.jinja_env.filters[name] = function
