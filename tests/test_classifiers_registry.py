from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio

from classifiers.errors import ModelLoadError, UnknownVersionError
from classifiers.model import MODEL_FILE, load_model, save_model
from classifiers.registry import Registry
from classifiers.scoring import Scorer
from tests import classifier_fixtures


@pytest.fixture(scope="module")
def model_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return classifier_fixtures.quick_registry(tmp_path_factory)


def _copy_version(root: Path, tmp_path: Path) -> tuple[Registry, str]:
    source = Registry(root)
    version = source.latest()
    assert version is not None
    target = tmp_path / "registry"
    shutil.copytree(source.path(version), target / version)
    return Registry(target), version


def test_registry_lists_and_loads(model_root: Path) -> None:
    registry = Registry(model_root)
    versions = registry.versions()
    assert len(versions) == 1
    assert registry.latest() == versions[-1]
    card = registry.card(versions[0])
    assert card["version"] == versions[0]
    assert card["created"].endswith("Z")
    assert {"python", "sklearn", "skops", "numpy"} <= set(card["libraries"])
    assert all(c["licence"] and "rows_used" in c for c in card["corpora"])
    germeval = next(c for c in card["corpora"] if c["name"] == "germeval2018")
    assert len(germeval["files"]["germeval2018"]["germeval2018.training.txt"]) == 64
    assert {"official_macro_f1", "sklearn_macro_f1", "ece"} <= set(
        card["metrics"]["toxicity"]["germeval2018"]
    )
    assert not [p for p in model_root.iterdir() if p.name.startswith(".tmp")]


def test_skops_round_trip(model_root: Path, tmp_path: Path) -> None:
    registry = Registry(model_root)
    version = registry.latest()
    assert version is not None
    vectorizer, heads, card, _ = load_model(registry.path(version))
    save_model(tmp_path / "copy", vectorizer, heads, card)
    vectorizer2, heads2, _, _ = load_model(tmp_path / "copy")
    assert vectorizer2.vocabulary_ == vectorizer.vocabulary_
    np.testing.assert_array_equal(heads2.coef, heads.coef)
    texts = ["Du bist ein dummer Vollidiot", "Schönes Wetter heute."]
    first = Scorer.load(registry.path(version)).score(texts)
    second = Scorer.load(tmp_path / "copy").score(texts)
    assert [(r.values(), r.techniques, r.narratives) for r in first] == [
        (r.values(), r.techniques, r.narratives) for r in second
    ]


def test_untrusted_type_is_refused(model_root: Path, tmp_path: Path) -> None:
    registry, version = _copy_version(model_root, tmp_path)
    path = registry.path(version) / MODEL_FILE
    sio.dump({"format": 1, "payload": Counter(a=1)}, path)
    with pytest.raises(ModelLoadError, match="untrusted"):
        registry.load(version)


@pytest.mark.parametrize("damage", ["delete", "garbage", "card"])
def test_broken_model_dir_raises_model_load_error(model_root: Path, tmp_path: Path, damage: str) -> None:
    registry, version = _copy_version(model_root, tmp_path)
    model_dir = registry.path(version)
    if damage == "delete":
        (model_dir / MODEL_FILE).unlink()
    elif damage == "garbage":
        (model_dir / MODEL_FILE).write_bytes(b"not a zip file")
    else:
        (model_dir / "model_card.json").write_text("{", encoding="utf-8")
    with pytest.raises(ModelLoadError):
        Scorer.load(model_dir)


def test_unknown_version_and_empty_registry(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "none")
    assert registry.versions() == []
    assert registry.latest() is None
    with pytest.raises(UnknownVersionError):
        registry.path("2020.01.01-000000")
    with pytest.raises(UnknownVersionError):
        registry.path("../etc")


def test_save_is_atomic_and_unique(model_root: Path, tmp_path: Path) -> None:
    registry, version = _copy_version(model_root, tmp_path)
    vectorizer, heads, card, _ = load_model(registry.path(version))
    saved = registry.save(version, vectorizer, heads, card)
    assert saved == f"{version}-2"
    assert registry.versions() == [version, saved]
    assert json.loads((registry.path(saved) / "model_card.json").read_text())["version"] == saved
    assert not [p for p in registry.root.iterdir() if p.name.startswith(".")]
