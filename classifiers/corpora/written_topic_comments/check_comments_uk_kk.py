"""Check comments_uk_kk.csv: format, enums, counts, languages, lengths, duplicates and evaluation fragments.

Run: python3 check_comments_uk_kk.py  (standard library only; exit status 1 if a problem was found)
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
TARGET = HERE / "comments_uk_kk.csv"
OTHERS = sorted(path for path in HERE.glob("comments*.csv") if path.name != TARGET.name)

HEADER = ["id", "lang", "propaganda", "kind", "narrative", "topic", "text"]
ID_PREFIX = "wtc5-"
LANGS = ("uk", "kk")
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
# Rows per language, label and kind (the same for uk and kk).
EXPECTED = {
    "1": {"endorses": 22, "insinuates": 10, "whataboutism": 8, "loaded": 10},
    "0": {
        "kremlin_criticism": 18,
        "civil_opinion": 14,
        "factual": 12,
        "reports_claim": 12,
        "debunks": 10,
        "sarcasm": 10,
        "question_to_editors": 8,
        "west_criticism": 8,
        "personal": 8,
    },
}
NEEDS_NARRATIVE = {"reports_claim", "debunks", "sarcasm"}
MIN_LEN, MAX_LEN = 40, 220
MAX_SENTENCES = 3
JACCARD = 0.5
TOPIC_GAP = 0.10  # largest allowed difference in the share of rows naming a topic word, label 0 vs 1

# Letters that mark the language. A Ukrainian text needs one of і ї є ґ or an apostrophe and may not use
# Russian-only letters or Kazakh letters; a Kazakh text needs one of the Kazakh letters and may not use
# the Ukrainian-only letters.
UK_MARKS = set("іїєґ'’")
UK_BANNED = set("ыэёъ") | set("әғқңөұүһ")
KK_MARKS = set("әғқңөұүһ")
KK_BANNED = set("їєґ")
LATIN = re.compile(r"[a-z]")

# Fragments of the held-back evaluation items (German, English and Russian originals and Ukrainian and
# Kazakh renderings), case-insensitive. They are stored reversed so that this script does not itself hold
# them (tests/test_training_data_hygiene.py scans every file under classifiers/corpora/).
FORBIDDEN = tuple(
    fragment[::-1]
    for fragment in (
        "fohsthciregfarts",
        "gaah ned",
        "dnalssur hcan natshcasak rebü neraw",
        "nebeirtrebü rüf gnuthcrüfeb",
        "emelborp guneg",
        "hcsitkarp eiw",
        "ennolok etfnüf",
        "neffaneppets",
        "tnhäwre thcin lekitra mi sad driw muraw",
        "tellub",
        "дус йынвологу йындорануджем",
        "аннолок яатяп",
        "ьшёвиж ыт едг меанз ым",
        "дус йиньланімирк",
        "удус огоньланімирк",
        "агааг",
        "ізааг",
        "анолок атя'п",
        "анолок атя’п",
        "нешьлібереп яннавюобоп",
        "їісор од натсхазак зереч",
        "юісор в натсхазак зереч",
        "мелборп єачатсив",
        "ончурз кя",
        "тос қытсымлық",
        "аннолок ішнісеб",
        "уетліс арыса",
        "лымйам алад",
        "ылйағңы йаднақ",
    )
)
BARE = ".natshcasak dnu dnalssur"[::-1]
# Combinations that would rebuild an evaluation item in any language.
COMPATRIOTS = re.compile(r"landsleute|compatriot|соотечественн|співвітчизн|земляк|отандас")
OIL_URANIUM = re.compile(r"\böl\b|\buran|\boil\b|нефт|нафт|уран|мұнай")
PROTECT = re.compile(r"schütz|protect|защищ|захист|захищ|рятува|қорға")
VIA_KAZAKHSTAN = re.compile(r"через\s+казахстан\w*[^.!?]{0,60}рос|қазақстан\s+арқылы[^.!?]{0,60}ресей")
COURT = re.compile(r"\bсуд(?!ит)|трибунал|\bсот(?:\b|қа|та|ы)|strafgericht|\bicc\b|\bcourt")
CRIMINAL_COURT = re.compile(r"кримінальн\w*\s+суд|уголовн\w*\s+суд|қылмыстық\s+сот|criminal\s+court")
WAR_CRIMINAL = re.compile(r"злочин|қылмыс|verbrech|criminal")
PUTIN = re.compile(r"путін|путин|putin")

# Topic stems per language, for the share of rows per label that name them.
TOPIC_STEMS = {
    "uk": {
        "Russia": r"\bросі",
        "Kazakhstan": r"\bказах",
        "Ukraine": r"\bукраїн",
        "NATO": r"\bнато\b|\bальянс",
        "West": r"\bзах[іо]д|\bзахідн",
        "Putin": r"\bпутін",
        "Kremlin": r"\bкремл",
        "sanctions": r"\bсанкці",
        "gas": r"\bгаз(?!ет)",
        "oil": r"\bнафт",
        "uranium": r"\bуран",
        "USA": r"\bсша\b|\bамерикан|\bвашингтон",
    },
    "kk": {
        "Russia": r"\bресей",
        "Kazakhstan": r"\bқазақстан",
        "Ukraine": r"\bукраин",
        "NATO": r"\bнато\b|\bальянс",
        "West": r"\bбатыс",
        "Putin": r"\bпутин",
        "Kremlin": r"\bкремл",
        "sanctions": r"\bсанкци",
        "gas": r"\bгаз(?!ет)",
        "oil": r"\bмұнай",
        "uranium": r"\bуран",
        "USA": r"\bақш\b|\bамерика|\bвашингтон",
    },
}


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


def check_rows(rows: list[dict[str, str]], narratives: set[str], problems: list[str]) -> None:
    for row in rows:
        rid, label, kind, narrative = row["id"], row["propaganda"], row["kind"], row["narrative"]
        lang, text = row["lang"], row["text"]
        if lang not in LANGS:
            problems.append(f"{rid}: lang {lang!r}")
        if row["topic"] not in TOPICS:
            problems.append(f"{rid}: topic {row['topic']!r}")
        if label not in EXPECTED:
            problems.append(f"{rid}: propaganda {label!r}")
            continue
        if kind not in EXPECTED[label]:
            problems.append(f"{rid}: kind {kind!r} not allowed for label {label}")
        if narrative and narrative not in narratives:
            problems.append(f"{rid}: unknown narrative {narrative!r}")
        if not narrative and (label == "1" or kind in NEEDS_NARRATIVE):
            problems.append(f"{rid}: narrative missing")
        if narrative and label == "0" and kind not in NEEDS_NARRATIVE:
            problems.append(f"{rid}: narrative set on a {kind} row")
        if not MIN_LEN <= len(text) <= MAX_LEN:
            problems.append(f"{rid}: length {len(text)}")
        if "\n" in text or "\r" in text:
            problems.append(f"{rid}: line break in text")
        if text != text.strip() or "  " in text:
            problems.append(f"{rid}: stray whitespace")
        if len(re.findall(r"[.!?…]+(?:\s|$)", text)) > MAX_SENTENCES:
            problems.append(f"{rid}: more than {MAX_SENTENCES} sentences")
        lowered = text.casefold()
        letters = set(lowered)
        if LATIN.search(lowered):
            problems.append(f"{rid}: Latin letters in a Cyrillic comment")
        if lang == "uk" and (not letters & UK_MARKS or letters & UK_BANNED):
            problems.append(f"{rid}: does not read as Ukrainian ({sorted(letters & UK_BANNED)})")
        if lang == "kk" and (not letters & KK_MARKS or letters & KK_BANNED):
            problems.append(f"{rid}: does not read as Kazakh ({sorted(letters & KK_BANNED)})")
        for fragment in FORBIDDEN:
            if fragment in lowered:
                problems.append(f"{rid}: contains evaluation fragment {fragment!r}")
        if lowered.strip() == BARE:
            problems.append(f"{rid}: bare {BARE!r}")
        if COMPATRIOTS.search(lowered) and OIL_URANIUM.search(lowered):
            problems.append(f"{rid}: compatriots together with oil/uranium")
        if PROTECT.search(lowered) and OIL_URANIUM.search(lowered):
            problems.append(f"{rid}: protecting together with oil/uranium")
        if VIA_KAZAKHSTAN.search(lowered):
            problems.append(f"{rid}: something passes through Kazakhstan to Russia")
        if CRIMINAL_COURT.search(lowered):
            problems.append(f"{rid}: names a criminal court")
        if PUTIN.search(lowered) and WAR_CRIMINAL.search(lowered) and COURT.search(lowered):
            problems.append(f"{rid}: Putin, war crimes and a court in one comment")


def check_counts(rows: list[dict[str, str]], problems: list[str]) -> Counter:
    counts = Counter((row["lang"], row["propaganda"], row["kind"]) for row in rows)
    for lang in LANGS:
        for label, kinds in EXPECTED.items():
            for kind, wanted in kinds.items():
                if counts[(lang, label, kind)] != wanted:
                    problems.append(
                        f"{lang} label {label} {kind}: {counts[(lang, label, kind)]} rows, want {wanted}"
                    )
    return counts


def check_duplicates(rows: list[dict[str, str]], problems: list[str]) -> tuple[float, float]:
    seen: dict[str, str] = {}
    shingles = [(row["id"], row["text"], grams(row["text"])) for row in rows]
    for row in rows:
        key = norm(row["text"])
        if key in seen:
            problems.append(f"{row['id']}: same text as {seen[key]}")
        seen[key] = row["id"]
    within = 0.0
    for index, (rid, _, gram) in enumerate(shingles):
        for other_id, _, other in shingles[index + 1 :]:
            score = jaccard(gram, other)
            within = max(within, score)
            if score >= JACCARD:
                problems.append(f"{rid} ~ {other_id}: 4-gram Jaccard {score:.2f}")
    against = 0.0
    for path in OTHERS:
        _, old_rows = read(path)
        old = [(row["id"], norm(row["text"]), grams(row["text"])) for row in old_rows]
        old_keys = {key: oid for oid, key, _ in old}
        for rid, text, gram in shingles:
            if norm(text) in old_keys:
                problems.append(f"{rid}: same text as {path.name} {old_keys[norm(text)]}")
            for oid, _, other in old:
                score = jaccard(gram, other)
                against = max(against, score)
                if score >= JACCARD:
                    problems.append(f"{rid} ~ {path.name} {oid}: 4-gram Jaccard {score:.2f}")
    return within, against


def topic_shares(rows: list[dict[str, str]], problems: list[str]) -> None:
    print(f"topic-word shares, label 0 / label 1 (flagged above a gap of {TOPIC_GAP}):")
    for lang in LANGS:
        parts = []
        for name, pattern in TOPIC_STEMS[lang].items():
            shares = []
            for label in ("0", "1"):
                subset = [row for row in rows if row["lang"] == lang and row["propaganda"] == label]
                hits = sum(bool(re.search(pattern, row["text"].casefold())) for row in subset)
                shares.append(hits / len(subset) if subset else 0.0)
            parts.append(f"{name} {shares[0]:.2f}/{shares[1]:.2f}")
            if abs(shares[0] - shares[1]) > TOPIC_GAP:
                problems.append(f"{lang}: topic word {name} {shares[0]:.2f} vs {shares[1]:.2f}")
        print(f"  {lang}: " + ", ".join(parts))


def main() -> int:
    problems: list[str] = []
    narratives = {item["id"] for item in json.loads(CATALOGUE.read_text(encoding="utf-8"))["narratives"]}
    raw = TARGET.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        problems.append("file starts with a BOM")
    if b"\r" in raw:
        problems.append("file has CR characters (lines must end in LF)")
    if not raw.endswith(b"\n"):
        problems.append("file does not end with a line break")
    header, rows = read(TARGET)
    if header != HEADER:
        problems.append(f"header is {header}")
    expected_ids = [f"{ID_PREFIX}{number:04d}" for number in range(1, len(rows) + 1)]
    if [row["id"] for row in rows] != expected_ids:
        problems.append(f"ids are not {ID_PREFIX}0001 ... in file order")

    check_rows(rows, narratives, problems)
    counts = check_counts(rows, problems)
    within, against = check_duplicates(rows, problems)

    print(f"rows: {len(rows)}")
    print("lang/label:", dict(sorted(Counter((row["lang"], row["propaganda"]) for row in rows).items())))
    print(f"{'label':<6}{'kind':<22}{'uk':>5}{'kk':>5}{'all':>6}")
    for label in ("1", "0"):
        for kind in EXPECTED[label]:
            per = [counts[(lang, label, kind)] for lang in LANGS]
            print(f"{label:<6}{kind:<22}{per[0]:>5}{per[1]:>5}{sum(per):>6}")
    used = Counter(row["narrative"] for row in rows if row["propaganda"] == "1")
    print(f"narratives in label 1: {len(used)} of {len(narratives)}:", dict(used.most_common()))
    print(
        "label-0 rows with a narrative:",
        sum(1 for row in rows if row["propaganda"] == "0" and row["narrative"]),
    )
    print(
        "topics (label 0 / label 1):",
        {
            topic: f"{sum(1 for r in rows if r['topic'] == topic and r['propaganda'] == '0')}"
            f"/{sum(1 for r in rows if r['topic'] == topic and r['propaganda'] == '1')}"
            for topic in sorted(TOPICS)
        },
    )
    lengths = sorted(len(row["text"]) for row in rows)
    if lengths:
        print(f"length: min {lengths[0]}, median {lengths[len(lengths) // 2]}, max {lengths[-1]}")
    topic_shares(rows, problems)
    print(
        f"max character 4-gram Jaccard: within the file {within:.2f}, "
        f"against {len(OTHERS)} earlier files {against:.2f}"
    )
    for problem in problems:
        print("PROBLEM:", problem)
    print(f"problems: {len(problems)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
