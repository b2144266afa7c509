#!/usr/bin/env python3
"""Check group_hate_uk_kk.csv: header, ids, enums, counts, lengths, language letters, duplicates,
forbidden evaluation fragments.

Standard library only. Run: python3 check_group_hate_uk_kk.py
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
FILE = HERE / "group_hate_uk_kk.csv"
OTHERS = ["group_hate.csv"]
HEADER = ["id", "lang", "label", "kind", "group", "text"]
ID_PREFIX = "wgh2-"
LANGS = ("uk", "kk")
KINDS1 = ("expel", "harm", "dehumanise", "collective", "slur")
KINDS0 = ("civil_mention", "government_criticism", "reporting", "policy_debate", "self_identity")
# Expected rows per language and kind (the same for uk and kk).
EXPECTED_KIND = {
    "expel": 15,
    "harm": 12,
    "dehumanise": 14,
    "collective": 19,
    "slur": 10,
    "civil_mention": 18,
    "government_criticism": 16,
    "reporting": 12,
    "policy_debate": 12,
    "self_identity": 12,
}
EXPECTED_TOTAL = 280
MINLEN, MAXLEN, MAXSENT, JACCARD = 25, 220, 3, 0.5
GROUP_RE = re.compile(r"^[a-z][a-z_]*$")
# Letters that mark the language: a Ukrainian text needs one of і ї є ґ and none of the Russian-only
# ы э ъ ё; a Kazakh text needs one of the Kazakh-only letters.
UK_NEED, UK_NOT = set("іїєґ"), set("ыэъё")
KK_NEED = set("әғқңөұүһ")
# Evaluation sentences and phrases that must not appear (SOURCE.md names them), in any of the
# languages, case-insensitive after normalisation. Stored reversed so that this script does not itself
# hold them: the hygiene test scans every file in this folder.
FORBIDDEN = tuple(
    f[::-1]
    for f in (
        "neffaneppets",
        "ennolok etfnüf",
        "nmuloc htfif",
        "анолок атяп",
        "анолок атя'п",
        "аннолок ішнісеб",
        "анолок ішнісеб",
        "ипвам івопетс",
        "ырадлымйам алад",
        "ыняьзебо еынпетс",
        "nefrewsuar nam etllos dnalhcstued ni nessur",
        "theg esuah hcan niella sthcan",
        "daeh s'rohtua eht ni tellub",
        "ьшевиж ыт едг меанз ым",
        "dnalssur hcan natshcasak rebü neraw",
        "ssum neztühcs etuelsdnal",
        "tbig naru dnu lö se ow",
        "tröheg fohsthciregfarts nelanoitanretni ned rov",
        "nebeirtrebü rüf gnuthcrüfeb",
    )
)
# Close variants: a row is flagged when it has a word starting with a stem from each of the two sets
# (steppe + monkey, fifth + column), whatever the word order or inflection.
COMBOS = (
    (("степ", "steppe", "дала", "дал"), ("мавп", "маймыл", "обезьян", "affe", "monkey", "ape")),
    (("п'ят", "пят", "бесінші", "fünft", "fifth"), ("колон", "kolonne", "column")),
)

problems: list[str] = []


def norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")
    text = text.replace("’", "'").replace("ʼ", "'")
    text = re.sub(r"[^\w\s']", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def grams(text: str) -> set[str]:
    t = norm(text)
    return {t[i : i + 4] for i in range(max(1, len(t) - 3))}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def sentences(text: str) -> int:
    return len([s for s in re.split(r"(?<=[.!?…])\s+", text.strip()) if s])


raw = FILE.read_bytes()
if b"\r" in raw:
    problems.append("file contains CR characters (expected LF line ends)")
with FILE.open(encoding="utf-8", newline="") as fh:
    reader = csv.reader(fh)
    header = next(reader)
    rows = list(reader)
if header != HEADER:
    problems.append(f"bad header {header}")

good: list[list[str]] = []
for n, row in enumerate(rows, 1):
    if len(row) != 6:
        problems.append(f"row {n}: {len(row)} fields")
        continue
    good.append(row)
    rid, lang, label, kind, group, text = row
    if rid != f"{ID_PREFIX}{n:04d}":
        problems.append(f"row {n}: id {rid!r}, expected {ID_PREFIX}{n:04d}")
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
    if not GROUP_RE.match(group):
        problems.append(f"{rid}: group {group!r}")
    if "\n" in text or "\r" in text:
        problems.append(f"{rid}: line break")
    if not MINLEN <= len(text) <= MAXLEN:
        problems.append(f"{rid}: length {len(text)}")
    if text != text.strip() or "  " in text:
        problems.append(f"{rid}: stray whitespace")
    if sentences(text) > MAXSENT:
        problems.append(f"{rid}: {sentences(text)} sentences (max {MAXSENT})")
    letters = set(text.casefold())
    if lang == "uk" and (not letters & UK_NEED or letters & UK_NOT):
        problems.append(f"{rid}: does not look Ukrainian (letters)")
    if lang == "kk" and not letters & KK_NEED:
        problems.append(f"{rid}: does not look Kazakh (letters)")
    if re.search(r"[a-z]", text, re.I) and lang in LANGS:
        latin = re.findall(r"[A-Za-z]+", text)
        if any(len(w) == 1 for w in latin):  # a stray Latin letter inside a Cyrillic word
            problems.append(f"{rid}: stray Latin letter {latin}")
    for word in re.findall(r"\w+", text):
        if re.search(r"[A-Za-z]", word) and re.search(r"[\u0400-\u04ff]", word):
            problems.append(f"{rid}: mixed-script word {word!r}")
    plain = norm(text)
    for fragment in FORBIDDEN:
        if norm(fragment) in plain:
            problems.append(f"{rid}: contains forbidden fragment {fragment[:4]}...")
    words = plain.split()
    for first, second in COMBOS:
        if any(w.startswith(first) for w in words) and any(w.startswith(second) for w in words):
            problems.append(f"{rid}: close variant of a forbidden phrase ({first[0]} + {second[0]})")

counts = Counter((r[1], r[2], r[3]) for r in good)
for lang in LANGS:
    for kind, want in EXPECTED_KIND.items():
        label = "1" if kind in KINDS1 else "0"
        if counts[(lang, label, kind)] != want:
            problems.append(f"count {lang}/{label}/{kind}: {counts[(lang, label, kind)]}, expected {want}")
if len(good) != EXPECTED_TOTAL:
    problems.append(f"{len(good)} rows, expected {EXPECTED_TOTAL}")

# exact and normalised duplicates, within the file and against the first batch
other_rows = []
for name in OTHERS:
    with (HERE / name).open(encoding="utf-8", newline="") as fh:
        other_rows += [(f"{name}:{r['id']}", r["text"]) for r in csv.DictReader(fh)]
seen_exact: dict[str, str] = {}
seen_norm: dict[str, str] = {}
for r in good:
    if r[5] in seen_exact:
        problems.append(f"{r[0]}: exact duplicate of {seen_exact[r[5]]}")
    elif norm(r[5]) in seen_norm:
        problems.append(f"{r[0]}: normalised duplicate of {seen_norm[norm(r[5])]}")
    seen_exact.setdefault(r[5], r[0])
    seen_norm.setdefault(norm(r[5]), r[0])
other_exact = {t: i for i, t in other_rows}
other_norm = {norm(t): i for i, t in other_rows}
for r in good:
    if r[5] in other_exact:
        problems.append(f"{r[0]}: exact duplicate of {other_exact[r[5]]}")
    elif norm(r[5]) in other_norm:
        problems.append(f"{r[0]}: normalised duplicate of {other_norm[norm(r[5])]}")

# near duplicates (character 4-gram Jaccard on the normalised text)
g_new = [(r[0], grams(r[5])) for r in good]
g_old = [(i, grams(t)) for i, t in other_rows]
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
print(f"{FILE.name}: {len(good)} rows")
for lang in LANGS:
    n1 = sum(v for (lg, lb, _), v in counts.items() if lg == lang and lb == "1")
    n0 = sum(v for (lg, lb, _), v in counts.items() if lg == lang and lb == "0")
    print(f"  {lang}: {n1 + n0} rows ({n1} attacks, {n0} non-attacks)")
print(f"  {'label kind':30s} {'uk':>4s} {'kk':>4s} {'all':>5s}")
for kind in KINDS1 + KINDS0:
    label = "1" if kind in KINDS1 else "0"
    uk, kk = counts[("uk", label, kind)], counts[("kk", label, kind)]
    print(f"  {label} {kind:28s} {uk:4d} {kk:4d} {uk + kk:5d}")
groups = Counter(r[4] for r in good)
print(f"groups ({len(groups)}):", ", ".join(f"{g}={c}" for g, c in groups.most_common()))
multi = Counter((r[1], r[2]) for r in good if sentences(r[5]) > 1)
print(
    "rows of 2-3 sentences:", ", ".join(f"{lg}/label {lb}={multi[(lg, lb)]}" for lg in LANGS for lb in "10")
)
lens = [len(r[5]) for r in good]
print(f"length: min {min(lens)}, max {max(lens)}, mean {sum(lens) / len(lens):.0f}")
print(f"max 4-gram Jaccard: within file {max_in:.2f} {pair_in},")
print(f"  against {', '.join(OTHERS)} {max_out:.2f} {pair_out}")
print(f"forbidden fragments checked: {len(FORBIDDEN)}, stem combinations: {len(COMBOS)}")
if problems:
    print(f"{len(problems)} problem(s):")
    for p in problems:
        print("  " + p)
    sys.exit(1)
print("OK: no problems found")
