"""Banned and suspect words are found however they are disguised, with the disguised spelling's range.

The rules read comments as the models do (`classifiers.normalize.normalise`, handed to the policy by
`moderation.store.facts`). Every word of the shipped lexicon (insults, profanity, slurs in German,
English and Russian) is banned in turn and written in spellings hypothesis draws (`tests.disguises`).
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classifiers.normalize import CATALOGUE_DIR, normalise
from moderation.domain.enums import Action, Source
from moderation.domain.policy import CommentFacts, SitePolicy, decide
from moderation.domain.words import find_word
from moderation.store.facts import offline_facts
from tests.disguises import PDF, RLO, Disguise, disguised

CALM = {"toxicity": 0.05, "propaganda": 0.05, "spam": 0.01, "threat": 0.0, "identity_attack": 0.0}
_LEXICON = json.loads((CATALOGUE_DIR / "lexicon.json").read_text(encoding="utf-8"))
# As listed ("scheiße", "blöd"), the way a site would type them into its list.
WORDS = list(
    dict.fromkeys(w for key in ("insult", "profanity", "slur") for ws in _LEXICON[key].values() for w in ws)
)
# Around the word: nothing, or a sentence (the word rules look for whole words).
CONTEXTS = ["{}", "Du bist ein {}!", "So ein {}, echt.", "You {}.", "\u0422\u044b {}!", "{}\n\nMfG"]


def _covers(text: str, start: int, end: int, region: tuple[int, int]) -> bool:
    """The range lies in the disguised word and leaves none of its letters or digits out."""
    left, right = region
    return left <= start < end <= right and not any(ch.isalnum() for ch in text[left:start] + text[end:right])


@pytest.mark.parametrize("word", WORDS)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_banned_word_is_found_in_disguise(word: str, data: st.DataObject) -> None:
    spelling: Disguise = data.draw(disguised(word), label="spelling")
    context = data.draw(st.sampled_from(CONTEXTS), label="context")
    text = context.format(spelling.text)
    region = (context.index("{}"), context.index("{}") + len(spelling.text))

    verdict = decide(CALM, offline_facts(text, "de"), SitePolicy(banned_words=(word,)))

    assert verdict.action is Action.REJECT, (spelling.how, normalise(text).text)
    assert verdict.source is Source.RULE
    reason = verdict.reasons[0]
    assert reason.code == "banned_word" and reason.params["word"] == word
    assert _covers(text, reason.params["start"], reason.params["end"], region), (
        spelling.how,
        text[reason.params["start"] : reason.params["end"]],
    )


@settings(max_examples=60, deadline=None)
@given(word=st.sampled_from([w for w in WORDS if len(w) >= 4]), data=st.data())
def test_a_disguised_suspect_word_holds(word: str, data: st.DataObject) -> None:
    spelling = data.draw(disguised(word), label="spelling")
    text = f"Na, {spelling.text}?"
    verdict = decide(CALM, offline_facts(text, "de"), SitePolicy(suspect_words=(word.upper(),)))
    assert verdict.action is Action.HOLD, (spelling.how, normalise(text).text)
    reason = verdict.reasons[0]
    assert reason.code == "suspect_word"
    assert _covers(text, reason.params["start"], reason.params["end"], (4, 4 + len(spelling.text)))


@pytest.mark.parametrize(
    ("text", "found"),
    [
        # The spellings of the report that started this.
        ("Du Hur3ns0hn", "Hur3ns0hn"),
        ("Du H u r e n s o h n", "H u r e n s o h n"),
        (f"{RLO}nhosneruH ud{PDF}", "nhosneruH"),
        ("Du Hu\u00adren\u200bsohn", "Hu\u00adren\u200bsohn"),
        ("Du H\u0336u\u0336r\u0336ensohn", "H\u0336u\u0336r\u0336ensohn"),
        # A quoted comment and a link are read as placeholders by the models; the rule still reads them.
        ("> Du Hurensohn\nDas schreibt der hier.", "Hurensohn"),
        ("Siehe hurensohn.example.de", "hurensohn"),
    ],
)
def test_the_rule_reports_the_range_of_the_original_spelling(text: str, found: str) -> None:
    match = find_word(["Hurensohn"], text, normalise)
    assert match is not None
    assert match.word == "Hurensohn"
    assert text[match.start : match.end] == found


@pytest.mark.parametrize(
    "text",
    [
        "Hurensöhne gibt es nicht",  # another word
        "Der Hurensohnvergleich",  # inside a longer word
        "H u r e n s o h n e",  # spaced, but longer
        "Es waren 100 Hunde",
    ],
)
def test_other_words_do_not_match(text: str) -> None:
    assert find_word(["Hurensohn"], text, normalise) is None


def test_a_listed_link_or_mention_is_matched_as_written_only() -> None:
    # Read as the models read them, both would be placeholders standing for every link or mention.
    words = ["scam-shop.example.ru", "@admin"]
    assert find_word(words, "Kauft bei www.other.example.org, fragt @bob", normalise) is None
    match = find_word(words, "Kauft bei scam-shop.example.ru!", normalise)
    assert match is not None and match.word == "scam-shop.example.ru"


def test_without_a_reader_the_rule_reads_as_written() -> None:
    facts = CommentFacts("Du Hur3ns0hn")
    assert decide(CALM, facts, SitePolicy(banned_words=("Hurensohn",))).action is Action.APPROVE
    plain = decide(CALM, CommentFacts("Du HURENSOHN"), SitePolicy(banned_words=("Hurensohn",)))
    assert plain.action is Action.REJECT
    assert plain.reasons[0].params == {"word": "Hurensohn", "start": 3, "end": 12}
