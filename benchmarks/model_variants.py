"""Model variants compared on training data only (how the written corpora's labels and the name masking
were chosen).

Usage: python benchmarks/model_variants.py VARIANT
VARIANT: current | written-toxicity | countries-only | no-mask

Trains the fast profile (n-gram heads) with the variant and prints one JSON line: the toxicity head's
leave-one-corpus-out AUC and F1 on GermEval 2018 and 2021, its CV AUC per corpus, propaganda CV AUC, the
GermEval 2018 CV figures, and how many civil comments of the written topic TRAINING corpus move their
propaganda score by more than 0.05 when Russland/Putin/Kasachstan are swapped for Frankreich/Macron/
Belgien. No held-out set is read.

- current: what the code does (written corpora label only their own heads; countries and leaders masked)
- written-toxicity: the written corpora also label toxicity (threats and attacks toxic, civil not)
- countries-only: leaders' names are not masked
- no-mask: nothing is masked
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path

import numpy as np

import classifiers.names as names
import classifiers.training as training
from classifiers.corpora import WRITTEN, load_written_topic_comments
from classifiers.scoring import Scorer

SWAPS = (("Russland", "Frankreich"), ("Putin", "Macron"), ("Kasachstan", "Belgien"), ("Russia", "France"))


def _with_written_toxicity(**kwargs):  # type: ignore[no-untyped-def]
    out = ORIGINAL_LOAD(**kwargs)
    for name, items in out.items():
        if name not in WRITTEN:
            continue
        for e in items:
            if e.source == "written_threats":
                e.labels["toxicity"] = e.labels["threat"]
            elif e.source == "written_group_hate":
                e.labels["toxicity"] = e.labels["identity_attack"]
            elif e.labels.get("propaganda") == 0.0:
                e.labels["toxicity"] = 0.0
    return out


ORIGINAL_LOAD = training.load_corpora


def _swap(text: str) -> str | None:
    out = text
    for old, new in SWAPS:
        out = re.sub(rf"\b{old}(s?)\b", rf"{new}\1", out)
    return out if out != text else None


def main() -> None:
    variant = sys.argv[1] if len(sys.argv) > 1 else "current"
    if variant == "written-toxicity":
        training.load_corpora = _with_written_toxicity
    elif variant == "countries-only":
        leaders = {n + e for n in names._LEADERS for e in ("", "s", "а", "у", "ым", "е", "ом")}
        names.NAMES = frozenset(n for n in names.NAMES if n not in leaders)
    elif variant == "no-mask":
        names.NAMES = frozenset()
    elif variant != "current":
        raise SystemExit(__doc__)
    root = Path(tempfile.mkdtemp())
    version = training.train(root, seed=0)
    card = json.loads((root / version / "model_card.json").read_text())
    metrics = card["metrics"]
    transfer = metrics["toxicity_transfer"]
    out: dict = {
        "variant": variant,
        "toxicity_transfer_auc_f1": {
            k: (v["at_threshold"]["roc_auc"], v["at_threshold"]["official_macro_f1"])
            for k, v in transfer.items()
        },
        "toxicity_cv_auc": {
            k: m.get("roc_auc") for k, m in metrics["toxicity"].items() if isinstance(m, dict)
        },
        "propaganda_cv_auc": {
            k: m.get("roc_auc") for k, m in metrics["propaganda"].items() if isinstance(m, dict)
        },
        "germeval2018_cv": metrics.get("germeval2018_cv"),
    }
    pairs = [
        (e.text, swapped)
        for e in load_written_topic_comments()
        if e.labels.get("propaganda") == 0.0 and (swapped := _swap(e.text)) is not None
    ]
    scorer = Scorer.load(root / version, profile="fast")
    before = scorer.score([a for a, _ in pairs])
    after = scorer.score([b for _, b in pairs])
    moved = np.array([abs(x.propaganda - y.propaganda) for x, y in zip(before, after, strict=True)])
    out.update(
        swap_pairs=len(pairs), swap_over_005=int((moved > 0.05).sum()), swap_max=round(float(moved.max()), 3)
    )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
