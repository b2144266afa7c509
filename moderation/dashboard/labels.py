"""Words the database stores in English (statuses, actions, reasons, audit events), in the reader's language.

Stored values stay English: they are the API's contract and what label exports contain.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from flask import Flask
from flask_babel import gettext as _
from flask_babel import lazy_gettext

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
ATTRIBUTES = {
    "toxicity": lazy_gettext("toxicity"),
    "propaganda": lazy_gettext("propaganda"),
    "spam": lazy_gettext("spam"),
    "insult": lazy_gettext("insult"),
    "profanity": lazy_gettext("profanity"),
    "threat": lazy_gettext("threat"),
    "identity_attack": lazy_gettext("identity attack"),
}
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
_THRESHOLD = re.compile(r"([0-9.]+) >= (?:hold|reject) threshold ([0-9.]+)")
_QUOTED = re.compile(r"'([^']*)'")
_COPIES = re.compile(r"at least (\d+) recent comments by (\d+) other authors")


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


def explain_reason(reason: Mapping[str, Any]) -> str:
    """A policy reason (`{"code", "detail"}`) as a sentence; unknown codes keep their stored detail."""
    code, detail = str(reason.get("code", "")), str(reason.get("detail", ""))
    for band in ("hold", "reject"):
        attribute = code.removesuffix(f"_{band}")
        numbers = _THRESHOLD.search(detail)
        if code.endswith(f"_{band}") and attribute in ATTRIBUTES and numbers:
            values = {"attribute": attribute_label(attribute), "score": numbers[1], "threshold": numbers[2]}
            if band == "hold":
                return _("%(attribute)s %(score)s ≥ hold threshold %(threshold)s", **values)
            return _("%(attribute)s %(score)s ≥ reject threshold %(threshold)s", **values)
    quoted = _QUOTED.search(detail)
    word = quoted[1] if quoted else ""
    copies = _COPIES.search(detail)
    if code == "coordinated_posting" and copies:
        return _(
            "nearly the same text as at least %(copies)s recent comments by %(authors)s other authors",
            copies=copies[1],
            authors=copies[2],
        )
    texts = {
        "banned_word": lambda: _("contains the banned word “%(word)s”", word=word),
        "suspect_word": lambda: _("contains the suspect word “%(word)s”", word=word),
        "link_from_new_author": lambda: _("first comment of this author, with a link"),
        "unsupported_language": lambda: _("language %(lang)s is not one the models cover", lang=word),
        "scoring_failed": lambda: _("the model could not score it; the site's fallback applied"),
        "below_thresholds": lambda: _("all scores below the hold thresholds"),
    }
    return texts[code]() if code in texts else detail


def decision_summary(data: Mapping[str, Any]) -> str:
    """What a `comment.decided` audit event did, from its data: action, who decided, reason and note."""
    parts = [
        _(
            "%(action)s (%(source)s)",
            action=action_label(data.get("action")),
            source=source_label(data.get("decision_source") or data.get("source")),
        )
    ]
    if data.get("reason_code"):
        parts.append(_("reason: %(reason)s", reason=reason_code_label(data["reason_code"])))
    reasons: Sequence[Mapping[str, Any]] = data.get("reasons") or ()
    parts.extend(explain_reason(r) for r in reasons)
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
