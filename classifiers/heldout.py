"""Readers for the held-out test splits in `heldout/`, used only by the evaluation report.

Training never imports this module (tests check that); `classifiers.corpora` refuses these paths.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

HELDOUT_DIR = Path(__file__).resolve().parent.parent / "heldout"


@dataclass
class HeldoutSet:
    """Texts with labels; `labels` holds one list per task (e.g. "coarse", "fine", "propaganda")."""

    name: str
    source: str
    texts: list[str]
    labels: dict[str, list[str]] = field(default_factory=dict)


def germeval2018_test(root: Path = HELDOUT_DIR) -> HeldoutSet:
    path = root / "germeval2018" / "germeval2018.test.txt"
    texts: list[str] = []
    coarse: list[str] = []
    fine: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) < 3:
            continue
        texts.append(parts[0])
        coarse.append(parts[1])
        fine.append(parts[2])
    return HeldoutSet("germeval2018_test", str(path), texts, {"coarse": coarse, "fine": fine})


def germeval2021_test(root: Path = HELDOUT_DIR) -> HeldoutSet:
    path = root / "germeval2021" / "GermEval21_TestData.csv"
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    return HeldoutSet(
        "germeval2021_test",
        str(path),
        [r["comment_text"] for r in rows],
        {"toxic": [r["Sub1_Toxic"] for r in rows]},
    )


def semeval2021_dev(root: Path = HELDOUT_DIR) -> HeldoutSet:
    """SemEval-2021 Task 6 dev (Task 1): a meme text is propaganda when it carries any technique."""
    path = root / "semeval2021_task6" / "dev_set_task1.txt"
    items = json.loads(path.read_text(encoding="utf-8"))
    return HeldoutSet(
        "semeval2021_task6_dev",
        str(path),
        [item["text"] for item in items],
        {
            "propaganda": ["1" if item["labels"] else "0" for item in items],
            "techniques": [json.dumps(sorted(item["labels"])) for item in items],
        },
    )


def suite(root: Path = HELDOUT_DIR) -> list[HeldoutSet]:
    return [germeval2018_test(root), germeval2021_test(root), semeval2021_dev(root)]


def written_eval(
    root: Path = HELDOUT_DIR, files: tuple[str, ...] = ("eval.csv", "reported.csv")
) -> HeldoutSet:
    """The written evaluation set for the first site (`heldout/written_eval/SOURCE.md`): per row its
    slice (`set`), language, the action a careful moderator takes (`expected`) and the narrative."""
    texts: list[str] = []
    labels: dict[str, list[str]] = {"id": [], "set": [], "lang": [], "expected": [], "narrative": []}
    for name in files:
        path = root / "written_eval" / name
        for row in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))):
            texts.append(row["text"])
            for key in labels:
                labels[key].append(row[key])
    return HeldoutSet("written_eval", "heldout/written_eval", texts, labels)
