from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from classifiers.corpora import (
    CORPORA_DIR,
    LICENCES,
    corpus_path,
    disproof_sentences,
    load_corpora,
    read_text,
)
from classifiers.errors import CorpusAccessError
from classifiers.registry import Registry
from classifiers.training import train

HELDOUT = CORPORA_DIR.parent.parent / "heldout"


def test_heldout_exists_but_cannot_be_read_by_the_loader() -> None:
    assert (HELDOUT / "germeval2018" / "germeval2018.test.txt").is_file()
    with pytest.raises(CorpusAccessError):
        corpus_path("../../heldout/germeval2018", "germeval2018.test.txt")
    with pytest.raises(CorpusAccessError):
        read_text("germeval2018", "germeval2018.test.txt", root=HELDOUT)
    with pytest.raises(CorpusAccessError):
        load_corpora(root=HELDOUT)
    with pytest.raises(CorpusAccessError):
        corpus_path("germeval2018", "../../../heldout/germeval2018/germeval2018.test.txt")


def test_every_corpus_has_its_source_and_no_test_split() -> None:
    for folder in CORPORA_DIR.iterdir():
        assert (folder / "SOURCE.md").is_file()
        assert folder.name in LICENCES
        names = [p.name.lower() for p in folder.iterdir()]
        assert not [n for n in names if "test" in n or n.startswith("dev")]
        assert all(p.stat().st_size < 5 * 1024 * 1024 for p in folder.iterdir())


def test_examples_carry_source_and_licence() -> None:
    corpora = load_corpora(quick=True)
    assert set(corpora) >= {"germeval2018", "synthetic_de_comments", "semeval2021_task6"}
    for items in corpora.values():
        for example in items:
            assert example.source in LICENCES
            assert example.licence == LICENCES[example.source]


def test_licence_selection_limits_the_corpora(tmp_path: Path) -> None:
    commercial = {"cc-by-4.0", "mit", "cc0"}
    corpora = load_corpora(licences=commercial, quick=True)
    assert set(corpora) == {
        "germeval2018",
        "davidson_hate_offensive",
        "synthetic_de_comments",
        "written_threats",
        "written_group_hate",
        "written_topic_comments",
        "written_spam",
    }
    with pytest.raises(ValueError):
        load_corpora(licences={"gpl"})

    version = train(tmp_path, licences=commercial, quick=True)
    card = Registry(tmp_path).card(version)
    assert {c["licence"] for c in card["corpora"]} <= commercial
    assert set(card["licences"]) <= commercial
    assert card["parameters"]["licence_filter"] == sorted(commercial)


def test_training_code_never_imports_the_heldout_readers() -> None:
    code = (
        "import sys, classifiers.training, classifiers.scoring, classifiers.duplicates; "
        "print('classifiers.heldout' in sys.modules, 'classifiers.reporting' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_disproof_sentences_keep_facts_and_drop_arguments_about_the_claim() -> None:
    disproof = (
        "TV Zvezda is a regular mouthpiece for pro-Kremlin disinformation https://euvsdisinfo.eu/x/. "
        "Being a NATO member, Turkey is a partner and an ally of the United States. "
        "No evidence given. "
        "Kazakhstan declared its independence in December 1991 and is a member of the United Nations."
    )
    assert disproof_sentences(disproof) == [
        "Being a NATO member, Turkey is a partner and an ally of the United States.",
        "Kazakhstan declared its independence in December 1991 and is a member of the United Nations.",
    ]


def test_language_heads_train_on_comments_only() -> None:
    """News headlines, disinformation case summaries and meme captions are not comments: every corpus
    of theirs is left out of the e5 language heads, whatever its full name."""
    from classifiers.augment import CATALOGUE_SOURCE
    from classifiers.corpora import LICENCES
    from classifiers.stack import language_head_source

    left_out = {s for s in [*LICENCES, CATALOGUE_SOURCE] if not language_head_source(s)}
    assert left_out == {
        "euvsdisinfo_titles_2015_2021",
        "euvsdisinfo_cases_2015_2017",
        "semeval2021_task6",
        CATALOGUE_SOURCE,
    }
