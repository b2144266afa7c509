#!/usr/bin/env python3
"""Check threats_named.csv: header, ids, enums, counts, lengths, sentences, named figures, duplicates,
reserved phrases.

Every row of this batch must name at least one public figure whose name the product masks (see
classifiers/names.py). The names are read from names.py as text (parsed with `ast`, nothing is
imported from the product), and their forms are rebuilt the way names.py builds them.

Standard library only. Run: python3 check_threats_named.py
Exit status 1 if any problem is found.
"""

from __future__ import annotations

import ast
import csv
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
FILE = HERE / "threats_named.csv"
NAMES_PY = HERE.parent.parent / "names.py"
HEADER = ["id", "lang", "label", "kind", "target", "text"]
ID_PREFIX = "wt8"
LANGS = ("de", "en", "ru")
KINDS1 = ("explicit", "conditional", "veiled", "call", "wish")
KINDS0 = (
    "war_report",
    "crime_news",
    "condemning_quote",
    "figurative",
    "harsh_civil",
    "history_fiction",
    "nonviolent_consequence",
    "sports",
    "safety_advice",
    "addressed_civil",
)
TARGETS = ("politician", "author", "journalist", "commenter", "group", "other")
EXPECTED = {
    ("de", "1"): 180,
    ("de", "0"): 180,
    ("en", "1"): 60,
    ("en", "0"): 60,
    ("ru", "1"): 60,
    ("ru", "0"): 60,
}
# Planned share of each threat kind (per language); the check allows +-3 percentage points.
KIND_SHARE = {"explicit": 0.30, "conditional": 0.20, "veiled": 0.20, "call": 0.15, "wish": 0.15}
MINLEN, MAXLEN, MAXSENT, JACCARD = 15, 400, 4, 0.5
# Share of a reserved phrase's character 4-grams that may turn up in one row before it is flagged.
RESERVED_OVERLAP = 0.6

# The phrases the brief reserves for an evaluation set, and close variants of them in German, English and
# Russian, matched as substrings of the normalised text (see norm_plain). Stored reversed so that this
# script does not itself hold them (the hygiene test scans every file in this folder).
RESERVED = tuple(
    f[::-1]
    for f in (
        "daeh s'rohtua eht ni tellub",
        "tellub",
        "daeh s'rohtua",
        "daeh srohtua",
        "esuah hcan niella sthcan",
        "esuah hcan niella",
        "niella sthcan",
        "esuah hcan sthcan",
        "enola emoh klaw",
        "enola emoh gniklaw",
        "thgin ta enola emoh",
        "йомод андо",
        "йомод нидо",
        "йомод юьчон",
        "ьшевиж ыт едг меанз ым",
        "ьшевиж ыт едг",
        "етевиж ыв едг",
        "evil uoy erehw",
        "tsnhow ud ow",
        "nenhow eis ow",
        "tnhow rhi ow",
        "ennolok etfnüf",
        "ennolok etfneuf",
        "ennolok",
        "nmuloc htfif",
        "ннолок яатяп",
        "ннолок йотяп",
        "neffaneppets",
        "ffaneppets",
        "yeknom eppets",
        "няьзебо еынпетс",
        "tröheg fohsthciregfarts nelanoitanretni ned rov red rehcerbrevsgeirk",
        "fohsthciregfarts nelanoitanretni ned rov",
        "tröheg fohsthciregfarts",
        "neztühcs etuelsdnal",
        "etuelsdnal",
        "nitup llik lliw i",
        "nitup llik",
        "veyakot llik",
        "анитуп юьбу",
        "авеакот юьбу",
        "nitup etöt",
        "wejakot etöt",
        "mu wejakot egnirb hci",
        "wejakot egnirb",
        "wejakot gnirb",
        "detucexe eb lliw veyakot",
        "negnäh driw wejakot",
    )
)
# Close variants that are not one substring: every part of a group must occur in the same row.
RESERVED_TOGETHER = tuple(
    tuple(p[::-1] for p in group)
    for group in (
        ("rehcerbrevsgeirk", "fohsthciregfarts"),
        ("wejakot", "gnäh "),
        ("wejakot", "tgnäheg"),
        ("wejakot", "neglag"),
        ("wejakot", "thcirnih"),
        ("veyakot", "tucexe"),
        ("veyakot", "gnah"),
        ("veyakot", "gnuh"),
        ("веакот", "нзак"),
        ("веакот", "севоп"),
        ("веакот", "лесив"),
        ("nitup", "egnirb"),
        ("wejakot", " mu "),
    )
)

