"""Write the shipped e5 embeddings of the training texts (`classifiers/seed_embeddings/e5-small-q4.npz`).

A first training on a new machine looks these up instead of embedding about 24,000 texts with e5 (about
ten minutes on two cores). Run it after the training corpora change; texts it does not cover are
embedded at training time and cached, so a stale file costs time, never correctness:

    MODERATION_EMBEDDINGS=var/embeddings .venv/bin/python scripts/seed_embeddings.py
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from classifiers.augment import catalogue_examples  # noqa: E402
from classifiers.catalogue import load_catalogue  # noqa: E402
from classifiers.corpora import load_corpora  # noqa: E402
from classifiers.encoder import SEED_DIR, E5Encoder, cache_directory, encoder_input, text_key, write_seed  # noqa: E402
from classifiers.names import mask_names  # noqa: E402
from classifiers.stack import LANGUAGE_HEADS, REFINED, language_head_source  # noqa: E402
from classifiers.training import head_label  # noqa: E402


def main() -> None:
    catalogue = load_catalogue(None)
    corpora = load_corpora(licences=None, quick=False, seed=0, semeval_names=catalogue.semeval_names)
    examples = [e for items in corpora.values() for e in items] + catalogue_examples(catalogue)
    # The toxicity refiner's rows and the language heads' (`classifiers.stack.LanguageHeads`).
    wanted = [e for e in examples if head_label(REFINED, e, False) is not None]
    wanted += [
        e
        for e in examples
        if language_head_source(e.source)
        and any(head_label(head, e, False) is not None for head in LANGUAGE_HEADS)
    ]
    texts = sorted({mask_names(e.text) for e in wanted})
    encoder = E5Encoder(cache_directory(), threads=os.cpu_count() or 1)
    started = time.perf_counter()
    vectors = encoder.encode(texts, progress=print)
    by_key = {text_key(encoder_input(t)): v for t, v in zip(texts, vectors, strict=True)}
    path = SEED_DIR / f"{encoder.name}.npz"
    write_seed(path, by_key)
    size, seconds = path.stat().st_size / 1e6, time.perf_counter() - started
    print(f"{len(by_key)} embeddings in {path} ({size:.1f} MB, {seconds:.0f}s)")


if __name__ == "__main__":
    main()
