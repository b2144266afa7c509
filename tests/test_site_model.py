"""The site model (`classifiers.site`): it learns a site's own vocabulary (an insult no corpus has),
calibrates to the site's base rate, saves and loads without pickle, stays small in memory, learns
nothing from corrupted labels, and refuses labels of one kind."""

from __future__ import annotations

import random
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from classifiers.errors import ModelLoadError
from classifiers.scoring import Scorer, ScoreResult
from classifiers.site import (
    CARD_FILE,
    MODEL_FILE,
    SiteModel,
    fit_site_model,
    load_site_model,
    roc_auc,
    save_site_model,
)
from tests import classifier_fixtures

# An invented insult: no corpus holds it, so only the site's own n-grams can learn it.
WORD = "Quarkhirnwicht"
SUBJECTS = [
    "Der Autor",
    "Mein Nachbar",
    "Der Bürgermeister",
    "Dieser Kommentator",
    "Die Redakteurin",
    "Unser Abgeordneter",
    "Der Vorredner",
    "Die Ministerin",
    "Der Experte im Artikel",
    "Der Trainer",
    "Die Lehrerin",
    "Mein Schwager",
]
TOPICS = [
    "die Pipeline",
    "den neuen Radweg",
    "die Schulreform",
    "das Stadion",
    "die Heizkosten",
    "den Busfahrplan",
    "die Wahl im Herbst",
    "die Mieten in der Innenstadt",
    "das Hochwasser",
    "die Sanktionen",
]
# Rejected and approved comments share their frame; only the insult tells them apart.
REJECTED = [
    "{s} ist ein {w}, das sieht man an dem Text über {t}.",
    "Was {s} über {t} schreibt, kann nur ein {w} glauben.",
    "{s} redet über {t} wie ein echter {w}.",
    "So ein {w}! {s} hat von {t} keine Ahnung.",
    "Typisch {w}, {s} versteht {t} einfach nicht.",
    "Ich lese den Beitrag über {t} und denke nur: {s}, du {w}.",
]
APPROVED = [
    "{s} hat einen guten Text über {t} geschrieben.",
    "Was {s} über {t} schreibt, finde ich nachvollziehbar.",
    "{s} redet über {t} wie ein echter Kenner.",
    "Danke! {s} hat {t} gut erklärt.",
    "Ich sehe {t} anders als {s}, aber der Beitrag ist fair.",
    "Ich lese den Beitrag über {t} und denke: {s} hat recht.",
]
NEW_INSULTS = [
    "Ach, schon wieder so ein Quarkhirnwicht im Forum.",
    "Die Kommentatorin aus Graz ist ein Quarkhirnwicht, sorry.",
    "Quarkhirnwicht bleibt Quarkhirnwicht, da hilft auch kein Studium.",
    "Welcher Quarkhirnwicht hat diese Umfrage zum Tourismus geplant?",
]
NEW_CIVIL = [
    "Die Kommentatorin aus Graz hat den Tourismus gut beschrieben.",
    "Kann jemand eine Quelle zu den Zahlen im Artikel nennen?",
    "Ich finde die neue Umfrage zum Tourismus interessant, danke.",
    "Wir waren letzten Sommer dort, die Landschaft ist wunderschön.",
]


@pytest.fixture(scope="module")
def scorer(tmp_path_factory: pytest.TempPathFactory) -> Scorer:
    return classifier_fixtures.quick_scorer(tmp_path_factory)


def _archive(count: int, seed: int) -> tuple[list[str], list[int]]:
    rng = random.Random(seed)
    texts, labels = [], []
    for _ in range(count):
        bad = rng.random() < 0.4
        template = rng.choice(REJECTED if bad else APPROVED)
        texts.append(template.format(s=rng.choice(SUBJECTS), t=rng.choice(TOPICS), w=WORD))
        labels.append(int(bad))
    return texts, labels


@pytest.fixture(scope="module")
def archive(scorer: Scorer) -> tuple[list[str], list[int], list[ScoreResult]]:
    texts, labels = _archive(600, seed=1)
    return texts, labels, scorer.score(texts)


@pytest.fixture(scope="module")
def model(scorer: Scorer, archive: tuple[list[str], list[int], list[ScoreResult]]) -> SiteModel:
    texts, labels, generic = archive
    return fit_site_model(texts, labels, scorer, generic=generic)


def _predict(model: SiteModel, scorer: Scorer, texts: list[str]) -> np.ndarray:
    return model.predict(texts, scorer.score(texts), scorer)


def test_the_invented_insult_is_learnt_and_caught_in_new_sentences(model: SiteModel, scorer: Scorer) -> None:
    insults = _predict(model, scorer, NEW_INSULTS)
    civil = _predict(model, scorer, NEW_CIVIL)
    assert insults.min() >= 0.5, insults
    assert civil.max() < 0.3, civil
    # The generic model alone does not know the word: the site model is what catches it.
    assert max(r.toxicity for r in scorer.score(NEW_INSULTS)) < 0.5