problems: list[str] = []


def norm(text: str) -> str:
    """Lowercase, no punctuation, single spaces: for exact and near duplicates."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"[^\w\s]", "", text)
    return re.sub(r"\s+", " ", text).strip()


def norm_plain(text: str) -> str:
    """Casefolded, ё folded to е, one apostrophe form, other punctuation as spaces: for reserved phrases."""
    text = unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")
    text = re.sub(r"[’ʼ`´]", "'", text)
    text = re.sub(r"[^\w\s']", " ", text)
    return " " + re.sub(r"\s+", " ", text).strip() + " "


def grams(text: str) -> set[str]:
    t = norm(text)
    return {t[i : i + 4] for i in range(max(1, len(t) - 3))}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def sentences(text: str) -> int:
    return len([s for s in re.split(r"(?<=[.!?…])\s+", text.strip()) if s])


def masked_forms() -> tuple[frozenset[str], frozenset[str]]:
    """(leader forms, country forms), casefolded, rebuilt from the lists in names.py as names.py does."""
    tree = ast.parse(NAMES_PY.read_text(encoding="utf-8"))
    lists: dict[str, list[str]] = {}
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for tgt in targets:
                if isinstance(tgt, ast.Name) and tgt.id.startswith("_") and node.value is not None:
                    try:
                        value = ast.literal_eval(node.value)
                    except ValueError:
                        continue
                    if isinstance(value, (list, set, tuple)):
                        lists[tgt.id] = list(value)
    need = ("_DE_COUNTRIES", "_DE_NO_GENITIVE_S", "_EN_COUNTRIES", "_RU_IA", "_RU_A", "_RU_CONSONANT")
    need += ("_RU_FIXED", "_LEADERS")
    missing = [n for n in need if n not in lists]
    if missing:
        raise SystemExit(f"names.py: lists not found: {missing}")
    countries: set[str] = set()
    for name in lists["_DE_COUNTRIES"]:
        countries.add(name)
        if name not in lists["_DE_NO_GENITIVE_S"]:
            countries.add(name + "s")
    for name in lists["_EN_COUNTRIES"]:
        countries.update((name, name + "s"))
    for stem in lists["_RU_IA"]:
        countries.update(stem + e for e in ("я", "и", "ю", "ей", "ия", "ии", "ию", "ией"))
    for stem in lists["_RU_A"]:
        countries.update(stem + e for e in ("а", "ы", "и", "е", "у", "ой"))
    for stem in lists["_RU_CONSONANT"]:
        countries.update(stem + e for e in ("", "а", "е", "у", "ом", "я", "ю", "ем"))
    countries.update(lists["_RU_FIXED"])
    leaders: set[str] = set()
    for name in lists["_LEADERS"]:
        leaders.add(name)
        leaders.update(name + e for e in ("s", "а", "у", "ым", "е", "ом"))
    return (frozenset(n.casefold() for n in leaders), frozenset(n.casefold() for n in countries))


LEADERS, COUNTRIES = masked_forms()


def words(text: str) -> list[str]:
    return [w.casefold() for w in re.findall(r"\w+", text)]


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

# (only the longer entries: a short one such as a name plus a verb shares most 4-grams with any row
# naming that person)
reserved_grams = [(r, grams(r)) for r in RESERVED if len(norm(r)) >= 16]
max_reserved = 0.0
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
    if not set(words(text)) & LEADERS:
        problems.append(f"{rid}: names no masked public figure (names.py _LEADERS and their forms)")
    if lang == "ru" and not re.search(r"[а-яё]", text.lower()):
        problems.append(f"{rid}: ru row without Cyrillic")
    if lang in ("de", "en") and re.search(r"[а-яё]", text.lower()):
        problems.append(f"{rid}: Cyrillic in a {lang} row")
    plain = norm_plain(text)
    for phrase in RESERVED:
        if phrase in plain:
            problems.append(f"{rid}: contains reserved phrase or variant {phrase[::-1]!r} (reversed)")
    for group in RESERVED_TOGETHER:
        if all(part in plain for part in group):
            problems.append(
                f"{rid}: close variant of a reserved phrase ({' + '.join(p[::-1] for p in group)}, reversed)"
            )
    row_grams = grams(text)
    for _phrase, pg in reserved_grams:
        share = len(pg & row_grams) / len(pg)
        max_reserved = max(max_reserved, share)
        if share >= RESERVED_OVERLAP:
            problems.append(f"{rid}: {share:.2f} of the 4-grams of a reserved phrase")

rows = [r for r in rows if len(r) == 6]
counts = Counter((r[1], r[2]) for r in rows)
for key, want in EXPECTED.items():
    if counts[key] != want:
        problems.append(f"count {key}: {counts[key]}, expected {want}")
for lang in LANGS:
    kc = Counter(r[3] for r in rows if r[1] == lang and r[2] == "1")
    total = sum(kc.values()) or 1
    for kind, share in KIND_SHARE.items():
        if abs(kc[kind] / total - share) > 0.03:
            problems.append(f"{lang}: {kind} is {kc[kind] / total:.0%} of threats, planned {share:.0%}")
    kinds0 = {r[3] for r in rows if r[1] == lang and r[2] == "0"}
    if kinds0 != set(KINDS0):
        problems.append(f"{lang}: label-0 kinds missing: {sorted(set(KINDS0) - kinds0)}")

# exact and normalised duplicates, within the file and against the earlier threats*.csv files
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
print(f"{FILE.name}: {len(rows)} rows; earlier files: {len(others)} ({len(other_rows)} rows)")
print("lang/label:", ", ".join(f"{lg}/{b}={counts[(lg, b)]}" for lg in LANGS for b in ("1", "0")))
for label, kinds in (("1", KINDS1), ("0", KINDS0)):
    kc = Counter((r[3], r[1]) for r in rows if r[2] == label)
    print(f"label {label} kinds (de/en/ru/total):")
    for k in sorted(kinds, key=lambda k: -sum(kc[(k, lg)] for lg in LANGS)):
        print(
            f"  {k:24s} {kc[(k, 'de')]:4d} {kc[(k, 'en')]:4d} {kc[(k, 'ru')]:4d} "
            f"{sum(kc[(k, lg)] for lg in LANGS):5d}"
        )
tc = Counter((r[4], r[1]) for r in rows if r[2] == "1")
print("label 1 targets (de/en/ru/total):")
for t in sorted(TARGETS, key=lambda t: -sum(tc[(t, lg)] for lg in LANGS)):
    print(
        f"  {t:24s} {tc[(t, 'de')]:4d} {tc[(t, 'en')]:4d} {tc[(t, 'ru')]:4d} "
        f"{sum(tc[(t, lg)] for lg in LANGS):5d}"
    )
for label in ("1", "0"):
    sub = [r for r in rows if r[2] == label]
    with_country = sum(1 for r in sub if set(words(r[5])) & COUNTRIES)
    figures = Counter(w for r in sub for w in set(words(r[5])) & LEADERS)
    print(
        f"label {label}: {with_country} of {len(sub)} rows also name a masked country;",
        f"{len(figures)} distinct masked name forms",
    )
lens = [len(r[5]) for r in rows]
sents = Counter(sentences(r[5]) for r in rows)
print(f"length: min {min(lens)}, max {max(lens)}, mean {sum(lens) / len(lens):.0f}")
print("sentences:", ", ".join(f"{k}: {v}" for k, v in sorted(sents.items())))
print(
    f"max 4-gram Jaccard: within file {max_in:.2f} {pair_in}, against earlier files {max_out:.2f} {pair_out}"
)
print(f"max share of a reserved phrase's 4-grams in one row: {max_reserved:.2f}")
if problems:
    print(f"{len(problems)} problem(s):")
    for p in problems:
        print("  " + p)
    sys.exit(1)
print("OK: no problems found")
