"""The comments that reported the model's failures are evaluation items: never training data.

The quality issue quoted reader comments the model got wrong (topic-biased propaganda, missed threats
and group hate, sarcasm). They measure whether the fix generalises; if any of them (or its distinctive
core) reached a training corpus, the catalogue's examples, cues or word lists, that measurement would
be worthless. This test reads every file training can see.
"""

from __future__ import annotations

import gzip
import re
import unicodedata
from pathlib import Path

import pytest

from classifiers.catalogue import CATALOGUE_DIR
from classifiers.corpora import CORPORA_DIR

QUOTED = (
    "Putin ist ein Kriegsverbrecher, der vor den Internationalen Strafgerichtshof gehört.",
    "Die Sanktionen wirken offenbar kaum, wenn Waren über Kasachstan nach Russland gelangen.",
    "Warum wird das im Artikel nicht erwähnt?",
    "Ich halte die Befürchtung für übertrieben. Russland hat in der Ukraine genug Probleme",
    "Someone should put a bullet in the author's head.",
    "Der Autor sollte gut aufpassen, wenn er nachts allein nach Hause geht.",
    "Ты сдохнешь, журналист. Мы знаем, где ты живёшь.",
    "Die ganzen Russen in Deutschland sollte man rauswerfen, das ist doch alles die fünfte Kolonne.",
    "Alle Kasachen sind primitive Steppenaffen",
    "Wie praktisch, dass Russland immer genau dort „Landsleute schützen“ muss, wo es Öl und Uran gibt.",
)
# Distinctive parts: a training row that kept these would teach the quoted comment nearly verbatim.
FRAGMENTS = (
    "vor den internationalen strafgerichtshof gehört",
    "waren über kasachstan nach russland",
    "befürchtung für übertrieben",
    "bullet in the author's head",
    "nachts allein nach hause geht",
    "мы знаем где ты живёшь",
    "russen in deutschland sollte man rauswerfen",
    "steppenaffen",
    "landsleute schützen muss",
    "wo es öl und uran gibt",
)


def _plain(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")
    text = re.sub(r"[^\w\s']", " ", text)
    return " ".join(text.split())


def _training_files() -> list[Path]:
    files = [p for p in CORPORA_DIR.rglob("*") if p.is_file() and p.name != "SOURCE.md"]
    files += [p for p in CATALOGUE_DIR.rglob("*") if p.is_file()]
    return sorted(files)


def _read(path: Path) -> str:
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    return raw.decode("utf-8", errors="replace")


@pytest.fixture(scope="module")
def training_text() -> dict[Path, str]:
    return {path: _plain(_read(path)) for path in _training_files()}


def test_the_quoted_comments_are_in_no_training_file(training_text: dict[Path, str]) -> None:
    assert training_text, "no training files found"
    needles = [_plain(q) for q in QUOTED] + [_plain(f) for f in FRAGMENTS]
    found = [(str(path), n) for path, text in training_text.items() for n in needles if n in text]
    assert found == []


def test_the_check_would_catch_a_quoted_comment() -> None:
    """The normalisation must not be so loose or strict that a copied comment slips through."""
    row = (
        'wt-9999,de,1,veiled,author,"Der  Autor sollte gut aufpassen, wenn er nachts allein nach Hause geht!"'
    )
    assert _plain(QUOTED[5]).rstrip(".") in _plain(row)
    assert _plain(FRAGMENTS[5]) in _plain(QUOTED[6])


def test_no_development_comment_is_in_a_written_training_corpus() -> None:
    """The development sets (`benchmarks/dev_sets/`) choose between recipes; the corpora written for
    training after them came from writers who never saw them, and none of their comments is in one."""
    import csv

    from classifiers.corpora import WRITTEN

    dev = Path(__file__).resolve().parent.parent / "benchmarks" / "dev_sets"
    comments = [
        _plain(row["text"])
        for name in ("site_dev.csv", "named_dev.csv", "links_dev.csv")
        for row in csv.DictReader((dev / name).open(encoding="utf-8", newline=""))
    ]
    assert len(comments) == 500
    written = [_plain(_read(p)) for corpus in WRITTEN for p in sorted((CORPORA_DIR / corpus).glob("*.csv"))]
    assert len(written) >= 16
    found = [c for c in comments if any(c in text for text in written)]
    assert found == []
