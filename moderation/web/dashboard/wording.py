"""Display strings: the words the database stores in English (statuses, actions, reasons, audit events,
attribute names, refusals), in the reader's language.

Stored values stay English: they are the API's contract and what label exports contain. Policy reasons
are rendered from their code and params (`moderation.domain.reasons`); nothing is parsed back from text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from flask import Flask
from flask_babel import format_date, lazy_gettext
from flask_babel import gettext as _

from moderation.domain import attributes, drift, reasons
from moderation.domain.drift import DriftWarning
from moderation.store.errors import DecisionError
from moderation.web.dashboard.highlight import isolate
from moderation.web.dashboard.numbers import number

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
    "user.password_changed": lazy_gettext("password changed"),
    "model.activated": lazy_gettext("model activated"),
    "site.learning_changed": lazy_gettext("learning settings changed"),
    "site.retention_changed": lazy_gettext("retention period changed"),
    "site.retention_applied": lazy_gettext("retention period applied"),
    "author.erased": lazy_gettext("author erased"),
    "site_model.verdict": lazy_gettext("site model judged"),
    "site_model.activated": lazy_gettext("site model activated"),
    "site_model.shadow": lazy_gettext("site model shadow changed"),
    "login.failed": lazy_gettext("login failed"),
    "login.succeeded": lazy_gettext("logged in"),
}
SITE_MODEL_STATES = {
    "candidate": lazy_gettext("candidate"),
    "active": lazy_gettext("active"),
    "shadow": lazy_gettext("in shadow"),
    "retired": lazy_gettext("retired"),
    "refused": lazy_gettext("refused"),
}
VERDICTS = {
    "promoted": lazy_gettext("promoted"),
    "kept": lazy_gettext("not promoted, the active model stays"),
    "refused": lazy_gettext("refused"),
}
LANGUAGES = {"uk": lazy_gettext("Ukrainian"), "kk": lazy_gettext("Kazakh")}
DECISION_ERRORS = {
    "reason_required": lazy_gettext("a rejection needs a reason code"),
    "no_such_action": lazy_gettext("there is no such action of yours to undo"),
    "already_undone": lazy_gettext("this action was already undone"),
    "too_late": lazy_gettext("too late to undo this action"),
    "unknown_action": lazy_gettext("Unknown action."),
    "invalid_reader_reason": lazy_gettext(
        "the reason for the reader may be at most 600 characters, without control characters"
    ),
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
site_model_state_label = _lookup(SITE_MODEL_STATES)
verdict_label = _lookup(VERDICTS)
language_label = _lookup(LANGUAGES)


def decision_error(error: DecisionError) -> str:
    """Why a decision was refused, in the reader's language."""
    if error.code == "unknown_reason":
        return _("unknown reason code %(code)s", code=error.params.get("reason_code", ""))
    message = DECISION_ERRORS.get(error.code)
    return str(message) if message is not None else str(error)


def _number(value: Any) -> str:
    return number(value)


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
        reasons.BANNED_WORD: lambda: _("contains the banned word “%(word)s”", word=isolate(p["word"])),
        reasons.SUSPECT_WORD: lambda: _("contains the suspect word “%(word)s”", word=isolate(p["word"])),
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


# -- site models: the promotion guard's reasons -------------------------------------------------------
# The guard (`moderation.domain.learning.GuardReason`) records `{"code", "params", "detail"}`; the page
# words each code in the reader's language and shows the English `detail` for a code it does not know.


def guard_reason_code(reason: Any) -> tuple[str, dict[str, str]] | None:
    """A recorded guard reason as (code, params), or None when it has no code."""
    if isinstance(reason, Mapping):
        code, params = reason.get("code"), reason.get("params")
        if isinstance(code, str) and isinstance(params, Mapping):
            return code, {str(k): str(v) for k, v in params.items()}
    return None


def _auc(raw: str) -> str:
    return number(raw, "0.000")


