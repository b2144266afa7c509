"""A comment's sentences are read from the comment's own reading (its encoding and cue hits), not by
normalising and encoding each sentence again: the scores must be those of reading each sentence alone,
and the sentences the fast profile leaves out must be ones that could not raise the comment's score."""

from __future__ import annotations

import numpy as np
import pytest

from classifiers import scoring
from classifiers.langid import sentence_spans
from classifiers.normalize import normalise
from classifiers.scoring import MIN_SENTENCE_WORDS, SENTENCE_FLOOR, Scorer
from tests import classifier_fixtures

# Written for this test: sentences with what the threat head's dense features count (links, capitals,
# digits, exclamation marks, repeated letters, questions, insults, cue words), in several languages and
# scripts, with line breaks, |LBR| and emoji, and one text whose characters are shown right to left
# (read sentence by sentence).
TEXTS = [
    "Der Artikel ist gut recherchiert. Aber du Vollidiot solltest aufpassen, wir wissen wo du wohnst!!!",
    "Sehr interessant.\nDie Grafik zeigt 2023 mehr Exporte als 2022.|LBR|Warum fehlt die Quelle?",
    "Schaut euch das an: https://example.com/x. DAS IST UNGLAUBLICH!!! Wirklich sooooo schlimm.",
    "I liked the piece. Someone should teach the author a lesson he won't forget.",
    "Спасибо за статью. Автор, тебе конец, мы знаем где ты живёшь.",
    "Gute Analyse. Мақала өте жақсы жазылған. Danke \U0001f44d\U0001f44d sehr.",
    "Ein Satz. Zwei Sätze hier. Ja. Drei Wörter hier!",
    "@user ich stimme zu. Die Sanktionen wirken kaum, wenn Waren über Kasachstan gehen.",
    "\u202eesetnäs ierd dnu iewz\u202c. Ein normaler Satz danach.",
    "Kurz. Noch ein Satz mit dem Wort Putin und Russland drin. Und Merkel auch!",
]


@pytest.fixture(scope="module")
def scorer(tmp_path_factory: pytest.TempPathFactory) -> Scorer:
    return classifier_fixtures.quick_scorer(tmp_path_factory)


def _several(texts: list[str]) -> list[tuple[int, list[tuple[int, int]]]]:
    split = [sentence_spans(t, MIN_SENTENCE_WORDS) for t in texts]
    return [(k, spans) for k, spans in enumerate(split) if len(spans) > 1]


def test_sentences_read_from_the_whole_equal_each_sentence_read_alone(
    scorer: Scorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert scorer._sentence_names == ["threat"]
    results, reading = scorer._read(TEXTS)
    several = _several(TEXTS)
    assert len(several) == len(TEXTS)
    monkeypatch.setattr(scorer, "_sentence_bound", False)  # every sentence, none left out
    pieces, scores = scorer._sentences(TEXTS, several, reading, results)
    expected = [(k, start, TEXTS[k][start:end]) for k, spans in several for start, end in spans]
    assert sorted(pieces) == sorted(expected)
    alone = scorer._sentence_scores([text for _, _, text in pieces])
    assert scores.shape == alone.shape == (len(expected), 1)
    np.testing.assert_allclose(scores, alone, atol=1e-6)
    # Not a vacuous comparison: the sentences' scores differ from each other and from their comments'.
    assert len({round(float(v), 4) for v in scores[:, 0]}) > len(TEXTS)


def test_regrouped_words_give_the_matrix_of_each_group_encoded_alone(scorer: Scorer) -> None:
    texts = [normalise(t).text for t in TEXTS[:4]]
    encoded = scorer._encoder.encode(texts)
    # Two groups per text, split at the middle word; the first word of every text in no group.
    group = np.full(len(encoded.word_doc), -1)
    expected = []
    for k, tokens in enumerate(encoded.tokens):
        first, middle = int(encoded.word_start[k]), len(tokens) // 2
        group[first + 1 : first + middle] = 2 * k
        group[first + middle : first + len(tokens)] = 2 * k + 1
        expected += [" ".join(tokens[1:middle]), " ".join(tokens[middle:])]
    got = scorer._encoder.regroup(encoded, group, 2 * len(texts))
    alone = scorer._encoder.encode(expected).matrix
    assert got.shape == alone.shape
    assert abs(got - alone).max() < 1e-6
    assert got.nnz == alone.nnz > 0


def test_the_sentences_left_out_could_not_raise_their_comment(scorer: Scorer) -> None:
    assert scorer.profile == "fast" and scorer._sentence_bound
    results, reading = scorer._read(TEXTS)
    several = _several(TEXTS)
    kept, kept_scores = scorer._sentences(TEXTS, several, reading, results)
    everything = [(k, start, TEXTS[k][start:end]) for k, spans in several for start, end in spans]
    left_out = [p for p in everything if p not in kept]
    assert left_out, "the bound leaves out civil sentences"
    alone = scorer._sentence_scores([t for _, _, t in left_out])[:, 0]
    for (k, _, text), value in zip(left_out, alone, strict=True):
        assert value < max(results[k].threat, SENTENCE_FLOOR), text
    np.testing.assert_allclose(kept_scores, scorer._sentence_scores([t for _, _, t in kept]), atol=1e-6)


def test_leaving_sentences_out_changes_no_score(scorer: Scorer, monkeypatch: pytest.MonkeyPatch) -> None:
    bounded = scorer.score(TEXTS)
    monkeypatch.setattr(scorer, "_sentence_bound", False)
    assert scorer.score(TEXTS) == bounded


def test_a_sentence_below_the_floor_leaves_its_comment_score(
    scorer: Scorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sentence's threat counts from SENTENCE_FLOOR on: lower, the comment keeps its whole's."""
    monkeypatch.setattr(scorer, "_sentence_bound", False)
    whole = scorer._score(TEXTS)
    monkeypatch.setattr(scoring, "SENTENCE_FLOOR", 0.0)
    raised = scorer.score(TEXTS)
    monkeypatch.setattr(scoring, "SENTENCE_FLOOR", 1.0)
    assert [r.threat for r in scorer.score(TEXTS)] == [r.threat for r in whole]
    assert any(r.threat > w.threat for r, w in zip(raised, whole, strict=True))
