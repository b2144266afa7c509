"""What the author of a held or rejected comment is told, in German and English.

The EU Digital Services Act (Art. 17) asks for a statement of reasons when a post is restricted: what
was decided, on what grounds, whether automated means were used, and that the decision can be
contested. The reasons the policy and the moderators record (`moderation.domain.reasons`,
`ReasonCode`) are for moderators; this module turns them into a few polite sentences for the reader.

It never shows scores, thresholds or model details (they would help a spammer probe the model), and
never quotes a matched word (it would repeat the insult, or teach how to dodge the list). A moderator
may word the reason themselves; their wording then replaces the derived one, language by language.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from moderation.domain import reasons
from moderation.domain.enums import Action, ReasonCode, Source

LANGUAGES = ("de", "en")
# A moderator's wording is shown to readers as it is; long enough for a few sentences, no essay.
MAX_LENGTH = 600
# At most this many grounds are named: the strongest come first, and a reader needs no full list.
MAX_GROUNDS = 3

ReaderReason = dict[str, str]

_LEAD: dict[Action, tuple[str, str]] = {
    Action.HOLD: (
        "Ihr Kommentar wird vor der Veröffentlichung von der Redaktion geprüft.",
        "Your comment will be reviewed by our editors before it is published.",
    ),
    Action.REJECT: (
        "Ihr Kommentar wurde nicht veröffentlicht.",
        "Your comment was not published.",
    ),
}
_CLOSING: dict[Action, tuple[str, str]] = {
    Action.HOLD: (
        "Das kann etwas dauern; Sie müssen nichts weiter tun.",
        "This may take a little while; there is nothing more you need to do.",
    ),
    Action.REJECT: (
        "Für alle Kommentare gelten unsere Diskussionsregeln. "
        "Wenn Sie meinen, dass dies ein Irrtum ist, wenden Sie sich an die Redaktion.",
        "Our discussion rules apply to every comment. "
        "If you think this is a mistake, please contact the editors.",
    ),
}

# What an attribute (a model score) or a moderator's reason code found, as an accusative phrase.
_FOUND: dict[str, tuple[str, str]] = {
    "toxicity": ("beleidigende oder herabsetzende Sprache", "abusive or demeaning language"),
    "insult": ("eine persönliche Beleidigung", "a personal insult"),
    "profanity": ("vulgäre Ausdrücke", "vulgar language"),
    "threat": ("eine Drohung", "a threat"),
    "identity_attack": (
        "einen Angriff auf Menschen wegen ihrer Herkunft, Religion oder anderer Merkmale",
        "an attack on people because of their origin, religion or other traits",
    ),
    "propaganda": ("Desinformation oder Propaganda-Erzählungen", "disinformation or propaganda narratives"),
    "spam": ("Werbung oder Spam", "advertising or spam"),
    "site_reject": (
        "Inhalte, die nicht den Standards dieser Seite entsprechen",
        "content that does not meet this site's standards",
    ),
}

# The policy's rules, one sentence each. None of them names the word, link or language it matched.
_RULES: dict[str, tuple[str, str]] = {
    reasons.BANNED_WORD: (
        "Er enthält einen Ausdruck, den diese Seite nicht zulässt.",
        "It contains an expression this site does not allow.",
    ),
    reasons.SUSPECT_WORD: (
        "Er enthält einen Ausdruck, den sich die Redaktion vor der Veröffentlichung ansieht.",
        "It contains an expression our editors look at before publication.",
    ),
    reasons.LINK_FROM_NEW_AUTHOR: (
        "Erste Kommentare mit Links sieht sich die Redaktion an, bevor sie erscheinen.",
        "Our editors look at first comments with links before they appear.",
    ),
    reasons.COORDINATED_POSTING: (
        "Sehr ähnliche Texte wurden kürzlich mehrfach eingereicht.",
        "Very similar texts were submitted several times recently.",
    ),
    reasons.UNSUPPORTED_LANGUAGE: (
        "Kommentare in dieser Sprache kann unsere automatische Prüfung nicht lesen.",
        "Our automatic check cannot read comments in this language.",
    ),
    reasons.SCORING_FAILED: (
        "Unsere automatische Prüfung war vorübergehend nicht verfügbar.",
        "Our automatic check was temporarily unavailable.",
    ),
}

# A moderator's reason codes that are no attribute.
_MODERATOR: dict[str, tuple[str, str]] = {
    ReasonCode.OFF_TOPIC: (
        "Er gehört nicht zum Thema des Artikels.",
        "It is not about the article's topic.",
    ),
    ReasonCode.OTHER: (
        "Er verstößt gegen unsere Diskussionsregeln.",
        "It breaks our discussion rules.",
    ),
}


def _model_sentence(attribute: str, action: Action) -> tuple[str, str] | None:
    found = _FOUND.get(attribute)
    if found is None:
        return None
    if action is Action.REJECT:
        return (
            f"Unsere automatische Prüfung hat darin {found[0]} erkannt.",
            f"In your comment, our automatic check found {found[1]}.",
        )
    return (
        f"Unsere automatische Prüfung hat darin Hinweise auf {found[0]} gefunden.",
        f"In your comment, our automatic check found signs of {found[1]}.",
    )


def _moderator_sentence(reason_code: str | None) -> tuple[str, str] | None:
    if reason_code is None:
        return None
    found = _FOUND.get(reason_code)
    if found is not None:
        return (
            f"Die Redaktion hat darin {found[0]} festgestellt.",
            f"In your comment, our editors found {found[1]}.",
        )
    return _MODERATOR.get(reason_code)


def _reason_sentence(reason: Mapping[str, Any]) -> tuple[str, str] | None:
    """The sentence for one stored policy reason; None for one that explains nothing to a reader
    (an approval) or a code this version does not know."""
    code = str(reason.get("code", ""))
    band = reasons.score_band_of(code)
    if band is not None:
        return _model_sentence(band[0], Action(band[1]))
    return _RULES.get(code)


def _action_of(reason: Mapping[str, Any]) -> Action | None:
    """The action a stored policy reason asks for (`Reason.action`, which storage does not keep)."""
    code = str(reason.get("code", ""))
    band = reasons.score_band_of(code)
    if band is not None:
        return Action(band[1])
    if code == reasons.BANNED_WORD:
        return Action.REJECT
    if code == reasons.SCORING_FAILED:
        params = reason.get("params")
        fallback = params.get("fallback") if isinstance(params, Mapping) else None
        return Action(fallback) if fallback in {a.value for a in Action} else None
    return Action.HOLD if code in _RULES else None


def _grounds(
    action: Action, source: str, stored_reasons: Iterable[Mapping[str, Any]], reason_code: str | None
) -> list[tuple[str, str]]:
    """The sentences for the reasons that carried the decision: a rejection names what rejected it, not
    what would only have held it."""
    if source == Source.MODERATOR:
        sentence = _moderator_sentence(reason_code)
        return [] if sentence is None else [sentence]
    out: list[tuple[str, str]] = []
    for reason in stored_reasons:
        sentence = _reason_sentence(reason)
        if sentence is not None and sentence not in out and _action_of(reason) is action:
            out.append(sentence)
    return out[:MAX_GROUNDS]


def derive(
    action: str,
    source: str,
    stored_reasons: Iterable[Mapping[str, Any]] = (),
    reason_code: str | None = None,
) -> ReaderReason | None:
    """The reader-facing reason for a decision: None for an approval (and an action it does not know).

    `stored_reasons` are the decision's policy reasons (`{"code", "params"}`, strongest first) and
    `reason_code` a moderator's `ReasonCode`: the grounds come from the reasons for a model or rule
    decision, from the code for a moderator's.
    """
    try:
        decided = Action(action)
    except ValueError:
        return None
    if decided is Action.APPROVE:
        return None
    parts = [_LEAD[decided], *_grounds(decided, source, stored_reasons, reason_code), _CLOSING[decided]]
    return {lang: " ".join(part[index] for part in parts) for index, lang in enumerate(LANGUAGES)}


def for_decision(
    action: str,
    source: str,
    stored_reasons: Iterable[Mapping[str, Any]] = (),
    reason_code: str | None = None,
    edited: Mapping[str, Any] | None = None,
) -> ReaderReason | None:
    """What readers see for a decision: the derived reason, with a moderator's wording (`edited`,
    `{"de"?, "en"?}`) in place of each language they wrote. Still None for an approval."""
    derived = derive(action, source, stored_reasons, reason_code)
    if derived is None:
        return None
    for lang in LANGUAGES:
        value = (edited or {}).get(lang)
        if isinstance(value, str) and value.strip():
            derived[lang] = value.strip()
    return derived


def clean_edit(values: Mapping[str, str | None] | None) -> ReaderReason | None:
    """A moderator's wording as stored: the languages they wrote, trimmed; None if they wrote none.

    Raises ValueError (naming the language) for a text longer than `MAX_LENGTH` or with control
    characters other than line breaks: it is shown to readers as it is.
    """
    out: ReaderReason = {}
    for lang in LANGUAGES:
        value = ((values or {}).get(lang) or "").strip()
        if not value:
            continue
        if len(value) > MAX_LENGTH:
            raise ValueError(f"the {lang} reader reason may be at most {MAX_LENGTH} characters")
        if any(unicodedata.category(ch) == "Cc" and ch not in "\n\r\t" for ch in value):
            raise ValueError(f"the {lang} reader reason contains control characters")
        out[lang] = value
    return out or None
