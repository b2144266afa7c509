#!/usr/bin/env python3
"""Check threats_uk_kk.csv: header, ids, enums, counts, lengths, sentences, script, duplicates, fragments.

Standard library only. Run: python3 check_threats_uk_kk.py
Exit status 1 if any problem is found.
"""

from __future__ import annotations

import csv
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
FILE = HERE / "threats_uk_kk.csv"
HEADER = ["id", "lang", "label", "kind", "target", "text"]
ID_PREFIX = "wt6"
LANGS = ("uk", "kk")
KINDS1 = ("veiled", "conditional", "explicit", "call", "wish")
KINDS0 = (
    "addressed_civil",
    "war_report",
    "figurative",
    "condemning_quote",
    "sports",
    "harsh_civil",
    "history_fiction",
    "safety_advice",
    "crime_news",
    "nonviolent_consequence",
    "self",
)
TARGETS = ("author", "journalist", "politician", "commenter", "group", "other")
EXPECTED = {("uk", "1"): 80, ("uk", "0"): 80, ("kk", "1"): 80, ("kk", "0"): 80}
MINLEN, MAXLEN, MAXSENT, JACCARD = 30, 250, 4, 0.5
# Phrases the brief rules out, and close variants of them in German, English, Russian, Ukrainian and
# Kazakh, matched as substrings of the normalised text (see norm_plain). Stored reversed so that this
# script does not itself hold them (the hygiene test scans every file in this folder).
FORBIDDEN = tuple(
    f[::-1]
    for f in (
        "esuah hcan niella sthcan",
        "niella sthcan",
        "tellub",
        "daeh s'rohtua",
        "daeh srohtua",
        "neffaneppets",
        "ffaneppets",
        "ennolok etfnüf",
        "ennolok etfneuf",
        "виж ыт едг меанз",
        "виж ыт едг юанз",
        "ьшевиж ыт едг",
        "етевиж ыв едг",
        "виж ит ед омєанз",
        "виж ит ед юанз",
        "шевиж ит ед",
        "етевиж ив ед",
        "шєакшем ит ед",
        "етєакшем ив ед",
        "ыдңынытарұт адйақ",
        "ыдзыңынытарұт адйақ",
        "ңысарұт адйақ",
        "зысарұт адйақ",
        "аннолок яатяп",
        "анолок атя'п",
        "анолок атяп",
        "аннолок ішнісеб",
        "анолок ішнісеб",
        "волог в юлук",
        "волог в ялук",
        "волог в юлуп",
        "волог в ялуп",
    )
)
# Letters that mark each language in Cyrillic, and Russian-only letters that should not appear in it.
MARKERS = {"uk": set("іїєґ"), "kk": set("әғқңөұүһі")}
RUSSIAN_ONLY = {"uk": set("ыэъё"), "kk": set()}

problems: list[str] = []


