"""Topic swap on the written evaluation set: how far propaganda moves when names are swapped.

Usage: MODERATION_HOME=... python benchmarks/topic_swap.py MODEL_DIR

Civil comments of `heldout/written_eval` (set `civil_topic`) with Russland -> Frankreich, Putin -> Macron,
Kasachstan -> Belgien (and the English names) are scored before and after, in both profiles; prints how
many pairs moved by more than 0.05 and which.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from classifiers.scoring import Scorer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the swap pairs live with the tests
from tests.test_encoder import civil_topic_pairs  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("model_dir", type=Path)
    args = parser.parse_args()
    pairs = civil_topic_pairs()
    for profile in ("fast", "full"):
        scorer = Scorer.load(args.model_dir, profile=profile)
        before = scorer.score([a for a, _ in pairs])
        after = scorer.score([b for _, b in pairs])
        moved = np.array([abs(x.propaganda - y.propaganda) for x, y in zip(before, after, strict=True)])
        print(
            f"{scorer.profile}: {len(pairs)} pairs, max {moved.max():.3f}, median {np.median(moved):.3f}, "
            f"over 0.05: {int((moved > 0.05).sum())}"
        )
        for (text, _), x, y in zip(pairs, before, after, strict=True):
            if abs(x.propaganda - y.propaganda) > 0.05:
                print(f"    {x.propaganda:.2f} -> {y.propaganda:.2f}  {text[:100]}")


if __name__ == "__main__":
    main()
