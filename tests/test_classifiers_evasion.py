"""A disguised insult scores about as the plain one: the models read what the reader sees.

Scored with the session's quick-trained model (`tests.classifier_fixtures`), fast profile.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classifiers.encoder import encoder_input
from classifiers.scoring import Scorer
from tests import classifier_fixtures
from tests.disguises import PDF, RLO, disguised, reverse_shown

# Insulting sentences, the insult in braces.
SENTENCES = [
    "Du bist ein dummer {}!",
    "Halt die Klappe, du {}.",
    "Der Autor ist ein {}",
    "You are such an {}.",  # (not "a": single letters before spaced ones would read as one word)
    "\u0422\u044b \u043f\u0440\u043e\u0441\u0442\u043e {}!",
]
INSULTS = {
    "de": ["Vollidiot", "Hurensohn", "Arschloch", "Wichser", "Drecksack", "Idiot"],
    "en": ["idiot", "moron", "asshole", "bastard"],
    "ru": ["\u0438\u0434\u0438\u043e\u0442", "\u0434\u0435\u0431\u0438\u043b", "\u0443\u0440\u043e\u0434"],
}
PAIRS = [
    (sentence, word)
    for sentence in SENTENCES
    for word in INSULTS["ru" if "\u0422" in sentence else "en" if sentence.startswith("You") else "de"]
]
ATTRIBUTES = ("toxicity", "insult")


@pytest.fixture(scope="module")
def scorer(tmp_path_factory: pytest.TempPathFactory) -> Scorer:
    return classifier_fixtures.quick_scorer(tmp_path_factory)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pair=st.sampled_from(PAIRS), data=st.data())
def test_a_disguised_insult_scores_as_the_plain_one(
    scorer: Scorer, pair: tuple[str, str], data: st.DataObject
) -> None:
    sentence, word = pair
    spelling = data.draw(disguised(word), label="spelling")
    plain, hidden = scorer.score([sentence.format(word), sentence.format(spelling.text)])
    for attribute in ATTRIBUTES:
        # A disguise buys no lower score. It may raise it a little: capitals, digits and length are read
        # from the text as written, as signs of shouting and spam.
        # Changing only the case moves the shouting cue both ways ("ИДИот" reads less like shouting
        # than a sentence-case word next to capitals), so it gets a little more room below.
        floor = -0.1 if "case" in spelling.how else -0.05
        difference = getattr(hidden, attribute) - getattr(plain, attribute)
        assert floor <= difference <= 0.2, (attribute, spelling.how)


@pytest.mark.parametrize(
    "disguise",
    [
        pytest.param(lambda s: RLO + reverse_shown(s) + PDF, id="right-to-left override"),
        pytest.param(lambda s: s.replace("ll", "l\u200bl").replace("di", "d\u200di"), id="zero-width"),
        pytest.param(lambda s: s.replace("idi", "i\u00addi"), id="soft hyphen"),
        pytest.param(lambda s: "".join(ch + "\u0336\u0317" if ch.isalpha() else ch for ch in s), id="zalgo"),
    ],
)
def test_the_reported_evasions_score_as_the_plain_sentence(
    scorer: Scorer, disguise: Callable[[str], str]
) -> None:
    sentence = "Du bist ein dummer Vollidiot"
    plain, hidden = scorer.score([sentence, disguise(sentence)])
    assert hidden.toxicity == pytest.approx(plain.toxicity, abs=0.02)
    assert hidden.insult == pytest.approx(plain.insult, abs=0.02)
    assert hidden.lang == "de"


def test_the_sentence_encoder_reads_the_comment_as_shown() -> None:
    sentence = "Du bist ein dummer Vollidiot"
    assert encoder_input(RLO + reverse_shown(sentence) + PDF) == sentence
    assert encoder_input("Du bist ein dummer Voll\u200bidi\u00adot") == sentence
    assert encoder_input("Du bist ein dummer V\u0336o\u0336l\u0336lidiot|LBR|") == sentence
