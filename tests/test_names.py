"""Names of countries and leaders are masked out of what the models read (`classifiers.names`)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import scipy.sparse as sp

from classifiers.names import PLACEHOLDER, is_name, mask_names
from classifiers.training import placeholder_columns, without_columns
from tests import classifier_fixtures


def test_names_in_three_languages_and_their_forms_become_one_placeholder() -> None:
    masked = mask_names("Putins Russland, Kasachstans Grenze; Russia's war; Путина, России и Казахстану.")
    assert masked == (
        f"{PLACEHOLDER} {PLACEHOLDER}, {PLACEHOLDER} Grenze; {PLACEHOLDER}'s war; "
        f"{PLACEHOLDER}, {PLACEHOLDER} и {PLACEHOLDER}."
    )


def test_swapped_names_read_the_same() -> None:
    a = "Russland und Kasachstan handeln, Putin redet."
    b = "Frankreich und Belgien handeln, Macron redet."
    assert mask_names(a) == mask_names(b)


def test_peoples_and_adjectives_stay_an_attack_on_people_is_about_people() -> None:
    text = "Die Russen und die russische Armee; Kasachen; Ukrainians; русские"
    assert mask_names(text) == text
    assert not any(is_name(w) for w in ("Russen", "russisch", "Kasachen", "русские", "NATO", "Kreml"))


def test_masking_keeps_the_number_of_words_so_spans_stay_in_place() -> None:
    text = "Laut Tokajew hat Kasachstan die Krim nie anerkannt, sagt Selenskyj in Kyjiw."
    assert len(re.findall(r"\w+", mask_names(text))) == len(re.findall(r"\w+", text))


def test_russian_case_forms_of_feminine_surnames_and_soft_stems_are_masked() -> None:
    """Захарова declines as an adjective (Захаровой, Захарову); Турция and Беларусь as -ия / soft nouns."""
    for word in ("Захарова", "Захаровой", "Захарову", "Турция", "Турции", "Турцией", "Беларусь", "Беларуси"):
        assert is_name(word), word
    assert mask_names("Слова Захаровой о Беларуси") == f"Слова {PLACEHOLDER} о {PLACEHOLDER}"
    assert not any(is_name(w) for w in ("турист", "захват", "белый"))


def test_the_propaganda_head_does_not_read_the_placeholder(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A name's presence is the topic, not the claim: the propaganda head's weights on the placeholder's
    columns (its word, character n-grams and word pairs) are zero, while other heads may use them."""
    scorer = classifier_fixtures.quick_scorer(tmp_path_factory)
    columns = placeholder_columns(scorer._encoder.vocabulary)
    assert len(columns) >= 10  # the word and its padded 3-5-grams are in the vocabulary
    propaganda = scorer.heads.names.index("propaganda")
    assert not np.any(scorer.heads.coef[columns, propaganda])
    assert not np.any(scorer._lexical_coef[columns, propaganda])
    threat = scorer.heads.names.index("threat")
    assert np.any(scorer.heads.coef[columns, threat])
    # Two civil comments that differ only in whether a leader is named read the same to the head.
    named, unnamed = scorer.score(["Scholz sollte endlich zurücktreten.", "Er sollte endlich zurücktreten."])
    assert abs(named.values()["propaganda"] - unnamed.values()["propaganda"]) < 0.1


def test_placeholder_columns_are_zeroed_and_nothing_else() -> None:
    vocabulary = {
        "w:" + PLACEHOLDER: 0,
        " xn": 1,
        "w:putin": 2,
        "mex ": 3,
        "b:xnamex_sagt": 4,
        "b:xnamexe_a": 5,
    }
    assert placeholder_columns(vocabulary).tolist() == [0, 1, 3, 4]
    X = sp.csr_matrix(np.arange(1, 13, dtype=np.float32).reshape(2, 6))
    out = without_columns(X, placeholder_columns(vocabulary)).toarray()
    assert out.tolist() == [[0, 0, 3, 0, 0, 6], [0, 0, 9, 0, 0, 12]]
    assert without_columns(X, np.array([], dtype=np.int64)) is X
