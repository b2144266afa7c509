"""The fast scoring vectoriser reproduces sklearn's TF-IDF matrix, and word contributions add up."""

from __future__ import annotations

import numpy as np
import pytest

from classifiers.explain import Explainer
from classifiers.features import DENSE_NAMES, analyse_cues, dense_matrix
from classifiers.normalize import normalise
from classifiers.scoring import Scorer
from classifiers.vectorize import Vectorizer
from tests import classifier_fixtures

TEXTS = [
    "Du bist ein dummer Vollidiot, ein Vollidiot bist du!",
    "Ich finde die Analyse zu Kasachstan sehr aufschlussreich.",
    "",
    "!!! ???",
    "@user|LBR|Halt die Klappe, du Schw3in!!! www.example.com",
    "Нам врут про войну",
    "Na toll \U0001f602\U0001f602 \U0001f92e und \U0001f44d",
]


@pytest.fixture(scope="module")
def scorer(tmp_path_factory: pytest.TempPathFactory) -> Scorer:
    return classifier_fixtures.quick_scorer(tmp_path_factory)


def test_matrix_equals_sklearn_tfidf(scorer: Scorer) -> None:
    texts = [normalise(t).text for t in TEXTS]
    fitted = scorer.vectorizer
    encoded = Vectorizer(fitted.vocabulary_, fitted.idf_, fitted.sublinear_tf).encode(texts)
    expected = fitted.transform(texts)
    assert encoded.matrix.shape == expected.shape
    assert abs(encoded.matrix - expected).max() < 1e-6


def test_word_contributions_add_up_to_the_lexical_logit(scorer: Scorer) -> None:
    norms = [normalise(t) for t in TEXTS]
    encoded = scorer._encoder.encode([n.text for n in norms])
    heads = scorer.heads
    vocabulary_size = len(scorer.vectorizer.vocabulary_)
    lexicon = {
        vocabulary_size + DENSE_NAMES.index(f"{kind}_words"): (
            DENSE_NAMES.index(f"{kind}_words"),
            scorer.catalogue.lexicon_words[kind],
        )
        for kind in ("insult", "profanity", "slur")
    }
    # Without lexicon columns the words carry exactly the sparse part of the logit.
    explainer = Explainer(heads.coef, {})
    dense = dense_matrix([analyse_cues(n, scorer.catalogue) for n in norms]) * heads.dense_scale
    docs = list(range(len(TEXTS)))
    contributions = explainer.contributions(encoded, dense, docs)
    lexical = np.asarray(encoded.matrix @ heads.coef[:vocabulary_size])
    for d in docs:
        assert contributions[d].sum(axis=0) == pytest.approx(lexical[d], abs=1e-4)
    with_lexicon = Explainer(heads.coef, lexicon).contributions(encoded, dense, [0])[0]
    lexicon_part = sum(dense[0, i] * heads.coef[c] for c, (i, _) in lexicon.items() if dense[0, i])
    assert with_lexicon.sum(axis=0) == pytest.approx(lexical[0] + lexicon_part, abs=1e-4)