def guard_reason(reason: Any) -> str:
    """One reason of the promotion guard, in the reader's language."""
    found = guard_reason_code(reason)
    fallback = str(reason.get("detail", reason)) if isinstance(reason, Mapping) else str(reason)
    if found is None:
        return fallback
    code, p = found
    try:
        texts: dict[str, Callable[[], str]] = {
            "slice_one_kind": lambda: _(
                "the held-back newest decisions are all of one kind: nothing to measure the model on"
            ),
            "not_above_chance": lambda: _(
                "held-back AUC %(auc)s is not above chance on %(slice)s held-back labels "
                "(lower end of the 95 %% interval: %(low)s)",
                auc=_auc(p["auc"]),
                slice=int(p["slice"]),
                low=_auc(p["low"]),
            ),
            "below_floor": lambda: _(
                "held-back AUC %(auc)s is below the floor of %(floor)s",
                auc=_auc(p["auc"]),
                floor=_number(p["floor"]),
            ),
            "first_beats_generic": lambda: _(
                "first site model: held-back AUC %(auc)s beats the generic toxicity score (%(generic)s)",
                auc=_auc(p["auc"]),
                generic=_auc(p["generic"]),
            ),
            "not_beats_generic": lambda: _(
                "held-back AUC %(auc)s does not beat the generic toxicity score (%(generic)s)",
                auc=_auc(p["auc"]),
                generic=_auc(p["generic"]),
            ),
            "slice_holds": lambda: _(
                "held-back AUC %(auc)s against %(active)s for the active model",
                auc=_auc(p["auc"]),
                active=_auc(p["active"]),
            ),
            "public_below_floor": lambda: _(
                "public validation set %(name)s: AUC %(auc)s is below the floor of %(floor)s; the model "
                "no longer tells offensive from civil comments",
                name=p["name"],
                auc=_auc(p["auc"]),
                floor=_number(p["floor"]),
            ),
            "public_drifted": lambda: _(
                "note: on the public validation set %(name)s the AUC fell to %(auc)s from %(active)s "
                "(still above the floor of %(floor)s; the site's own standard weighs more)",
                name=p["name"],
                auc=_auc(p["auc"]),
                active=_auc(p["active"]),
                floor=_number(p["floor"]),
            ),
            "auc_dropped": lambda: (
                _(
                    "held-back AUC %(auc)s is more than %(tolerance)s below the active model's %(active)s",
                    auc=_auc(p["auc"]),
                    active=_auc(p["active"]),
                    tolerance=_number(p["tolerance"]),
                )
                if p["name"] == "slice"
                else _(
                    "public validation set %(name)s: AUC %(auc)s is more than %(tolerance)s below the "
                    "active model's %(active)s",
                    name=p["name"],
                    auc=_auc(p["auc"]),
                    active=_auc(p["active"]),
                    tolerance=_number(p["tolerance"]),
                )
            ),
            "too_few_labels": lambda: _(
                "%(labels)s labels (%(rejected)s rejected): at least %(min_labels)s are needed, "
                "%(per_class)s of each kind",
                labels=int(p["labels"]),
                rejected=int(p["rejected"]),
                min_labels=int(p["min_labels"]),
                per_class=int(p["per_class"]),
            ),
        }
        return texts[code]() if code in texts else fallback
    except (KeyError, TypeError, ValueError):
        return fallback


# -- drift warnings ------------------------------------------------------------------------------------


def _rate(value: float) -> str:
    return f"{number(value * 100, '0.#')} %"


def drift_warning(site: str, warning: DriftWarning) -> str:
    """A drift warning (`moderation.domain.drift`) as a sentence naming its site."""
    p = warning.params
    if warning.code == drift.OVERRIDE_RATE_UP:
        return _(
            "%(site)s: moderators reversed %(recent)s of the model's approve and reject decisions in the "
            "last %(recent_days)d days, against %(baseline)s in the %(baseline_days)d days before "
            "(%(recent_decisions)d and %(baseline_decisions)d decisions).",
            site=site,
            recent=_rate(p["recent_rate"]),
            baseline=_rate(p["baseline_rate"]),
            recent_days=int(p["recent_days"]),
            baseline_days=int(p["baseline_days"]),
            recent_decisions=int(p["recent_decisions"]),
            baseline_decisions=int(p["baseline_decisions"]),
        )
    if warning.code == drift.SCORE_MOVED:
        return _(
            "%(site)s: the mean %(score)s score was %(recent)s in the last %(recent_days)d days, against "
            "%(baseline)s in the %(baseline_days)d days before.",
            site=site,
            score=attribute_label(str(p["score"])),
            recent=_number(p["recent_mean"]),
            baseline=_number(p["baseline_mean"]),
            recent_days=int(p["recent_days"]),
            baseline_days=int(p["baseline_days"]),
        )
    return f"{site}: {warning.code}"


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
        "site_model_state_label": site_model_state_label,
        "verdict_label": verdict_label,
        "language_label": language_label,
        "guard_reason": guard_reason,
        "auc": lambda value: _auc(str(value)),
        "score": number,
        "day": lambda value: str(format_date(value, "medium")),
    }.items():
        app.jinja_env.filters[name] = function
    app.jinja_env.globals["drift_warning"] = drift_warning
