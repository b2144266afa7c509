#!/usr/bin/env python3
"""Check spam.csv and spam_links.csv: header, ids, enums, counts, lengths, script, phone numbers, links,
duplicates.

Standard library only. Run: python3 check_spam.py
Prints the counts per language x label and per kind for each file, and exits with status 1 if any problem
is found.
"""

from __future__ import annotations

import csv
import re
import sys
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
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
# second batch: every row has a link; spam disguised as a source, genuine comments citing one
KINDS1_LINKS = ("ad", "money", "crypto", "channel_promo", "seo_link", "scam")
EXPECTED_LINKS = {
    ("de", "1"): 60,
    ("de", "0"): 180,
    ("en", "1"): 20,
    ("en", "0"): 60,
    ("ru", "1"): 20,
    ("ru", "0"): 60,
}
MINLEN, MAXLEN, MINWORDS, MAXSENT = 20, 400, 5, 4
JACCARD = 0.5
# share of spam rows per language that mention the article's region or topic (outside URLs)
TOPIC_SHARE = (0.25, 0.45)
TOPIC_SHARE_LINKS = (0.35, 0.75)
TOPIC = re.compile(
    r"kasach|kazakh|казах|almaty|алматы|astana|астан|russ|росси|russia|moskau|moscow|москв|kreml|кремл"
    r"|petersburg|петербург|tenge|тенге|₸|rubel|rouble|рубл|₽|sanktion|sanction|санкци|karaganda|караганд"
    r"|schymkent|шымкент|aktau|ekibastus|atyrau|kaspisch|caspian",
    re.IGNORECASE,
)
URL = re.compile(
    r"(?:https?://)?(?:www\.)?[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}(?:/\S*)?|@\w+|t\.me/\S+", re.IGNORECASE
)
# a link proper (not an @handle): a URL with a scheme or www., or a domain with a known top-level domain
TLDS = (
    "com|de|ru|net|org|io|kz|eu|uk|int|edu|gov|info|xyz|shop|top|online|site|ly|be|me|media|world|tv|ch"
    "|at|asia|fm|app|su|am|kg|uz|cc|link|club|biz|live|pro|store|news"
)
LINK = re.compile(
    r"https?://\S+|\bwww\.\S+|(?<![\w@.-])(?:[a-z0-9-]+\.)+(?:" + TLDS + r")(?![\w-])(?:/\S*)?",
    re.IGNORECASE,
)
# phone-like digit runs: international (+49 ...) or national with a leading 0
PHONE = re.compile(r"\+\d[\d \-()]{7,}\d|\b0\d{2,4}[ \-]\d[\d \-]{4,}\d")
CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)


@dataclass(frozen=True)
class Spec:
    prefix: str
    expected: dict[tuple[str, str], int]
    kinds1: tuple[str, ...]
    topic_share: tuple[float, float]
    need_link: bool  # every row must contain a URL or domain
    against: tuple[str, ...] = ()  # files checked before this one, for duplicates across files


FILES = {
    "spam.csv": Spec("ws1", EXPECTED, KINDS1, TOPIC_SHARE, need_link=False),
    "spam_links.csv": Spec(
        "ws2", EXPECTED_LINKS, KINDS1_LINKS, TOPIC_SHARE_LINKS, need_link=True, against=("spam.csv",)
    ),
}

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


def ends_with_link(text: str) -> bool:
    """True if the comment ends with a link (trailing punctuation, brackets and emoji aside)."""
    t = re.sub(r"[\W_]+$", "", text)
    return any(m.end() >= len(t) for m in LINK.finditer(t))


def read(name: str) -> tuple[list[str], list[list[str]]]:
    path = HERE / name
    raw = path.read_bytes()
    if b"\r" in raw:
        problems.append(f"{name}: CR characters in file (expected LF line endings)")
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = list(reader)
    return header, rows


