"""Session fixtures for classifier tests: one quick-trained model per test session.

tests/conftest.py imports `trained_model_dir`; classifier test modules use `quick_registry` and
`quick_scorer` through their own fixtures. Training is cached
per session base directory, so the model is trained once however many modules import the fixture.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest
from filelock import FileLock

from classifiers.encoder import E5Encoder, SentenceEncoder
from classifiers.registry import Registry
from classifiers.scoring import Scorer
from classifiers.training import train


@functools.cache
def _quick_registry(base: Path) -> Path:
    """Trained with the sentence encoder, so the encoder's own tests can score its full profile; every
    other test scores the fast profile (MODERATION_SCORING=fast, set in tests/conftest.py).

    Under pytest-xdist, `base` is the directory all workers share: the first worker to get the lock
    trains, the others wait for it and load what it wrote."""
    root = base / "classifier-registry"
    done = base / "classifier-registry.done"
    with FileLock(str(base / "classifier-registry.lock")):
        if not done.exists():
            train(
                root,
                quick=True,
                seed=0,
                encoder=SentenceEncoder(base / "embeddings"),
                refiner_encoder=E5Encoder(base / "embeddings"),
            )
            done.touch()
    return root


def quick_registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run's registry root with one quick-trained version, trained on first use."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # Each xdist worker has its own base directory under one the whole run shares.
        base = base.parent
    return _quick_registry(base)


@functools.cache
def _scorer(root: Path) -> Scorer:
    registry = Registry(root)
    version = registry.latest()
    assert version is not None
    return registry.load(version)


def quick_scorer(tmp_path_factory: pytest.TempPathFactory) -> Scorer:
    return _scorer(quick_registry(tmp_path_factory))


@pytest.fixture(scope="session")
def trained_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The registry root with one quick-trained version (treat as read-only)."""
    return quick_registry(tmp_path_factory)
