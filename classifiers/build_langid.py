"""Build `catalogue/langid_trigrams.json`: German-vs-English log-odds of character trigrams.

The language detector decides most comments by stopwords. Short comments often have none ("Spinner",
"Schwachsinn. Punkt.", "ungebildeter Prolet !"); for those it sums these log-odds. The table is counted
on the training corpora only (German: GermEval 2018/2019/2021 and GerMS-AT training rows; English:
Davidson, SemEval-2021 Task 6 training memes, EUvsDisinfo claims) and shipped as data, so detection
needs no model.

Usage: python -m classifiers.build_langid
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable

from classifiers.catalogue import CATALOGUE_DIR
from classifiers.corpora import load_corpora

GERMAN = ("germeval2018", "germeval2019", "germeval2021", "germs_at")
ENGLISH = ("davidson_hate_offensive", "semeval2021_task6", "euvsdisinfo")
MIN_COUNT = 20
MIN_LOG_ODDS = 1.0
_NOISE = re.compile(r"@\w+|#\w+|https?://\S+|www\.\S+|\|LBR\||&#?\w+;")
_WORD = re.compile(r"[^\W\d_]+")


def word_trigrams(text: str) -> Iterable[str]:
    """Space-padded trigrams of each letter-only word of the casefolded text."""
    for word in _WORD.findall(_NOISE.sub(" ", text).casefold()):
        padded = f" {word} "
        for i in range(len(padded) - 2):
            yield padded[i : i + 3]


def build() -> dict:
    corpora = load_corpora()
    counts = {"de": Counter[str](), "en": Counter[str]()}
    for lang, names in (("de", GERMAN), ("en", ENGLISH)):
        for name in names:
            for example in corpora.get(name, []):
                counts[lang].update(word_trigrams(example.text))
    vocabulary = set(counts["de"]) | set(counts["en"])
    totals = {lang: sum(c.values()) + len(vocabulary) for lang, c in counts.items()}
    table = {}
    for trigram in sorted(vocabulary):
        de, en = counts["de"][trigram], counts["en"][trigram]
        if de + en < MIN_COUNT:
            continue
        log_odds = math.log((de + 1) / totals["de"]) - math.log((en + 1) / totals["en"])
        if abs(log_odds) >= MIN_LOG_ODDS:
            table[trigram] = round(log_odds, 2)
    return {
        "note": "log P(trigram | German) - log P(trigram | English), add-one smoothed; "
        "built by `python -m classifiers.build_langid` from the training corpora",
        "corpora": {"de": list(GERMAN), "en": list(ENGLISH)},
        "log_odds": table,
    }


def main() -> None:
    data = build()
    path = CATALOGUE_DIR / "langid_trigrams.json"
    path.write_text(json.dumps(data, ensure_ascii=False, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {len(data['log_odds'])} trigrams to {path}")


if __name__ == "__main__":
    main()
