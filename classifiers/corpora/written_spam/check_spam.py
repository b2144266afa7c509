#!/usr/bin/env python3
"""Check spam.csv: header, ids, enums, counts, lengths, script, phone numbers, duplicates.

Standard library only. Run: python3 check_spam.py
Prints the counts per language x label and per kind, and exits with status 1 if any problem is found.
"""

from __future__ import annotations

import csv
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
FILE = HERE / "spam.csv"
HEADER = ["id", "lang", "label", "kind", "text"]
LANGS = ("de", "en", "ru")
KINDS1 = ("ad", "money", "crypto", "dating_adult", "channel_promo", "seo_link", "scam", "off_topic_repost")
KINDS0 = (
    "source_link",
    "prices_talk",
    "product_mention",
    "own_experience",
    "recommendation",
    "question",
    "civil_topic",
)
EXPECTED = {
    ("de", "1"): 210,
    ("de", "0"): 210,
    ("en", "1"): 70,
    ("en", "0"): 70,
    ("ru", "1"): 70,
    ("ru", "0"): 70,
}
MINLEN, MAXLEN, MINWORDS, MAXSENT = 20, 400, 5, 4
JACCARD = 0.5
# share of spam rows per language that mention the article's region or topic (outside URLs)
TOPIC_SHARE = (0.25, 0.45)
TOPIC = re.compile(
    r"kasach|kazakh|казах|almaty|алматы|astana|астан|russ|росси|russia|moskau|moscow|москв|kreml|кремл"
    r"|petersburg|петербург|tenge|тенге|₸|rubel|rouble|рубл|₽|sanktion|sanction|санкци|karaganda|караганд"
    r"|schymkent|шымкент|aktau|ekibastus|atyrau|kaspisch|caspian",
    re.IGNORECASE,
)
URL = re.compile(
    r"(?:https?://)?(?:www\.)?[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}(?:/\S*)?|@\w+|t\.me/\S+", re.IGNORECASE
)
# phone-like digit runs: international (+49 ...) or national with a leading 0
PHONE = re.compile(r"\+\d[\d \-()]{7,}\d|\b0\d{2,4}[ \-]\d[\d \-]{4,}\d")
CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)

problems: list[str] = []


def norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"[^\w\s]", "", text)
    return re.sub(r"\s+", " ", text).strip()


def shingles(text: str, n: int = 4) -> set[str]:
    t = norm(text)
    return {t[i : i + n] for i in range(max(1, len(t) - n + 1))}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def sentences(text: str) -> int:
    return len([s for s in re.split(r"(?<=[.!?…])\s+", text.strip()) if s])


raw = FILE.read_bytes()
if b"\r" in raw:
    problems.append("CR characters in file (expected LF line endings)")
with FILE.open(encoding="utf-8", newline="") as fh:
    reader = csv.reader(fh)
    header = next(reader)
    rows = list(reader)
if header != HEADER:
    problems.append(f"bad header {header}")

good = []
for n, row in enumerate(rows, 1):
    if len(row) != len(HEADER):
        problems.append(f"row {n}: {len(row)} fields")
        continue
    rid, lang, label, kind, text = row
    good.append(row)
    if rid != f"ws1-{n:04d}":
        problems.append(f"row {n}: id {rid!r}, expected ws1-{n:04d}")
    if lang not in LANGS:
        problems.append(f"{rid}: lang {lang!r}")
    if label == "1":
        if kind not in KINDS1:
            problems.append(f"{rid}: kind {kind!r} for label 1")
    elif label == "0":
        if kind not in KINDS0:
            problems.append(f"{rid}: kind {kind!r} for label 0")
    else:
        problems.append(f"{rid}: label {label!r}")
    if "\n" in text or "\r" in text:
        problems.append(f"{rid}: line break")
    if text != text.strip() or "  " in text:
        problems.append(f"{rid}: stray whitespace")
    if not MINLEN <= len(text) <= MAXLEN:
        problems.append(f"{rid}: length {len(text)}")
    if len(text.split()) < MINWORDS:
        problems.append(f"{rid}: {len(text.split())} words (min {MINWORDS})")
    if sentences(text) > MAXSENT:
        problems.append(f"{rid}: {sentences(text)} sentences (max {MAXSENT})")
    words = URL.sub(" ", text)
    if lang == "ru" and len(CYRILLIC.findall(words)) < 10:
        problems.append(f"{rid}: ru row with little Cyrillic")
    if lang in ("de", "en") and CYRILLIC.search(text):
        problems.append(f"{rid}: Cyrillic in a {lang} row")
    for phone in PHONE.findall(text):
        if "000" not in phone and "555-01" not in phone:
            problems.append(f"{rid}: phone number {phone!r} is not an obviously fake one")

