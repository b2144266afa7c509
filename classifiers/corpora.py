"""Loaders for the training corpora in `classifiers/corpora/`.

Every example carries its corpus name and licence token. Paths resolve only inside
`classifiers/corpora/`: the held-out test splits in `heldout/` cannot be read through this module.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import random
import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from classifiers.errors import CorpusAccessError

CORPORA_DIR = Path(__file__).resolve().parent / "corpora"

LICENCE_TOKENS = ("cc-by-4.0", "mit", "cc0", "cc-by-nc-sa-4.0", "research-only", "unstated")

LICENCES: dict[str, str] = {
    "germeval2018": "cc-by-4.0",
    "germeval2019": "unstated",
    "germeval2021": "unstated",
    "germs_at": "cc-by-nc-sa-4.0",
    "semeval2021_task6": "research-only",
    "synthetic_de_comments": "cc0",
    "euvsdisinfo_titles_2015_2021": "unstated",
    "euvsdisinfo_cases_2015_2017": "unstated",
    "davidson_hate_offensive": "mit",
    "written_threats": "cc0",
    "written_group_hate": "cc0",
    "written_topic_comments": "cc0",
    "written_spam": "cc0",
}
# Corpora written for this project (SOURCE.md in each says how). Evaluation sets written the same way
# live in `heldout/written_eval`, apart from these.
WRITTEN = ("written_threats", "written_group_hate", "written_topic_comments", "written_spam")


@dataclass
class Example:
    """One labelled text. A label that a corpus does not annotate is absent (not 0)."""

    text: str
    source: str
    licence: str
    labels: dict[str, float] = field(default_factory=dict)
    techniques: frozenset[str] | None = None
    narrative: str | None = None
    fine: str | None = None
    weight: float = 1.0
    group: str = ""


def corpus_path(corpus: str, filename: str, root: Path = CORPORA_DIR) -> Path:
    """Resolve a corpus file, refusing anything outside `classifiers/corpora/`."""
    allowed = CORPORA_DIR.resolve()
    path = (root / corpus / filename).resolve()
    if not path.is_relative_to(allowed) or not Path(root).resolve().is_relative_to(allowed):
        raise CorpusAccessError(f"refusing to read {path}: training data must live in {allowed}")
    if not path.is_file():
        raise CorpusAccessError(f"no such corpus file: {path}")
    return path


def read_text(corpus: str, filename: str, root: Path = CORPORA_DIR) -> str:
    path = corpus_path(corpus, filename, root)
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    return raw.decode("utf-8")


def file_digests(corpus: str, root: Path = CORPORA_DIR) -> dict[str, str]:
    """sha256 of each data file of a corpus (for the model card)."""
    folder = corpus_path(corpus, "SOURCE.md", root).parent
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != "SOURCE.md"
    }


def _germeval_tsv(corpus: str, filename: str, root: Path) -> Iterator[Example]:
    for line in read_text(corpus, filename, root).splitlines():
        parts = line.split("\t")
        if len(parts) < 3:
            continue
        text, coarse, fine = parts[0], parts[1], parts[2]
        yield Example(
            text,
            corpus,
            LICENCES[corpus],
            {
                "toxicity": float(coarse == "OFFENSE"),
                "insult": float(fine == "INSULT"),
                "abuse": float(fine == "ABUSE"),
                "profanity": float(fine == "PROFANITY"),
            },
            fine=fine,
        )


def load_germeval2018(root: Path = CORPORA_DIR) -> list[Example]:
    return list(_germeval_tsv("germeval2018", "germeval2018.training.txt", root))


def load_germeval2019(root: Path = CORPORA_DIR) -> list[Example]:
    return list(_germeval_tsv("germeval2019", "germeval2019_training_subtask12.txt", root))


def load_germeval2021(root: Path = CORPORA_DIR) -> list[Example]:
    rows = csv.DictReader(io.StringIO(read_text("germeval2021", "GermEval21_TrainData.csv", root)))
    out = []
    for row in rows:
        toxic = float(row["Sub1_Toxic"])
        fact = float(row["Sub3_FactClaiming"])
        labels = {"toxicity": toxic, "fact_claiming": fact, "engaging": float(row["Sub2_Engaging"])}
        # Civil, non-fact-claiming talk-show comments are honest propaganda negatives; fact claims might
        # carry a narrative, so they stay unlabelled for propaganda.
        if toxic == 0 and fact == 0:
            labels["propaganda"] = 0.0
        out.append(Example(row["comment_text"], "germeval2021", LICENCES["germeval2021"], labels))
    return out


def load_germs_at(root: Path = CORPORA_DIR) -> list[Example]:
    out = []
    for line in read_text("germs_at", "germeval-competition-traindev.jsonl.gz", root).splitlines():
        item = json.loads(line)
        grades = [int(a["label"][0]) for a in item["annotations"]]
        positive = sum(g >= 1 for g in grades)
        if 2 * positive == len(grades):
            continue  # tied majority: no usable binary label
        sexist = float(2 * positive > len(grades))
        severity = sum(grades) / (4 * len(grades))
        labels = {"identity_attack": sexist, "toxicity": float(severity >= 0.4)}
        if not sexist:
            labels["propaganda"] = 0.0
        out.append(Example(item["text"], "germs_at", LICENCES["germs_at"], labels, weight=0.6))
    return out


def load_semeval(catalogue_names: dict[str, str], root: Path = CORPORA_DIR) -> list[Example]:
    items = json.loads(read_text("semeval2021_task6", "training_set_task1.txt", root))
    out = []
    for item in items:
        techniques = frozenset(catalogue_names[label] for label in item["labels"] if label in catalogue_names)
        out.append(
            Example(
                item["text"],
                "semeval2021_task6",
                LICENCES["semeval2021_task6"],
                {"propaganda": float(bool(techniques))},
                techniques=techniques,
                weight=0.5,
            )
        )
    return out


def load_synthetic(root: Path = CORPORA_DIR) -> list[Example]:
    rows = csv.DictReader(io.StringIO(read_text("synthetic_de_comments", "comments.csv", root)))
    out = []
    for row in rows:
        techniques = frozenset(t for t in row["techniques"].split(";") if t)
        labels = {
            "toxicity": float(row["toxic"]),
            "propaganda": float(row["propaganda"]),
            "spam": float(row["spam"]),
        }
        out.append(
            Example(
                row["text"],
                "synthetic_de_comments",
                LICENCES["synthetic_de_comments"],
                labels,
                techniques=techniques,
                narrative=row["narrative"] or None,
                weight=2.0,
                group=row["group"],
            )
        )
    return out


# Disproof sentences that argue about the claim rather than state facts (they would teach "debunk words
# mean no propaganda", which the catalogue's debunk cues already cover) or that cite sources.
_DISPROOF_META = re.compile(
    r"https?://|www\.|disinform|kremlin|propagand|conspira|evidence|proof|claim|false|fake|myth|narrative|"
    r"debunk|recurring|mouthpiece|outlet|euvsdisinfo|see (?:more|also|here)|no (?:source|basis)",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def disproof_sentences(disproof: str) -> list[str]:
    """Factual sentences of a disproof text: same topics as the claims, written without propaganda."""
    return [
        sentence
        for sentence in _SENTENCE_END.split(disproof.strip())
        if 40 <= len(sentence) <= 300 and not _DISPROOF_META.search(sentence)
    ]


def load_euvsdisinfo(rng: random.Random, limit: int, root: Path = CORPORA_DIR) -> list[Example]:
    """Claim titles and summaries (deduplicated positives), plus factual disproof sentences as negatives.

    The negatives matter: without them every English sentence about Kazakhstan, NATO or Ukraine leans to
    propaganda, because the only English texts on those topics in training are claims.
    """
    seen: set[str] = set()
    texts: list[tuple[str, str, float]] = []
    titles = csv.DictReader(io.StringIO(read_text("euvsdisinfo_titles_2015_2021", "posts.csv.gz", root)))
    for row in titles:
        texts.append(("euvsdisinfo_titles_2015_2021", row["title"], 1.0))
    cases = csv.DictReader(
        io.StringIO(read_text("euvsdisinfo_cases_2015_2017", "full_dataset_formatted.csv.gz", root))
    )
    negatives: list[tuple[str, str, float]] = []
    for row in cases:
        texts.append(("euvsdisinfo_cases_2015_2017", row["summary"], 1.0))
        negatives.extend(("euvsdisinfo_cases_2015_2017", s, 0.0) for s in disproof_sentences(row["disproof"]))
    unique: dict[str, list[tuple[str, str, float]]] = {"positive": [], "negative": []}
    for corpus, text, label in texts + negatives:
        key = text.strip().casefold()
        if len(key) > 15 and key not in seen:
            seen.add(key)
            unique["positive" if label else "negative"].append((corpus, text.strip(), label))
    chosen = []
    for kind in ("positive", "negative"):
        rng.shuffle(unique[kind])
        chosen.extend(unique[kind][:limit])
    return [
        Example(text, corpus, LICENCES[corpus], {"propaganda": label}, weight=0.4)
        for corpus, text, label in chosen
    ]


def load_davidson(rng: random.Random, limit: int, root: Path = CORPORA_DIR) -> list[Example]:
    rows = list(
        csv.DictReader(io.StringIO(read_text("davidson_hate_offensive", "labeled_data.csv.gz", root)))
    )
    rng.shuffle(rows)
    # Keep the scarce "neither" tweets and fill up with offensive/hate ones: balanced English auxiliary data.
    neither = [r for r in rows if r["class"] == "2"]
    other = [r for r in rows if r["class"] != "2"]
    chosen = neither[: limit // 2] + other[: limit - min(len(neither), limit // 2)]
    out = []
    for row in chosen:
        cls = row["class"]
        labels = {"toxicity": float(cls != "2"), "identity_attack": float(cls == "0")}
        if cls == "2":
            labels["propaganda"] = 0.0
        out.append(Example(row["tweet"], "davidson_hate_offensive", "mit", labels, weight=0.3))
    return out


def _written_rows(corpus: str, filename: str, root: Path) -> list[dict[str, str]]:
    """The rows of `filename` and of its later batches (`<stem>_*.csv`, in name order)."""
    rows = list(csv.DictReader(io.StringIO(read_text(corpus, filename, root))))
    stem = filename.removesuffix(".csv")
    for later in sorted(p.name for p in (root / corpus).glob(f"{stem}_*.csv")):
        rows.extend(csv.DictReader(io.StringIO(read_text(corpus, later, root))))
    return rows


def load_written_threats(root: Path = CORPORA_DIR) -> list[Example]:
    """Threats of violence (explicit, conditional, veiled, calls, wishes) and hard negatives (violent
    words in civil sentences). They teach the threat head only: given as toxicity labels too, they
    lowered the toxicity head's leave-one-corpus-out AUC on GermEval 2018 and 2021 (0.788 -> 0.783 and
    0.677 -> 0.670), whose notion of offensive they do not share."""
    out = []
    for row in _written_rows("written_threats", "threats.csv", root):
        threat = float(row["label"])
        labels = {"threat": threat}
        if not threat:
            labels["identity_attack"] = 0.0
        # The civil comments that address someone are the counterweight to threats naming their target;
        # they count double (there are fewer of them than threats that name an addressee).
        weight = 2.0 if row["kind"] == "addressed_civil" else 1.0
        out.append(Example(row["text"], "written_threats", "cc0", labels, weight=weight, group=row["kind"]))
    return out


def load_written_group_hate(root: Path = CORPORA_DIR) -> list[Example]:
    """Attacks on groups (expel, harm, dehumanise, collective slander, slurs) and civil comments that
    mention the same groups."""
    out = []
    for row in _written_rows("written_group_hate", "group_hate.csv", root):
        attack = float(row["label"])
        labels = {"identity_attack": attack}  # not toxicity: see load_written_threats
        if row["kind"] != "harm":
            labels["threat"] = 0.0
        if not attack:
            labels["propaganda"] = 0.0
        out.append(Example(row["text"], "written_group_hate", "cc0", labels, weight=1.0, group=row["kind"]))
    return out


def load_written_topic_comments(root: Path = CORPORA_DIR) -> list[Example]:
    """Comments on the first site's topics (Russia, Ukraine, Kazakhstan, NATO, sanctions, energy): civil
    ones of every kind (criticism of the Kremlin, questions, facts, reports of claims, sarcasm) as
    propaganda negatives, and comments that endorse a narrative as positives."""
    out = []
    for row in _written_rows("written_topic_comments", "comments.csv", root):
        propaganda = float(row["propaganda"])
        labels = {"propaganda": propaganda, "threat": 0.0}
        if not propaganda:
            labels["identity_attack"] = 0.0
        out.append(
            Example(
                row["text"],
                "written_topic_comments",
                "cc0",
                labels,
                narrative=row["narrative"] or None,
                weight=1.5,
                group=row["kind"],
            )
        )
    return out


def load_written_spam(root: Path = CORPORA_DIR) -> list[Example]:
    """Comment-section spam (ads, money and crypto offers, dating, channel promotion, link drops, scams),
    often dressed in the article's topic, and genuine comments that cite sources, talk about prices,
    name brands or recommend something to read. They teach the spam head only."""
    return [
        Example(row["text"], "written_spam", "cc0", {"spam": float(row["label"])}, group=row["kind"])
        for row in _written_rows("written_spam", "spam.csv", root)
    ]


Loader = Callable[[], list[Example]]


def load_corpora(
    *,
    licences: Collection[str] | None = None,
    quick: bool = False,
    seed: int = 0,
    semeval_names: dict[str, str] | None = None,
    root: Path = CORPORA_DIR,
) -> dict[str, list[Example]]:
    """Load every training corpus whose licence token is in `licences` (all when None)."""
    if licences is not None:
        unknown = set(licences) - set(LICENCE_TOKENS)
        if unknown:
            raise ValueError(f"unknown licence tokens: {sorted(unknown)}")
    rng = random.Random(seed)
    scale = 0.25 if quick else 1.0
    loaders: dict[str, Loader] = {
        "germeval2018": lambda: load_germeval2018(root),
        "germeval2019": lambda: load_germeval2019(root),
        "germeval2021": lambda: load_germeval2021(root),
        "germs_at": lambda: load_germs_at(root),
        "semeval2021_task6": lambda: load_semeval(semeval_names or {}, root),
        "synthetic_de_comments": lambda: load_synthetic(root),
        "euvsdisinfo": lambda: load_euvsdisinfo(rng, int(3000 * scale), root),
        "davidson_hate_offensive": lambda: load_davidson(rng, int(3000 * scale), root),
        "written_threats": lambda: load_written_threats(root),
        "written_group_hate": lambda: load_written_group_hate(root),
        "written_topic_comments": lambda: load_written_topic_comments(root),
        "written_spam": lambda: load_written_spam(root),
    }
    out: dict[str, list[Example]] = {}
    for name, loader in loaders.items():
        licence = LICENCES.get(name, "unstated")
        if licences is not None and licence not in licences:
            continue
        examples = loader()
        if quick and name not in ("synthetic_de_comments", "semeval2021_task6", *WRITTEN):
            rng.shuffle(examples)
            examples = examples[: max(200, int(len(examples) * scale))]
        out[name] = examples
    return out
