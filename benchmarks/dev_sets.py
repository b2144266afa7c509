"""Decisions of one model on the development sets (`benchmarks/dev_sets/`): comments written for choosing
between training recipes, kept out of training (the training code reads only `classifiers/corpora/`) and
out of the held-out sets (`heldout/`, reported once per version, never used for choosing).

    .venv/bin/python benchmarks/dev_sets.py MODEL_DIR [--profile full|fast]

Prints, per set and kind, how many comments the default policy decided as the writer expects (approve,
or keep off the page: hold or reject), and for the named-figures set the threat figures.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sklearn.metrics import roc_auc_score  # noqa: E402

from classifiers.scoring import Scorer  # noqa: E402
from moderation.domain.policy import SitePolicy, decide  # noqa: E402
from moderation.store.facts import offline_facts  # noqa: E402
from workers.pipeline import score_set  # noqa: E402

SETS = Path(__file__).resolve().parent / "dev_sets"
HOLD = 0.4  # the default policy's hold threshold of toxicity, propaganda and identity attack


def read(name: str) -> list[dict[str, str]]:
    with (SETS / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def decisions(scorer: Scorer, rows: list[dict[str, str]]) -> list[tuple[str, dict[str, float]]]:
    out = []
    for row, result in zip(rows, scorer.score([r["text"] for r in rows]), strict=True):
        scores = score_set(result)
        verdict = decide(
            scores.values, offline_facts(row["text"], result.lang, scorer.read_languages), SitePolicy()
        )
        out.append((verdict.action.value, {k: v for k, v in scores.values.items() if v is not None}))
    return out


def report(name: str, rows: list[dict[str, str]], decided: list[tuple[str, dict[str, float]]]) -> None:
    right: Counter[tuple[str, str]] = Counter()
    total: Counter[tuple[str, str]] = Counter()
    for row, (action, _) in zip(rows, decided, strict=True):
        key = (row["expected"], row["kind"])
        total[key] += 1
        right[key] += (action == "approve") == (row["expected"] == "approve")
    print(f"\n{name}: decided as expected by the default policy")
    print("| expected | kind | right |\n|---|---|---|")
    for key in sorted(total):
        print(f"| {key[0]} | {key[1]} | {right[key]} of {total[key]} |")
    for expected in ("approve", "keep_off"):
        n = sum(v for k, v in total.items() if k[0] == expected)
        r = sum(v for k, v in right.items() if k[0] == expected)
        print(f"| **{expected}** | all | **{r} of {n}** |")


def named_figures(rows: list[dict[str, str]], decided: list[tuple[str, dict[str, float]]]) -> None:
    threats = [s for r, (_, s) in zip(rows, decided, strict=True) if r["expected"] == "keep_off"]
    civil = [(a, s) for r, (a, s) in zip(rows, decided, strict=True) if r["expected"] == "approve"]
    held_by = Counter(
        k
        for a, s in civil
        if a != "approve"
        for k in ("toxicity", "propaganda", "threat")
        if s.get(k, 0) >= HOLD
    )
    labels = [r["expected"] == "keep_off" for r in rows]
    civil_held = sum(a != "approve" for a, _ in civil)
    print(
        f"\nthreats with threat >= 0.5: {sum(s['threat'] >= 0.5 for s in threats)} of {len(threats)}; "
        f"civil with threat >= 0.5: {sum(s['threat'] >= 0.5 for _, s in civil)} of {len(civil)}; "
        f"civil held: {civil_held} (scores >= {HOLD}: {dict(sorted(held_by.items()))}); "
        f"threat AUC {roc_auc_score(labels, [s['threat'] for _, s in decided]):.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--profile", choices=["full", "fast"], default="full")
    args = parser.parse_args()
    scorer = Scorer.load(args.model_dir, profile=args.profile)
    print(f"model {args.model_dir.name}, profile {scorer.profile}")
    for name in ("site_dev.csv", "named_dev.csv", "links_dev.csv"):
        rows = read(name)
        decided = decisions(scorer, rows)
        report(name, rows, decided)
        if name == "named_dev.csv":
            named_figures(rows, decided)


if __name__ == "__main__":
    main()
