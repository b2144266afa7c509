"""Perspective API's vocabulary on our scores: its requests read, its answers built, its refusals worded.

Sites that called Google's Perspective API (`comments:analyze`, `comments:suggestscore`) switch to us by
changing the URL. Its attributes map onto ours one to one, except SEVERE_TOXICITY (see `severe_toxicity`);
PROPAGANDA and SITE_REJECT are ours. Everything here is pure: the web layer parses and answers with it,
the workers score what it asks for.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MAX_TEXT_CHARS = 10_000
# Perspective's attribute -> our score. SEVERE_TOXICITY is derived (`severe_toxicity`), not a score.
ATTRIBUTE_SCORES: Mapping[str, str] = {
    "TOXICITY": "toxicity",
    "INSULT": "insult",
    "PROFANITY": "profanity",
    "THREAT": "threat",
    "IDENTITY_ATTACK": "identity_attack",
    "PROPAGANDA": "propaganda",
    "SITE_REJECT": "site_reject",
}
SEVERE_TOXICITY = "SEVERE_TOXICITY"
SITE_REJECT = "SITE_REJECT"
SUPPORTED_ATTRIBUTES: tuple[str, ...] = (
    "TOXICITY",
    SEVERE_TOXICITY,
    "INSULT",
    "PROFANITY",
    "THREAT",
    "IDENTITY_ATTACK",
    "PROPAGANDA",
    SITE_REJECT,
)
# The languages the model was trained on. Perspective refuses a request naming a language an attribute
# does not read; so do we (without `languages`, any text is scored and its language detected).
SUPPORTED_LANGUAGES: tuple[str, ...] = ("de", "en")
SCORE_TYPE = "PROBABILITY"
DEFAULT_ARTICLE = "perspective"
DEFAULT_AUTHOR = "perspective-client"
MAX_TOKEN_CHARS = 200
# Control characters other than tab, line feed and carriage return are replaced by a space: never part of
# a comment, and PostgreSQL cannot store NUL. One for one, so span offsets still point into the request.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# A sentence ends at ., !, ? or … (one or more, closing quotes and brackets included) before white space,
# or at a line break.
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s)|\n")
_LANG_TAG = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$")


class PerspectiveError(ValueError):
    """A request Perspective would refuse with 400 INVALID_ARGUMENT; the message is for the client."""


def severe_toxicity(values: Mapping[str, float]) -> float:
    """SEVERE_TOXICITY, derived: we have no head trained on Perspective's "very hateful, aggressive"
    label. A comment is severely toxic here when it is toxic and also threatens, attacks an identity, or
    insults with profanity: toxicity x max(threat, identity_attack, insult x profanity). A plain insult
    ("idiot") stays low, as Perspective's SEVERE_TOXICITY does; it is a ranking, not a calibrated
    probability of Perspective's definition, so thresholds tuned on Perspective need re-tuning."""
    toxicity = float(values.get("toxicity", 0.0))
    worst = max(
        float(values.get("threat", 0.0)),
        float(values.get("identity_attack", 0.0)),
        float(values.get("insult", 0.0)) * float(values.get("profanity", 0.0)),
    )
    return round(toxicity * worst, 4)


def attribute_value(attribute: str, values: Mapping[str, float | None]) -> float | None:
    """Perspective's attribute from our scores (None where we have none, e.g. no site model)."""
    if attribute == SEVERE_TOXICITY:
        known = {k: v for k, v in values.items() if v is not None}
        return severe_toxicity(known) if "toxicity" in known else None
    value = values.get(ATTRIBUTE_SCORES[attribute])
    return None if value is None else float(value)


@dataclass(frozen=True)
class Requested:
    """One requested attribute: Perspective's `scoreType` (only PROBABILITY) and `scoreThreshold`."""

    name: str
    threshold: float | None = None


@dataclass(frozen=True)
class AnalyzeRequest:
    text: str
    attributes: tuple[Requested, ...]
    languages: tuple[str, ...] = ()
    spans: bool = False
    do_not_store: bool = False
    client_token: str | None = None
    session_id: str | None = None
    community_id: str | None = None

    @property
    def article_id(self) -> str:
        return _identifier(self.community_id) or DEFAULT_ARTICLE

    @property
    def author_id(self) -> str:
        return _identifier(self.session_id) or DEFAULT_AUTHOR

    def metadata(self) -> dict[str, Any]:
        """What a stored comment keeps of the request besides its text (the context is not kept)."""
        out: dict[str, Any] = {"via": "perspective"}
        if self.client_token is not None:
            out["client_token"] = self.client_token
        if self.community_id is not None:
            out["community_id"] = self.community_id
        return out


def _identifier(value: str | None) -> str | None:
    """A caller's id usable as our article or author id (1 to 200 characters, no control characters)."""
    if value is None or not value.strip() or len(value) > MAX_TOKEN_CHARS or _CONTROL.search(value):
        return None
    return value


