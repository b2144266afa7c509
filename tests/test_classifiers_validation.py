"""Grouped CV folds, leave-one-corpus-out splits and the style-aware calibration."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio

from classifiers.calibration import Calibration, fit_platt, tweet_style
from classifiers.corpora import Example
from classifiers.errors import ModelLoadError
from classifiers.features import analyze, analyze_words
from classifiers.model import (
    CARD_FILE,
    MODEL_FILE,
    Heads,
    load_model,
    vectorizer_from_state,
    vectorizer_state,
)
from classifiers.normalize import normalise
from classifiers.registry import Registry
from classifiers.scoring import Scorer
from classifiers.validation import BLOCK_ROWS, cv_groups, group_folds, transfer_splits
from tests import classifier_fixtures


def _example(text: str, source: str) -> Example:
    return Example(text, source, "cc-by-4.0", {"toxicity": 0.0})


def test_replies_to_one_account_share_a_group_and_ordered_corpora_form_blocks() -> None:
    examples = [
        _example("@Welt das ist Unsinn", "germeval2018"),
        _example("@welt stimmt nicht", "germeval2018"),
        _example("@tagesschau danke", "germeval2018"),
        _example("Ohne Erwähnung", "germeval2018"),
        _example("Noch einer ohne", "germeval2018"),
        *[_example(f"Kommentar {i}", "germeval2021") for i in range(BLOCK_ROWS + 1)],
    ]
    groups = cv_groups(examples)
    assert groups[0] == groups[1] != groups[2]
    assert groups[3] != groups[4]
    talk_show = groups[5:]
    assert len(set(talk_show[:BLOCK_ROWS])) == 1
    assert talk_show[BLOCK_ROWS] != talk_show[0]


def test_group_folds_never_split_a_group_and_cover_every_row() -> None:
    rng = np.random.default_rng(1)
    groups = [f"g{k}" for k in rng.integers(0, 60, size=600)]
    y = rng.integers(0, 2, size=600)
    splits = group_folds(groups, y, 3, seed=0)
    tested = np.concatenate([test for _, test in splits])
    assert sorted(tested.tolist()) == list(range(600))
    for train, test in splits:
        assert not {groups[i] for i in train} & {groups[i] for i in test}
        assert len(set(y[train])) == 2


def test_group_folds_fall_back_when_a_training_part_would_lack_positives() -> None:
    groups = ["only"] * 3 + [f"r{i}" for i in range(30)]
    y = np.array([1, 1, 1] + [0] * 30)
    for train, _ in group_folds(groups, y, 3, seed=0):
        assert y[train].sum() > 0


def test_transfer_splits_leave_out_one_corpus_each() -> None:
    sources = ["germeval2018", "germeval2021", "synthetic_de_comments", "germeval2018"]
    splits = {name: (train.tolist(), test.tolist()) for name, train, test in transfer_splits(sources)}
    assert splits == {"germeval2018": ([1, 2], [0, 3]), "germeval2021": ([0, 2, 3], [1])}


@pytest.mark.parametrize(
    ("text", "tweet"),
    [
        ("@spdde schickt diese Stümper in die Versenkung", True),
        ("Tolle Sendung #ARD", True),
        ("Erste Zeile |LBR| zweite Zeile", True),
        ("@USER Du hast keine Ahnung", False),
        ("Ein ganz normaler Leserkommentar, Mail an a@b.de", True),
        ("Ein ganz normaler Leserkommentar.", False),
    ],
)
def test_tweet_style(text: str, tweet: bool) -> None:
    assert tweet_style([text]).tolist() == [float(tweet)]


def test_style_calibration_learns_a_flatter_map_for_the_weaker_domain() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=4000)
    style = (np.arange(4000) < 2000).astype(float)
    # Tweets: the score separates well; comments: it separates poorly.
    scores = np.where(style == 1, 3.0, 0.7) * (y - 0.5) + rng.normal(size=4000)
    calibration = fit_platt(scores, y, np.ones(4000), style)
    assert calibration.a < calibration.a + calibration.style_a
    plain = Calibration(calibration.a, calibration.b)
    probe = np.array([3.0])
    assert plain.apply(probe) < calibration.apply(probe, np.ones(1))


def _quick_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Registry, str]:
    registry = Registry(classifier_fixtures.quick_registry(tmp_path_factory))
    version = registry.latest()
    assert version is not None
    return registry, version


def _save_older_format(target: Path, fmt: int, vectorizer: dict, heads: Heads, card: dict) -> None:
    """Write a model file as format `fmt` wrote it: format 1 had no style terms."""
    target.mkdir()
    saved_heads = {
        "names": heads.names,
        "coef": heads.coef,
        "intercept": heads.intercept,
        "cal_a": heads.cal_a,
        "cal_b": heads.cal_b,
        "dense_scale": heads.dense_scale,
    }
    if fmt >= 2:
        saved_heads.update(style_a=heads.style_a, style_b=heads.style_b)
    sio.dump({"format": fmt, "vectorizer": vectorizer, "heads": saved_heads}, target / MODEL_FILE)
    (target / CARD_FILE).write_text(json.dumps(card), encoding="utf-8")


def test_format_1_model_without_style_terms_still_loads_and_scores(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    registry, version = _quick_model(tmp_path_factory)
    vectorizer, heads, card, _ = load_model(registry.path(version))
    target: Path = tmp_path_factory.mktemp("format1") / version
    _save_older_format(target, 1, vectorizer_state(vectorizer), heads, card)
    texts = ["@spdde Du bist ein dummer Vollidiot", "Ich finde die Analyse sehr aufschlussreich."]
    old = Scorer.load(target).score(texts)
    new = registry.load(version).score(texts)
    # Without the style terms every text gets the plain (reader-comment) map.
    assert old[1].toxicity == pytest.approx(new[1].toxicity)
    assert heads.style_a is not None and heads.style_a[heads.index("toxicity")] != 0
    assert old[0].toxicity != pytest.approx(new[0].toxicity)


def test_format_2_model_keeps_tokenising_words_only(tmp_path_factory: pytest.TempPathFactory) -> None:
    registry, version = _quick_model(tmp_path_factory)
    vectorizer, heads, card, _ = load_model(registry.path(version))
    assert vectorizer.analyzer is analyze
    target: Path = tmp_path_factory.mktemp("format2") / version
    words_only = vectorizer_state(vectorizer)
    del words_only["tokens"]
    _save_older_format(target, 2, words_only, heads, card)
    old = Scorer.load(target)
    assert old.vectorizer.analyzer is analyze_words
    texts = ["Na toll, schon wieder", "Na toll, schon wieder \U0001f602\U0001f602"]
    norms = [normalise(t).text for t in texts]
    before, after = old._encoder.encode(norms).matrix.toarray()
    assert np.array_equal(before, after)
    assert old.score(texts)[1].spans == old.score(texts[:1])[0].spans
    # The current model reads the emoji.
    before, after = registry.load(version)._encoder.encode(norms).matrix.toarray()
    assert not np.array_equal(before, after)


def test_unknown_token_scheme_is_refused(tmp_path_factory: pytest.TempPathFactory) -> None:
    registry, version = _quick_model(tmp_path_factory)
    vectorizer, _, _, _ = load_model(registry.path(version))
    state = vectorizer_state(vectorizer)
    state["tokens"] = "bytes"
    with pytest.raises(ModelLoadError, match="token scheme"):
        vectorizer_from_state(state)