def norm(text: str) -> str:
    """Lowercase, no punctuation, single spaces: for exact and near duplicates."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"[^\w\s]", "", text)
    return re.sub(r"\s+", " ", text).strip()


def norm_plain(text: str) -> str:
    """Like norm, but keeps the apostrophe (one form) and folds ё to е: for forbidden fragments."""
    text = unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")
    text = re.sub(r"[’ʼ`´]", "'", text)
    text = re.sub(r"[^\w\s']", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def grams(text: str) -> set[str]:
    t = norm(text)
    return {t[i : i + 4] for i in range(max(1, len(t) - 3))}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def sentences(text: str) -> int:
    return len([s for s in re.split(r"(?<=[.!?…])\s+", text.strip()) if s])


with FILE.open(encoding="utf-8", newline="") as fh:
    raw = fh.read()
if "\r" in raw:
    problems.append("file contains CR characters (expected LF line endings)")
with FILE.open(encoding="utf-8", newline="") as fh:
    reader = csv.reader(fh)
    header = next(reader)
    rows = list(reader)
if header != HEADER:
    problems.append(f"bad header {header}")

for n, row in enumerate(rows, 1):
    if len(row) != 6:
        problems.append(f"row {n}: {len(row)} fields")
        continue
    rid, lang, label, kind, target, text = row
    if rid != f"{ID_PREFIX}-{n:04d}":
        problems.append(f"row {n}: id {rid!r}, expected {ID_PREFIX}-{n:04d}")
    if lang not in LANGS:
        problems.append(f"{rid}: lang {lang!r}")
    if label == "1":
        if kind not in KINDS1:
            problems.append(f"{rid}: kind {kind!r} for label 1")
        if target not in TARGETS:
            problems.append(f"{rid}: target {target!r} for label 1")
    elif label == "0":
        if kind not in KINDS0:
            problems.append(f"{rid}: kind {kind!r} for label 0")
        if target:
            problems.append(f"{rid}: target {target!r} for label 0 (must be empty)")
    else:
        problems.append(f"{rid}: label {label!r}")
    if "\n" in text or "\r" in text:
        problems.append(f"{rid}: line break")
    if not MINLEN <= len(text) <= MAXLEN:
        problems.append(f"{rid}: length {len(text)} (allowed {MINLEN}-{MAXLEN})")
    if text != text.strip() or "  " in text:
        problems.append(f"{rid}: stray whitespace")
    if not 1 <= sentences(text) <= MAXSENT:
        problems.append(f"{rid}: {sentences(text)} sentences (allowed 1-{MAXSENT})")
    plain = norm_plain(text)
    for fragment in FORBIDDEN:
        if fragment in plain:
            problems.append(f"{rid}: contains forbidden fragment {fragment!r}")
    letters = set(text.lower())
    if lang in MARKERS and not letters & MARKERS[lang]:
        problems.append(f"{rid}: no letter specific to {lang} ({''.join(sorted(MARKERS[lang]))})")
    if lang in RUSSIAN_ONLY and letters & RUSSIAN_ONLY[lang]:
        problems.append(f"{rid}: Russian-only letters {sorted(letters & RUSSIAN_ONLY[lang])} in {lang} text")

rows = [r for r in rows if len(r) == 6]
counts = Counter((r[1], r[2]) for r in rows)
for key, want in EXPECTED.items():
    if counts[key] != want:
        problems.append(f"count {key}: {counts[key]}, expected {want}")

# exact and normalised duplicates, within the file and against the other threats*.csv files
others = sorted(p for p in HERE.glob("threats*.csv") if p.name != FILE.name)
other_rows = []
for path in others:
    with path.open(encoding="utf-8", newline="") as fh:
        other_rows += [(path.name, r["id"], r["text"]) for r in csv.DictReader(fh)]
seen: dict[str, str] = {}
for r in rows:
    key = norm(r[5])
    if key in seen:
        problems.append(f"{r[0]}: duplicate of {seen[key]}")
    seen[key] = r[0]
other_norm = {norm(t): f"{n}:{i}" for n, i, t in other_rows}
for r in rows:
    if norm(r[5]) in other_norm:
        problems.append(f"{r[0]}: duplicate of {other_norm[norm(r[5])]}")

# near duplicates (character 4-gram Jaccard)
g_new = [(r[0], grams(r[5])) for r in rows]
g_old = [(f"{n}:{i}", grams(t)) for n, i, t in other_rows]
max_in = max_out = 0.0
pair_in = pair_out = ("", "")
for a in range(len(g_new)):
    ida, ga = g_new[a]
    for b in range(a + 1, len(g_new)):
        j = jaccard(ga, g_new[b][1])
        if j > max_in:
            max_in, pair_in = j, (ida, g_new[b][0])
        if j >= JACCARD:
            problems.append(f"{ida} ~ {g_new[b][0]}: Jaccard {j:.2f}")
    for idb, gb in g_old:
        j = jaccard(ga, gb)
        if j > max_out:
            max_out, pair_out = j, (ida, idb)
        if j >= JACCARD:
            problems.append(f"{ida} ~ {idb}: Jaccard {j:.2f}")

# report
compared = ", ".join(p.name for p in others)
print(f"{FILE.name}: {len(rows)} rows; compared with {len(other_rows)} rows of {compared}")
print("lang/label:", ", ".join(f"{lg}/{b}={counts[(lg, b)]}" for lg in LANGS for b in ("1", "0")))
for label, kinds in (("1", KINDS1), ("0", KINDS0)):
    kc = Counter((r[3], r[1]) for r in rows if r[2] == label)
    print(f"label {label} kinds (uk/kk/total):")
    for k in kinds:
        print(f"  {k:24s} {kc[(k, 'uk')]:4d} {kc[(k, 'kk')]:4d} {kc[(k, 'uk')] + kc[(k, 'kk')]:5d}")
tc = Counter((r[4], r[1]) for r in rows if r[2] == "1")
print("label 1 targets (uk/kk):", ", ".join(f"{t}={tc[(t, 'uk')]}/{tc[(t, 'kk')]}" for t in TARGETS))
sc = Counter((r[1], r[2], min(sentences(r[5]), 3)) for r in rows)
for lg in LANGS:
    print(
        f"sentences {lg}:",
        ", ".join(
            f"label {b}: 1={sc[(lg, b, 1)]} 2={sc[(lg, b, 2)]} 3+={sc[(lg, b, 3)]}" for b in ("1", "0")
        ),
    )
lens = [len(r[5]) for r in rows]
print(f"length: min {min(lens)}, max {max(lens)}, mean {sum(lens) / len(lens):.0f}")
print(f"max 4-gram Jaccard: within file {max_in:.2f} {pair_in}, against other files {max_out:.2f} {pair_out}")
if problems:
    print(f"{len(problems)} problem(s):")
    for p in problems:
        print("  " + p)
    sys.exit(1)
print("OK: no problems found")
