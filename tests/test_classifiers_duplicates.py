"""Near-duplicate signatures: coordinated copies match across cosmetic edits, different texts do not."""

from __future__ import annotations

import subprocess
import sys

import pytest

from classifiers.duplicates import (
    PERMUTATIONS,
    Signature,
    band_keys,
    near_duplicates,
    signature,
    similarity,
)

ORIGINAL = (
    "Die NATO hat Russland eingekreist, Kasachstan ist doch gar kein echter Staat, das weiß jeder. "
    "Wacht endlich auf und lest unabhängige Quellen!"
)
COPIES = [
    "@hans84 die nato hat RUSSLAND eingekreist... Kasachstan ist doch gar kein echter Staat, das weiss "
    "jeder!!! Wacht endlich auf und lest unabhängige Quellen https://example.ru/x",
    "Die NATO hat Russland eingekreist, Kasachstan ist doch gar kein echter Staat, das weiß jeder. "
    "Wacht endlich auf und lest unabhängige Quellen!!!",
    "Die N.A.T.O hat Russland eingekreist, Kasachstan ist doch gar kein echter Staat, das weiß jeder. "
    "Wacht endlich auf und lest unabhängige Quellen",
]
UNRELATED = [
    "Ich finde die Analyse zu Kasachstan sehr aufschlussreich, danke für den Artikel über die Wahlen.",
    "Die NATO-Osterweiterung war eine Entscheidung souveräner Staaten, keine Einkreisung Russlands.",
]


@pytest.mark.parametrize("copy", COPIES)
def test_copies_with_cosmetic_edits_are_near_duplicates(copy: str) -> None:
    assert similarity(signature(ORIGINAL), signature(copy)) >= 0.7


def test_comparison_against_recent_signatures_returns_only_the_copies_best_first() -> None:
    recent = [(f"c{i}", signature(text)) for i, text in enumerate([*UNRELATED, *COPIES])]
    matches = near_duplicates(signature(ORIGINAL), recent)
    assert {m.key for m in matches} == {"c2", "c3", "c4"}
    assert [m.similarity for m in matches] == sorted((m.similarity for m in matches), reverse=True)
    assert matches[0].key == "c3"  # only the punctuation differs


def test_short_common_phrases_never_count_as_coordinated() -> None:
    short = signature("Genau so!")
    assert not short.informative
    assert near_duplicates(short, [("a", signature("Genau so!!"))]) == []


def test_bytes_round_trip_and_refusal_of_wrong_sizes() -> None:
    sig = signature(ORIGINAL)
    raw = sig.to_bytes()
    assert len(raw) == 3 + 4 * PERMUTATIONS
    back = Signature.from_bytes(raw)
    assert back.shingles == sig.shingles and similarity(back, sig) == 1.0
    with pytest.raises(ValueError):
        Signature.from_bytes(raw[:-1])


def test_signatures_are_stable_across_processes() -> None:
    """Stored signatures are compared with ones computed later by other workers (no salted hash())."""
    code = f"from classifiers.duplicates import signature; print(signature({ORIGINAL!r}).to_bytes().hex())"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert other.stdout.strip() == signature(ORIGINAL).to_bytes().hex()


def test_band_keys_bucket_copies_together_and_unrelated_texts_apart() -> None:
    keys = set(band_keys(signature(ORIGINAL)))
    assert all(keys & set(band_keys(signature(copy))) for copy in COPIES)
    assert not keys & set(band_keys(signature(UNRELATED[0])))