counts = Counter((r[1], r[2]) for r in good)
for key, want in EXPECTED.items():
    if counts[key] != want:
        problems.append(f"count {key}: {counts[key]}, expected {want}")
kc = Counter((r[3], r[1]) for r in good)
for lang in LANGS:
    for kind in KINDS1 + KINDS0:
        if kc[(kind, lang)] == 0:
            problems.append(f"no rows of kind {kind!r} in {lang}")

# share of spam that mentions the article's region or topic
topic = {}
for lang in LANGS:
    spam = [r for r in good if r[1] == lang and r[2] == "1"]
    hits = sum(1 for r in spam if TOPIC.search(URL.sub(" ", r[4])))
    topic[lang] = (hits, len(spam))
    if spam and not TOPIC_SHARE[0] <= hits / len(spam) <= TOPIC_SHARE[1]:
        problems.append(f"{lang}: {hits}/{len(spam)} spam rows mention the topic, outside {TOPIC_SHARE}")

# exact and normalised duplicates
seen: dict[str, str] = {}
for r in good:
    key = norm(r[4])
    if key in seen:
        problems.append(f"{r[0]}: duplicate of {seen[key]}")
    seen.setdefault(key, r[0])

# near duplicates (character 4-gram Jaccard), all pairs within the file
grams = [(r[0], shingles(r[4])) for r in good]
max_j, max_pair = 0.0, ("", "")
for a in range(len(grams)):
    ida, ga = grams[a]
    for b in range(a + 1, len(grams)):
        idb, gb = grams[b]
        j = jaccard(ga, gb)
        if j > max_j:
            max_j, max_pair = j, (ida, idb)
        if j >= JACCARD:
            problems.append(f"{ida} ~ {idb}: Jaccard {j:.2f}")

# report
print(f"{FILE.name}: {len(rows)} rows")
print("lang/label:", ", ".join(f"{lg}/{b}={counts[(lg, b)]}" for lg in LANGS for b in ("1", "0")))
for label, kinds in (("1", KINDS1), ("0", KINDS0)):
    print(f"label {label} kinds (de/en/ru/total):")
    for k in kinds:
        print(
            f"  {k:18s} {kc[(k, 'de')]:4d} {kc[(k, 'en')]:4d} {kc[(k, 'ru')]:4d} "
            f"{sum(kc[(k, lg)] for lg in LANGS):5d}"
        )
print("spam mentioning the topic:", ", ".join(f"{lg} {h}/{t}" for lg, (h, t) in topic.items()))
for label in ("1", "0"):
    lens = [len(r[4]) for r in good if r[2] == label]
    print(f"length label {label}: min {min(lens)}, max {max(lens)}, mean {sum(lens) / len(lens):.0f}")
print(f"max 4-gram Jaccard within file: {max_j:.2f} ({max_pair[0]} ~ {max_pair[1]})")
if problems:
    print(f"{len(problems)} problem(s):")
    for p in problems:
        print("  " + p)
    sys.exit(1)
print("OK: no problems found")
