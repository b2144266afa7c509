"""Why the policy decided as it did: a code and structured values, rendered to words only at the edge.

Stored and sent as `{"code", "params"}`; the API adds the English `detail` (`describe`), the dashboard
renders its own sentence per code in the reader's language from the same params. Nothing parses a
rendered sentence back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from moderation.domain import attributes
from moderation.domain.enums import Action

BELOW_THRESHOLDS = "below_thresholds"
BANNED_WORD = "banned_word"
SUSPECT_WORD = "suspect_word"
LINK_FROM_NEW_AUTHOR = "link_from_new_author"
COORDINATED_POSTING = "coordinated_posting"
UNSUPPORTED_LANGUAGE = "unsupported_language"
SCORING_FAILED = "scoring_failed"
BANDS = ("hold", "reject")


@dataclass(frozen=True)
class Reason:
    code: str
    action: Action
    params: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "params": dict(self.params)}

    @property
    def detail(self) -> str:
        return describe(self.to_dict())


def score_band(attribute: str, band: str, score: float, threshold: float, action: Action) -> Reason:
    """`toxicity_reject`, `threat_hold`, ...: a score at or above one of the site's thresholds."""
    return Reason(
        f"{attribute}_{band}", action, {"attribute": attribute, "score": score, "threshold": threshold}
    )


def below_thresholds(compared: list[tuple[str, float, float]]) -> Reason:
    """Approval: each summary score with the hold threshold it stayed under."""
    return Reason(
        BELOW_THRESHOLDS,
        Action.APPROVE,
        {"scores": [{"attribute": a, "score": s, "threshold": t} for a, s, t in compared]},
    )


def banned_word(word: str, start: int | None = None, end: int | None = None) -> Reason:
    """`word` as listed; `start`, `end`: where the comment has it (perhaps disguised), as a range of it."""
    return Reason(BANNED_WORD, Action.REJECT, _word_params(word, start, end))


def suspect_word(word: str, start: int | None = None, end: int | None = None) -> Reason:
    return Reason(SUSPECT_WORD, Action.HOLD, _word_params(word, start, end))


def _word_params(word: str, start: int | None, end: int | None) -> dict[str, Any]:
    if start is None or end is None:
        return {"word": word}
    return {"word": word, "start": start, "end": end}


def link_from_new_author(link: str) -> Reason:
    return Reason(LINK_FROM_NEW_AUTHOR, Action.HOLD, {"link": link})


def coordinated_posting(copies: int, authors: int) -> Reason:
    return Reason(COORDINATED_POSTING, Action.HOLD, {"copies": copies, "authors": authors})


def unsupported_language(lang: str) -> Reason:
    return Reason(UNSUPPORTED_LANGUAGE, Action.HOLD, {"lang": lang})


def scoring_failed(fallback: Action) -> Reason:
    return Reason(SCORING_FAILED, fallback, {"fallback": fallback.value})


def score_band_of(code: str) -> tuple[str, str] | None:
    """`("toxicity", "reject")` for `toxicity_reject`; None for codes that are not score bands."""
    for band in BANDS:
        name = code.removesuffix(f"_{band}")
        if name != code and attributes.get(name) is not None:
            return name, band
    return None


def describe(reason: Mapping[str, Any]) -> str:
    """The English sentence for a stored reason (the API's `detail`).

    A reason stored before reasons had params keeps the sentence it was stored with.
    """
    code = str(reason.get("code", ""))
    params = reason.get("params")
    if not isinstance(params, Mapping):
        return str(reason.get("detail") or code)
    try:
        return _english(code, params)
    except (KeyError, TypeError, ValueError):
        return str(reason.get("detail") or code)


def _english(code: str, p: Mapping[str, Any]) -> str:
    band = score_band_of(code)
    if band is not None:
        return f"{p['attribute']} {float(p['score']):.2f} >= {band[1]} threshold {float(p['threshold']):.2f}"
    if code == BELOW_THRESHOLDS:
        parts = [
            f"{s['attribute']} {float(s['score']):.2f} < {float(s['threshold']):.2f}" for s in p["scores"]
        ]
        return "all scores below hold thresholds: " + ", ".join(parts)
    if code == BANNED_WORD:
        return f"matched banned word '{p['word']}'"
    if code == SUSPECT_WORD:
        return f"matched suspect word '{p['word']}'"
    if code == LINK_FROM_NEW_AUTHOR:
        return f"first comment of this author contains a link: {p['link']}"
    if code == COORDINATED_POSTING:
        return (
            f"nearly the same text as at least {int(p['copies'])} recent comments "
            f"by {int(p['authors'])} other authors"
        )
    if code == UNSUPPORTED_LANGUAGE:
        return f"language '{p['lang']}' is not one our models cover"
    if code == SCORING_FAILED:
        return f"the model could not score this comment; fallback is {p['fallback']}"
    raise KeyError(code)


def for_api(reason: Mapping[str, Any]) -> dict[str, Any]:
    """A stored reason as the API shows it: code, English detail and, when known, the params."""
    out: dict[str, Any] = {"code": str(reason.get("code", "")), "detail": describe(reason)}
    if isinstance(reason.get("params"), Mapping):
        out["params"] = dict(reason["params"])
    return out