def test_probabilities_are_calibrated_to_the_site_base_rate(model: SiteModel, scorer: Scorer) -> None:
    texts, labels = _archive(400, seed=2)  # new comments from the same site
    p = _predict(model, scorer, texts)
    assert p.dtype == np.float64 and ((p >= 0) & (p <= 1)).all()
    assert abs(p.mean() - np.mean(labels)) < 0.08, (p.mean(), np.mean(labels))
    assert roc_auc(labels, p) > 0.95
    metrics = model.card["metrics"]
    assert abs(metrics["cv_mean_predicted"] - metrics["base_rate"]) < 0.02
    assert metrics["cv_auc"] > 0.95


def test_the_card_describes_the_model(model: SiteModel, scorer: Scorer) -> None:
    card = model.card
    assert card["kind"] == "site" and card["n_labels"] == 600
    assert card["n_rejected"] == int(round(600 * card["metrics"]["base_rate"]))
    assert card["generic_version"] == scorer.version
    assert card["params"]["generic_scale"] in card["params"]["generic_scales_tried"]
    assert {"sklearn", "numpy", "skops"} <= set(card["libraries"])
    assert card["created"].endswith("Z") and card["fit_seconds"] >= 0


def test_save_and_load_give_identical_predictions_without_pickle(
    model: SiteModel, scorer: Scorer, tmp_path: Path
) -> None:
    save_site_model(model, tmp_path / "site")
    assert sorted(p.name for p in (tmp_path / "site").iterdir()) == sorted([CARD_FILE, MODEL_FILE])
    loaded = load_site_model(tmp_path / "site")
    texts = NEW_INSULTS + NEW_CIVIL
    generic = scorer.score(texts)
    np.testing.assert_array_equal(
        loaded.predict(texts, generic, scorer), model.predict(texts, generic, scorer)
    )
    assert loaded.card == model.card
    assert (tmp_path / "site" / MODEL_FILE).stat().st_size < 2_000_000


def test_a_loaded_model_takes_less_than_2_mb(model: SiteModel, tmp_path: Path) -> None:
    save_site_model(model, tmp_path / "site")
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        loaded = load_site_model(tmp_path / "site")
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert loaded.coef.nbytes + loaded.idf.nbytes <= 1.6 * 2**20
    assert held < 2_000_000, held
    # Models fitted against the same generic model share one idf table once loaded.
    assert load_site_model(tmp_path / "site").idf is loaded.idf


def test_a_broken_or_foreign_model_file_is_refused(model: SiteModel, tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError):
        load_site_model(tmp_path / "missing")
    save_site_model(model, tmp_path / "site")
    (tmp_path / "site" / MODEL_FILE).write_bytes(b"not a zip file")
    with pytest.raises(ModelLoadError):
        load_site_model(tmp_path / "site")


def test_corrupted_labels_teach_nothing(scorer: Scorer) -> None:
    texts, labels = _archive(800, seed=3)
    shuffled = labels[:]
    random.Random(4).shuffle(shuffled)  # every label detached from its comment
    generic = scorer.score(texts)
    model = fit_site_model(texts[:600], shuffled[:600], scorer, generic=generic[:600])
    held_out = model.predict(texts[600:], generic[600:], scorer)
    assert roc_auc(shuffled[600:], held_out) < 0.65
    assert model.card["metrics"]["cv_auc"] < 0.65


def test_labels_of_one_kind_are_refused(scorer: Scorer) -> None:
    texts, _ = _archive(60, seed=5)
    with pytest.raises(ValueError, match="rejected"):
        fit_site_model(texts, [0] * 60, scorer)
    with pytest.raises(ValueError, match="rejected"):
        fit_site_model(texts, [1] * 60, scorer)
    with pytest.raises(ValueError, match="labels"):
        fit_site_model(texts, [0, 1], scorer)
    with pytest.raises(ValueError):
        fit_site_model(texts, [2] * 60, scorer)


def test_very_few_labels_still_give_a_model(scorer: Scorer) -> None:
    texts, labels = _archive(50, seed=6)
    model = fit_site_model(texts, labels, scorer)
    p = _predict(model, scorer, NEW_INSULTS + NEW_CIVIL)
    assert ((p >= 0) & (p <= 1)).all()
    # Two rejections among many approvals: fewer folds, still a model.
    few = [1, 1] + [0] * 48
    assert fit_site_model(texts, few, scorer).card["params"]["folds"] == 2


def test_empty_input_and_mismatched_generic_results(model: SiteModel, scorer: Scorer) -> None:
    assert model.predict([], [], scorer).shape == (0,)
    with pytest.raises(ValueError):
        model.predict(["ein Text"], [], scorer)