def _object(body: Any, name: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise PerspectiveError(f"Invalid value at '{name}': expected an object.")
    return body


def _string(body: Mapping[str, Any], key: str, where: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise PerspectiveError(f"Invalid value at '{where}' ({type(value).__name__}): expected a string.")
    if len(value) > MAX_TOKEN_CHARS:
        raise PerspectiveError(f"'{where}' may be at most {MAX_TOKEN_CHARS} characters long.")
    return _CONTROL.sub(" ", value)


def _bool(body: Mapping[str, Any], key: str) -> bool:
    value = body.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise PerspectiveError(f"Invalid value at '{key}': expected true or false.")
    return value


def comment_text(body: Mapping[str, Any]) -> str:
    """`comment.text`: required, non-empty, at most `MAX_TEXT_CHARS`, PLAIN_TEXT only (as Perspective)."""
    comment = _object(body.get("comment"), "comment") if "comment" in body else None
    if comment is None:
        raise PerspectiveError("Comment must be specified: 'comment.text' is required.")
    kind = comment.get("type", "PLAIN_TEXT")
    if kind == "HTML":
        raise PerspectiveError("Comment type HTML is not supported; send PLAIN_TEXT.")
    if kind not in ("PLAIN_TEXT", None):
        raise PerspectiveError(f"Invalid value at 'comment.type': {str(kind)[:40]!r} (use PLAIN_TEXT).")
    text = comment.get("text")
    if not isinstance(text, str):
        raise PerspectiveError("Comment text must be a string: 'comment.text' is required.")
    if not text.strip():
        raise PerspectiveError("Comment must be non-empty.")
    if len(text) > MAX_TEXT_CHARS:
        raise PerspectiveError(
            f"Comment text too long: {len(text)} characters; at most {MAX_TEXT_CHARS} are accepted."
        )
    return _CONTROL.sub(" ", text)


def languages(body: Mapping[str, Any]) -> tuple[str, ...]:
    """Requested languages as primary subtags (`en-US` -> `en`); one we do not read is refused."""
    raw = body.get("languages")
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise PerspectiveError("Invalid value at 'languages': expected a list of language codes.")
    out: list[str] = []
    for item in raw[:20]:
        if not _LANG_TAG.fullmatch(item):
            raise PerspectiveError(f"Invalid language code {item[:20]!r} at 'languages'.")
        primary = re.split(r"[-_]", item)[0].lower()
        if primary not in out:
            out.append(primary)
    unsupported = [lang for lang in out if lang not in SUPPORTED_LANGUAGES]
    if unsupported:
        raise PerspectiveError(
            f"Attribute TOXICITY does not support request languages: {', '.join(unsupported)}. "
            f"Supported: {', '.join(SUPPORTED_LANGUAGES)}."
        )
    return tuple(out)


def _threshold(value: Any, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise PerspectiveError(
            f"Invalid value at 'requested_attributes[{name}].score_threshold': a number from 0 to 1."
        )
    return float(value)


def requested_attributes(
    body: Mapping[str, Any], *, site_reject_available: bool, drop_unsupported: bool
) -> tuple[Requested, ...]:
    """`requestedAttributes`, as Perspective reads it: an attribute we do not score is refused, or left
    out with `dropUnsupportedAttributes`; SITE_REJECT is unsupported while the site has no site model."""
    raw = _object(body.get("requestedAttributes"), "requested_attributes")
    if not raw:
        raise PerspectiveError("Must request at least one attribute.")
    out = []
    for name, options in raw.items():
        supported = name in SUPPORTED_ATTRIBUTES and (name != SITE_REJECT or site_reject_available)
        if not supported:
            if drop_unsupported:
                continue
            extra = " (this site has no site model yet)" if name == SITE_REJECT else ""
            raise PerspectiveError(
                f"Requested attribute {name[:60]} is not supported{extra}; supported attributes: "
                f"{', '.join(SUPPORTED_ATTRIBUTES)}."
            )
        options = _object(options if options is not None else {}, f"requested_attributes[{name}]")
        kind = options.get("scoreType", SCORE_TYPE)
        if kind not in (SCORE_TYPE, None):
            raise PerspectiveError(f"Score type {str(kind)[:40]} is not supported; use {SCORE_TYPE}.")
        out.append(Requested(name, _threshold(options.get("scoreThreshold"), name)))
    if not out:
        raise PerspectiveError("None of the requested attributes is supported.")
    return tuple(out)


def parse_analyze(body: Any, *, site_reject_available: bool) -> AnalyzeRequest:
    """Perspective's `AnalyzeCommentRequest`; raises `PerspectiveError` with Perspective-like messages.

    `context`, `sessionId` and `communityId` are tolerated; unknown top-level fields too (Google's
    servers ignore what they do not know)."""
    body = _object(body, "request")
    return AnalyzeRequest(
        text=comment_text(body),
        attributes=requested_attributes(
            body,
            site_reject_available=site_reject_available,
            drop_unsupported=_bool(body, "dropUnsupportedAttributes"),
        ),
        languages=languages(body),
        spans=_bool(body, "spanAnnotations"),
        do_not_store=_bool(body, "doNotStore"),
        client_token=_string(body, "clientToken", "client_token"),
        session_id=_string(body, "sessionId", "session_id"),
        community_id=_string(body, "communityId", "community_id"),
    )


@dataclass(frozen=True)
class Suggestion:
    """A `comments:suggestscore` request: the site's own view of a comment, kept as a training label."""

    text: str
    action: str  # "reject" or "approve"
    reason: str
    languages: tuple[str, ...]
    client_token: str | None
    session_id: str | None
    community_id: str | None

    @property
    def author_id(self) -> str | None:
        return _identifier(self.session_id)

    @property
    def article_id(self) -> str | None:
        return _identifier(self.community_id)


# A suggested score of at least this means "our moderators would not publish this".
SUGGESTION_REJECTS_AT = 0.5


def parse_suggestion(body: Any) -> Suggestion:
    """Perspective's `SuggestCommentScoreRequest`. The label is a rejection when any suggested attribute
    is at least 0.5 (Perspective's scores are probabilities), else an approval; `reason` names the
    suggested attributes and values."""
    body = _object(body, "request")
    text = comment_text(body).strip()
    scores = _object(body.get("attributeScores"), "attribute_scores")
    if not scores:
        raise PerspectiveError("Must suggest a score for at least one attribute.")
    values: dict[str, float] = {}
    for name, item in scores.items():
        if name not in SUPPORTED_ATTRIBUTES:
            raise PerspectiveError(f"Requested attribute {name[:60]} is not supported.")
        summary = _object(_object(item, f"attribute_scores[{name}]").get("summaryScore"), "summary_score")
        value = summary.get("value")
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise PerspectiveError(
                f"Invalid value at 'attribute_scores[{name}].summary_score.value': a number from 0 to 1."
            )
        values[name] = float(value)
    rejected = any(value >= SUGGESTION_REJECTS_AT for value in values.values())
    reason = "suggested " + ", ".join(f"{name}={value:g}" for name, value in sorted(values.items()))
    return Suggestion(
        text=text,
        action="reject" if rejected else "approve",
        reason=reason[:200],
        languages=languages(body),
        client_token=_string(body, "clientToken", "client_token"),
        session_id=_string(body, "sessionId", "session_id"),
        community_id=_string(body, "communityId", "community_id"),
    )


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(begin, end) of each sentence of `text`, white space trimmed, as Perspective's span scores are
    given per sentence. Offsets count code points (Python string indices)."""
    spans = []
    start = 0
    for match in [*_SENTENCE_END.finditer(text), None]:
        end = match.end() if match is not None else len(text)
        piece = text[start:end]
        stripped = piece.strip()
        if stripped:
            begin = start + (len(piece) - len(piece.lstrip()))
            spans.append((begin, begin + len(stripped)))
        start = end
    return spans


def _score(value: float) -> dict[str, Any]:
    return {"value": value, "type": SCORE_TYPE}


def detected_languages(lang: str | None) -> list[str]:
    """Our detected language (`de`, `en+kk` for a mixed comment) as Perspective's list; `other` and
    `und` (nothing to tell) are no language codes and are left out."""
    if not lang:
        return []
    return [part for part in lang.split("+") if part not in ("other", "und")]


def analyze_response(
    request: AnalyzeRequest,
    values: Mapping[str, float | None],
    lang: str | None,
    sentences: Sequence[tuple[tuple[int, int], Mapping[str, float | None]]] = (),
) -> dict[str, Any]:
    """Perspective's `AnalyzeCommentResponse`: each requested attribute's summary score (left out below
    its `scoreThreshold`), its per-sentence span scores when asked, the languages, the client token."""
    scores: dict[str, Any] = {}
    for wanted in request.attributes:
        value = attribute_value(wanted.name, values)
        if value is None or (wanted.threshold is not None and value < wanted.threshold):
            continue
        entry: dict[str, Any] = {}
        if request.spans:
            spans = []
            for (begin, end), sentence_values in sentences:
                span_value = attribute_value(wanted.name, sentence_values)
                if span_value is None or (wanted.threshold is not None and span_value < wanted.threshold):
                    continue
                spans.append({"begin": begin, "end": end, "score": _score(span_value)})
            entry["spanScores"] = spans
        entry["summaryScore"] = _score(value)
        scores[wanted.name] = entry
    detected = detected_languages(lang)
    out: dict[str, Any] = {
        "attributeScores": scores,
        "languages": list(request.languages) or detected,
        "detectedLanguages": detected,
    }
    if request.client_token is not None:
        out["clientToken"] = request.client_token
    return out
