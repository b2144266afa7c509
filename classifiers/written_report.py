"""The report on the written evaluation set of the first site (`heldout/written_eval`), per slice.

For each slice: how many comments the default policy approves, holds and rejects against what a
careful moderator expects, plus the score that slice is about (threat on threats, propaganda on civil
same-topic comments and endorsements, identity attack on group hate) and, for the Ukrainian, Kazakh and
mixed slices, the figures per language.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from classifiers.heldout import HeldoutSet
from classifiers.scoring import ScoreResult

# (attribute, threshold) reported per slice: the share of the slice at or above it.
FOCUS = {
    "civil_topic": ("propaganda", 0.4),
    "endorses_narrative": ("propaganda", 0.4),
    "sarcasm": ("propaganda", 0.4),
    "threat": ("threat", 0.5),
    "threat_negative": ("threat", 0.5),
    "group_hate": ("identity_attack", 0.5),
    "group_civil": ("identity_attack", 0.5),
    "insult": ("toxicity", 0.4),
}
Decide = Callable[[ScoreResult, str], str]  # (scores, text) -> "approve" | "hold" | "reject"


def _slice_report(
    results: Sequence[ScoreResult], actions: Sequence[str], expected: Sequence[str], name: str
) -> dict:
    n = len(results)
    counts = {a: sum(1 for x in actions if x == a) for a in ("approve", "hold", "reject")}
    # A comment a moderator would hold or reject is handled right when it is kept off the page (held or
    # rejected: the default policy only holds threats and group hate); one to approve, when approved.
    right = sum(
        1 for got, want in zip(actions, expected, strict=True) if (got == "approve") == (want == "approve")
    )
    report: dict = {"n": n, **counts, "as_expected": round(right / n, 4) if n else None}
    if name in FOCUS:
        attribute, threshold = FOCUS[name]
        values = np.array([r.values()[attribute] for r in results])
        report[f"{attribute}>={threshold}"] = round(float((values >= threshold).mean()), 4) if n else None
        report[f"{attribute}_median"] = round(float(np.median(values)), 4) if n else None
    return report


def written_report(results: Sequence[ScoreResult], dataset: HeldoutSet, decide: Decide) -> dict:
    actions = [decide(r, text) for r, text in zip(results, dataset.texts, strict=True)]
    sets = dataset.labels["set"]
    langs = dataset.labels["lang"]
    expected = dataset.labels["expected"]
    ids = dataset.labels["id"]
    out: dict = {}
    for name in dict.fromkeys(sets):
        rows = [i for i, s in enumerate(sets) if s == name and not ids[i].startswith("rep-")]
        if not rows:
            continue
        out[name] = _slice_report(
            [results[i] for i in rows], [actions[i] for i in rows], [expected[i] for i in rows], name
        )
        if name in ("uk_kk", "mixed", "threat", "civil_topic"):
            for lang in dict.fromkeys(langs[i] for i in rows):
                part = [i for i in rows if langs[i] == lang]
                out[f"{name}:{lang}"] = _slice_report(
                    [results[i] for i in part], [actions[i] for i in part], [expected[i] for i in part], name
                )
    reported = [i for i, x in enumerate(ids) if x.startswith("rep-")]
    out["reported"] = [
        {
            "text": dataset.texts[i],
            "expected": expected[i],
            "action": actions[i],
            **{
                k: round(v, 3)
                for k, v in results[i].values().items()
                if k in ("toxicity", "propaganda", "threat", "identity_attack")
            },
        }
        for i in reported
    ]
    return out
