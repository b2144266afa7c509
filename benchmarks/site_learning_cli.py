"""The site-learning measurement through the product's own commands, on a stand-in archive.

    PYTHONPATH=. .venv/bin/python benchmarks/site_learning_cli.py --generic-registry DIR \
        [--data ../shared/data/germs_at]

GerMS-AT (moderator-annotated forum comments of an Austrian newspaper; CC BY-NC-SA 4.0) stands in for a
newsroom's archive: its train/dev file, in file order, is the site's history (label: the annotators'
majority says sexist -> rejected; ties dropped); its own test split is the held-out set, used only for
the figures printed here. For 1,000 / 3,000 / all labels, exactly as a newsroom would run it:

    moderation sites create S; moderation labels import archive.jsonl --site S
    moderation retrain --site S; moderation score held.jsonl --site S -o out.jsonl

then ROC AUC of `scores.site_reject` on the held-out comments, beside the generic model's scores (a
model trained without GerMS-AT: `moderation train --exclude germs_at`, its registry given as
`--generic-registry`) and a plain word+char TF-IDF logistic regression trained on the site's labels alone.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline, make_union


def majority(labels: list[int]) -> int | None:
    votes = sum(1 for label in labels if label >= 1)
    if votes * 2 == len(labels):
        return None
    return int(votes * 2 > len(labels))


def load(data: Path) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    history = []
    with gzip.open(data / "germeval-competition-traindev.jsonl.gz", "rt", encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            label = majority([int(a["label"].split("-")[0]) for a in row["annotations"]])
            if label is not None and row["text"].strip():
                history.append((row["text"], label))
    with gzip.open(data / "germeval-competition-targets.json.gz", "rt", encoding="utf-8") as handle:
        targets = json.load(handle)
    gold = {t["id"]: t["bin_maj"] for t in targets if not isinstance(t["bin_maj"], list)}
    held = []
    with gzip.open(data / "germeval-competition-test.jsonl.gz", "rt", encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            if row["id"] in gold and row["text"].strip():
                held.append((row["text"], int(gold[row["id"]])))
    return history, held


def plain_auc(train: list[tuple[str, int]], held: list[tuple[str, int]]) -> float:
    pipeline = make_pipeline(
        make_union(
            TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
        ),
        LogisticRegression(solver="liblinear"),
    )
    search = GridSearchCV(pipeline, {"logisticregression__C": [0.5, 1, 2, 4, 8]}, cv=5, scoring="roc_auc")
    search.fit([t for t, _ in train], [y for _, y in train])
    return float(roc_auc_score([y for _, y in held], search.decision_function([t for t, _ in held])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generic-registry", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/germs_at"))
    parser.add_argument("--sizes", default="1000,3000,all")
    args = parser.parse_args()
    history, held = load(args.data)
    home = Path(tempfile.mkdtemp(prefix="site-learning-"))
    env = {**os.environ, "MODERATION_HOME": str(home), "SECRET_KEY": "bench"}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    generic = sorted(p for p in args.generic_registry.iterdir() if (p / "model_card.json").is_file())[-1]
    (home / "models").mkdir(parents=True)
    shutil.copytree(generic, home / "models" / generic.name)

    def cli(*argv: str, **kw: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "moderation", *argv],
            env=env,
            check=True,
            text=True,
            capture_output=True,
            **kw,
        )

    cli("models", "promote", generic.name)
    source = home / "held.jsonl"
    source.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t, _ in held))
    y = np.array([label for _, label in held])
    rows = []
    for size in args.sizes.split(","):
        n = len(history) if size == "all" else int(size)
        site = f"s{n}"
        archive = home / f"archive-{n}.jsonl"
        archive.write_text(
            "".join(
                json.dumps({"text": t, "action": "reject" if r else "approve", "external_id": f"g{i}"}) + "\n"
                for i, (t, r) in enumerate(history[:n])
            )
        )
        cli("sites", "create", site)
        cli("labels", "import", str(archive), "--site", site)
        started = time.perf_counter()
        verdict = cli("retrain", "--site", site).stdout.strip()
        seconds = time.perf_counter() - started
        out = home / f"out-{n}.jsonl"
        cli("score", str(source), "--site", site, "-o", str(out))
        scored = [json.loads(line) for line in out.read_text().splitlines()]
        site_reject = [s["scores"]["site_reject"] for s in scored]
        site_auc = roc_auc_score(y, site_reject) if None not in site_reject else float("nan")
        tox = roc_auc_score(y, [s["scores"]["toxicity"] for s in scored])
        ident = roc_auc_score(y, [s["scores"]["attributes"]["identity_attack"] for s in scored])
        rows.append((n, tox, ident, plain_auc(history[:n], held), site_auc, seconds, verdict))
        print(f"{n} done: {verdict}", file=sys.stderr, flush=True)
    print(f"held-out: {len(held)} comments, {int(y.sum())} rejected; generic model {generic.name}")
    print(
        "| labels | generic toxicity | generic identity_attack | plain TF-IDF (site labels) | site model |",
        end="",
    )
    print(" retrain s |")
    print("|---:|---:|---:|---:|---:|---:|")
    for n, tox, ident, plain, site_auc, seconds, _ in rows:
        print(f"| {n:,} | {tox:.3f} | {ident:.3f} | {plain:.3f} | **{site_auc:.3f}** | {seconds:.0f} |")
    for n, *_, verdict in rows:
        print(f"- {n:,}: {verdict}")


if __name__ == "__main__":
    main()