def check_file(name: str, spec: Spec) -> list[list[str]]:
    """Check one file; append to `problems`, print its counts; return the well-formed rows."""
    prefix, expected, kinds1 = spec.prefix, spec.expected, spec.kinds1
    header, rows = read(name)
    if header != HEADER:
        problems.append(f"{name}: bad header {header}")

    good = []
    for n, row in enumerate(rows, 1):
        if len(row) != len(HEADER):
            problems.append(f"{name}: row {n}: {len(row)} fields")
            continue
        rid, lang, label, kind, text = row
        good.append(row)
        if rid != f"{prefix}-{n:04d}":
            problems.append(f"row {n}: id {rid!r}, expected {prefix}-{n:04d}")
        if lang not in LANGS:
            problems.append(f"{rid}: lang {lang!r}")
        if label == "1":
            if kind not in kinds1:
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
        if spec.need_link and not LINK.search(text):
            problems.append(f"{rid}: no URL or domain")

    counts = Counter((r[1], r[2]) for r in good)
    for key, want in expected.items():
        if counts[key] != want:
            problems.append(f"{name}: count {key}: {counts[key]}, expected {want}")
    kc = Counter((r[3], r[1]) for r in good)
    for lang in LANGS:
        for kind in kinds1 + KINDS0:
            if kc[(kind, lang)] == 0:
                problems.append(f"{name}: no rows of kind {kind!r} in {lang}")

    # share of spam that mentions the article's region or topic
    topic = {}
    low, high = spec.topic_share
    for lang in LANGS:
        spam = [r for r in good if r[1] == lang and r[2] == "1"]
        hits = sum(1 for r in spam if TOPIC.search(URL.sub(" ", r[4])))
        topic[lang] = (hits, len(spam))
        if spam and not low <= hits / len(spam) <= high:
            share = f"{hits}/{len(spam)} spam rows mention the topic"
            problems.append(f"{name}: {lang}: {share}, outside {(low, high)}")

    # exact and normalised duplicates
    seen: dict[str, str] = {}
    for r in good:
        text_key = norm(r[4])
        if text_key in seen:
            problems.append(f"{r[0]}: duplicate of {seen[text_key]}")
        seen.setdefault(text_key, r[0])

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
    print(f"{name}: {len(rows)} rows")
    print("lang/label:", ", ".join(f"{lg}/{b}={counts[(lg, b)]}" for lg in LANGS for b in ("1", "0")))
    for label, kinds in (("1", kinds1), ("0", KINDS0)):
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
    if spec.need_link:
        for label in ("1", "0"):
            rs = [r for r in good if r[2] == label]
            scheme = sum(1 for r in rs if re.search(r"https?://", r[4]))
            end = sum(1 for r in rs if ends_with_link(r[4]))
            print(f"label {label}: {scheme}/{len(rs)} with http(s)://, {end}/{len(rs)} end with a link")
    print(f"max 4-gram Jaccard within file: {max_j:.2f} ({max_pair[0]} ~ {max_pair[1]})")
    return good


def check_against(name: str, rows: list[list[str]], other: str, other_rows: list[list[str]]) -> None:
    """Exact, normalised and near duplicates (4-gram Jaccard) between two files."""
    seen = {norm(r[4]): r[0] for r in other_rows}
    other_grams = [(r[0], shingles(r[4])) for r in other_rows]
    max_j, max_pair = 0.0, ("", "")
    for r in rows:
        if norm(r[4]) in seen:
            problems.append(f"{r[0]}: duplicate of {seen[norm(r[4])]} in {other}")
        g = shingles(r[4])
        for oid, og in other_grams:
            j = jaccard(g, og)
            if j > max_j:
                max_j, max_pair = j, (r[0], oid)
            if j >= JACCARD:
                problems.append(f"{r[0]} ~ {oid} ({other}): Jaccard {j:.2f}")
    print(f"max 4-gram Jaccard {name} against {other}: {max_j:.2f} ({max_pair[0]} ~ {max_pair[1]})")


checked: dict[str, list[list[str]]] = {}
for fname, fspec in FILES.items():
    checked[fname] = check_file(fname, fspec)
    for oname in fspec.against:
        check_against(fname, checked[fname], oname, checked[oname])
    print()

if problems:
    print(f"{len(problems)} problem(s):")
    for p in problems:
        print("  " + p)
    sys.exit(1)
print("OK: no problems found")
