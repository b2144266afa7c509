"""The versioned narrative/technique catalogue and the lexicons, and fast cue matching on normalised text.

Cues of one kind are compiled into a single alternation (one capture group per cue), so a text is scanned
once per kind instead of once per cue.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import re._parser as re_parser
import threading
import time
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

import yaml

from classifiers.errors import CatalogueError
from classifiers.normalize import USER_TOKEN, normalise_text

log = logging.getLogger(__name__)

CATALOGUE_DIR = Path(__file__).resolve().parent / "catalogue"
_BLANK_USER = " " * len(USER_TOKEN)


@dataclass(frozen=True)
class CueHit:
    """One cue match in the normalised text."""

    label: str
    start: int
    end: int
    weight: float


def _literal_prefixes(items: list, prefix: str = "") -> set[str] | None:
    """Literal strings one of which every match must start with (None if none can be derived)."""
    for op, av in items:
        name = str(op)
        if name == "AT":
            if prefix:
                break
            continue
        if name == "LITERAL":
            prefix += chr(av)
            continue
        if name == "SUBPATTERN":
            sub = _literal_prefixes(list(av[-1]), prefix)
        elif name == "BRANCH":
            # The common start of the branches ("n" in "never|no") is part of every prefix.
            branches = [_literal_prefixes(list(branch), prefix) for branch in av[1]]
            sub = None if any(b is None for b in branches) else {x for b in branches if b for x in b}
        else:
            break
        if sub is None:
            break
        return sub
    return {prefix} if len(prefix) >= 2 else None


def _required_class(items: list) -> str | None:
    """A regex for one character every match must contain (e.g. a digit), for cues with no prefix."""
    for op, av in items:
        name = str(op)
        if name == "AT" or (name in ("MAX_REPEAT", "MIN_REPEAT") and av[0] == 0):
            continue
        if name in ("MAX_REPEAT", "MIN_REPEAT"):
            return _required_class(list(av[2]))
        if name == "SUBPATTERN":
            return _required_class(list(av[-1]))
        if name == "LITERAL":
            return re.escape(chr(av))
        if name == "IN" and [(str(o), str(a)) for o, a in av] == [("CATEGORY", "CATEGORY_DIGIT")]:
            return r"\d"
        return None
    return None


def _word_start_literals(items: list) -> set[str] | None:
    """Literals one of which every match contains at a word start, from the most selective place.

    Each top-level `\\b` followed by literal text gives a candidate set ("ich|wir|man" and "bring|mach" in
    a threat cue); the set whose shortest literal is longest is taken: long words are rare words.
    """
    best: set[str] | None = None
    for k, (op, av) in enumerate(items):
        if str(op) != "AT" or str(av) != "AT_BOUNDARY":
            continue
        found = _literal_prefixes(items[k + 1 :])
        if found and (best is None or min(map(len, found)) > min(map(len, best))):
            best = found
    return best


def _trie_regex(words: set[str]) -> str:
    """A regex matching any of `words`, nested by common prefix so each position is checked cheaply."""
    trie: dict = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def render(node: dict) -> str:
        ends = "" in node
        branches = [re.escape(ch) + render(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if ends else body

    return render(trie)


@dataclass
class CueSet:
    """Weighted regex cues, each tagged with a label (a narrative id, technique id, or kind).

    Each cue runs only if the text contains one of its trigger literals at a word start; all triggers are
    found with one trie-shaped regex, so a text without any trigger word costs a single scan.
    """

    labels: list[str]
    weights: list[float]
    patterns: list[re.Pattern[str]]
    triggers: dict[str, list[int]] = field(default_factory=dict)
    always: list[int] = field(default_factory=list)
    trigger_pattern: re.Pattern[str] | None = None
    # For cues without a literal prefix: a character class the text must contain, else the cue is skipped.
    gates: dict[int, re.Pattern[str]] = field(default_factory=dict)

    @classmethod
    def build(cls, cues: list[tuple[str, str, float]]) -> CueSet:
        triggers: dict[str, list[int]] = {}
        always: list[int] = []
        gates: dict[int, re.Pattern[str]] = {}
        for index, (_, regex, _) in enumerate(cues):
            parsed = list(re_parser.parse(regex))
            prefixes = _word_start_literals(parsed)
            if prefixes is None:
                always.append(index)
                required = _required_class(parsed)
                if required is not None:
                    gates[index] = re.compile(required)
                continue
            for literal in prefixes:
                triggers.setdefault(literal, []).append(index)
        # A found literal also triggers the cues of every literal it starts with ("keine" -> "kein").
        expanded = {
            lit: sorted({i for other, ids in triggers.items() if lit.startswith(other) for i in ids})
            for lit in triggers
        }
        # Every triggered cue starts with \b (checked above), so a trigger only counts at a word start:
        # "us" must not wake the US-narrative cues inside "aus" or "Haus".
        # The first-character class in front lets the scan skip most positions before testing for \b.
        firsts = re.escape("".join(sorted({literal[0] for literal in triggers})))
        trigger_pattern = (
            re.compile(f"(?=[{firsts}])\\b(?=({_trie_regex(set(triggers))}))") if triggers else None
        )
        return cls(
            [c[0] for c in cues],
            [float(c[2]) for c in cues],
            [re.compile(c[1]) for c in cues],
            expanded,
            always,
            trigger_pattern,
            gates,
        )

    def hits(self, text: str) -> list[CueHit]:
        gates = self.gates
        passed: dict[re.Pattern[str], bool] = {}  # cues often share a gate (a digit): test it once
        candidates = set()
        for i in self.always:
            gate = gates.get(i)
            if gate is not None and gate not in passed:
                passed[gate] = gate.search(text) is not None
            if gate is None or passed[gate]:
                candidates.add(i)
        if self.trigger_pattern is not None:
            # Mentions are normalised to a token that starts like "us" and would wake the US narratives'
            # cues in every reply; no cue matches inside it, so it is blanked for the trigger scan only.
            scan = text.replace(USER_TOKEN, _BLANK_USER) if USER_TOKEN in text else text
            for literal in set(self.trigger_pattern.findall(scan)):
                candidates.update(self.triggers.get(literal, ()))
        found = []
        for index in sorted(candidates):
            for match in self.patterns[index].finditer(text):
                found.append(CueHit(self.labels[index], match.start(), match.end(), self.weights[index]))
        return found

    def scores(self, text: str) -> dict[str, float]:
        """Noisy-or of the cue weights per label."""
        return noisy_or(self.hits(text))


def noisy_or(hits: list[CueHit]) -> dict[str, float]:
    remaining: dict[str, float] = {}
    for hit in hits:
        remaining[hit.label] = remaining.get(hit.label, 1.0) * (1.0 - hit.weight)
    return {label: 1.0 - rest for label, rest in remaining.items()}


@dataclass(frozen=True)
class Narrative:
    id: str
    description: str
    examples: dict[str, list[str]]
    titles: dict[str, str] = field(default_factory=dict)  # short names per language (extensions)


@dataclass
class Catalogue:
    """Narratives, techniques and lexicon cues, compiled for matching."""

    version: str
    narratives: list[Narrative]
    technique_ids: list[str]
    semeval_names: dict[str, str]
    cues: CueSet  # every cue, labelled "<kind>:<label>" (kinds: narrative, technique, debunk, threat, spam)
    lexicon_words: dict[str, frozenset[str]]
    # Where the editors' extension files were read from, and their state when read.
    extensions: Path | None = None
    fingerprint: tuple[tuple[str, int, int], ...] = ()

    def is_current(self) -> bool:
        """False once an extension file was added, changed or removed since this catalogue was read."""
        return extensions_fingerprint(self.extensions) == self.fingerprint

    @cached_property
    def any_lexicon_word(self) -> frozenset[str]:
        """Every insult, profanity and slur word (most comments contain none: a cheap first check)."""
        return frozenset().union(*(self.lexicon_words[k] for k in ("insult", "profanity", "slur")))

    def narrative_ids(self) -> list[str]:
        return [n.id for n in self.narratives]

    def example_texts(self) -> list[tuple[str, str, str]]:
        """(narrative id, lang, text) for every example phrase."""
        return [
            (n.id, lang, text)
            for n in self.narratives
            for lang, texts in n.examples.items()
            for text in texts
        ]


def _read(name: str) -> dict:
    return json.loads((CATALOGUE_DIR / name).read_text(encoding="utf-8"))


EXTENSION_SUFFIXES = (".json", ".yaml", ".yml")
LANGUAGES = ("de", "en", "ru")
DEFAULT_PHRASE_WEIGHT = 0.7
_NARRATIVE_ID = re.compile(r"[a-z][a-z0-9_]{2,63}")
_NARRATIVE_KEYS = {"id", "description", "title", "examples", "phrases", "phrase_weight", "cues"}


def extension_files(directory: Path | None) -> list[Path]:
    """The extension files in `directory` (sorted by name); none when it is None or missing."""
    if directory is None or not Path(directory).is_dir():
        return []
    return sorted(
        p for p in Path(directory).iterdir() if p.suffix.lower() in EXTENSION_SUFFIXES and p.is_file()
    )


def extensions_fingerprint(directory: Path | None) -> tuple[tuple[str, int, int], ...]:
    """Names, sizes and modification times of the extension files: changes when an editor saves one."""
    out = []
    for path in extension_files(directory):
        stat = path.stat()
        out.append((path.name, stat.st_size, stat.st_mtime_ns))
    return tuple(out)


def _read_extension(path: Path, raw: bytes) -> dict:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CatalogueError(f"{path.name}: not UTF-8 text: {exc}") from exc
    try:
        data = yaml.safe_load(text) if path.suffix.lower() in (".yaml", ".yml") else json.loads(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise CatalogueError(f"{path.name}: not valid {path.suffix[1:].upper()}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("narratives"), list):
        raise CatalogueError(f"{path.name}: expected a mapping with a list under 'narratives'")
    unknown = set(data) - {"version", "narratives"}
    if unknown:
        raise CatalogueError(f"{path.name}: unknown keys {sorted(unknown)}")
    return data


def _language_lists(where: str, value: object, field_name: str) -> dict[str, list[str]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise CatalogueError(f"{where}: '{field_name}' must map a language (de, en, ru) to a list of texts")
    out: dict[str, list[str]] = {}
    for lang, texts in value.items():
        if lang not in LANGUAGES:
            raise CatalogueError(f"{where}: '{field_name}' has language {lang!r}; use one of {LANGUAGES}")
        if not isinstance(texts, list) or not all(isinstance(t, str) and t.strip() for t in texts):
            raise CatalogueError(f"{where}: '{field_name}.{lang}' must be a list of non-empty texts")
        out[lang] = [t.strip() for t in texts]
    return out


def _weight(where: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 < float(value) <= 1.0:
        raise CatalogueError(f"{where}: a weight must be a number above 0 and at most 1, not {value!r}")
    return float(value)


def parse_extension_narrative(where: str, entry: object) -> tuple[Narrative, list[tuple[str, float]]]:
    """One editor-written narrative and its cues (regex, weight), validated.

    `phrases` are plain text, matched as whole words on normalised text (case, obfuscation and line
    breaks do not matter); `cues` are regular expressions over normalised text for editors who need them.
    """
    if not isinstance(entry, dict):
        raise CatalogueError(f"{where}: each narrative must be a mapping")
    unknown = set(entry) - _NARRATIVE_KEYS
    if unknown:
        raise CatalogueError(f"{where}: unknown keys {sorted(unknown)}")
    ident = entry.get("id")
    if not isinstance(ident, str) or not _NARRATIVE_ID.fullmatch(ident):
        raise CatalogueError(f"{where}: 'id' must be 3-64 lower-case letters, digits or _, not {ident!r}")
    where = f"{where} ({ident})"
    description = entry.get("description")
    if not isinstance(description, str) or not description.strip():
        raise CatalogueError(f"{where}: 'description' is required")
    titles = entry.get("title") or {}
    if not isinstance(titles, dict) or not all(
        k in LANGUAGES and isinstance(v, str) and v.strip() for k, v in titles.items()
    ):
        raise CatalogueError(f"{where}: 'title' must map a language (de, en, ru) to a short name")
    examples = _language_lists(where, entry.get("examples"), "examples")
    phrases = _language_lists(where, entry.get("phrases"), "phrases")
    phrase_weight = _weight(where, entry.get("phrase_weight", DEFAULT_PHRASE_WEIGHT))
    cues: list[tuple[str, float]] = []
    for texts in phrases.values():
        for phrase in texts:
            normalised = normalise_text(phrase).strip()
            if not any(ch.isalpha() for ch in normalised):
                raise CatalogueError(f"{where}: phrase {phrase!r} has no word to match")
            cues.append((r"\b" + re.escape(normalised) + r"\b", phrase_weight))
    raw_cues = entry.get("cues") or []
    if not isinstance(raw_cues, list):
        raise CatalogueError(f"{where}: 'cues' must be a list of [regex, weight] pairs")
    for cue in raw_cues:
        if not isinstance(cue, list | tuple) or len(cue) != 2 or not isinstance(cue[0], str):
            raise CatalogueError(f"{where}: each cue must be a [regex, weight] pair, not {cue!r}")
        try:
            re.compile(cue[0])
        except re.error as exc:
            raise CatalogueError(f"{where}: cue {cue[0]!r} is not a valid regular expression: {exc}") from exc
        cues.append((cue[0], _weight(where, cue[1])))
    if not cues:
        raise CatalogueError(f"{where}: give at least one entry under 'phrases' or 'cues'")
    return Narrative(ident, description.strip(), examples, {k: v.strip() for k, v in titles.items()}), cues


def _extension_narratives(
    directory: Path | None, taken: set[str]
) -> tuple[list[Narrative], list[tuple[str, str, float]], str]:
    """Every extension narrative with its cues, and a digest of the files (part of the version)."""
    narratives: list[Narrative] = []
    cues: list[tuple[str, str, float]] = []
    digest = hashlib.sha256()
    for path in extension_files(directory):
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise CatalogueError(f"{path.name}: cannot be read: {exc}") from exc
        digest.update(path.name.encode() + b"\0" + raw + b"\0")
        data = _read_extension(path, raw)
        for k, entry in enumerate(data["narratives"]):
            narrative, found = parse_extension_narrative(f"{path.name}: narrative {k + 1}", entry)
            if narrative.id in taken:
                raise CatalogueError(f"{path.name}: narrative id {narrative.id!r} is already defined")
            taken.add(narrative.id)
            narratives.append(narrative)
            cues.extend((f"narrative:{narrative.id}", regex, weight) for regex, weight in found)
    return narratives, cues, digest.hexdigest()[:12] if narratives else ""


def load_catalogue(extensions: Path | None = None) -> Catalogue:
    """The shipped catalogue plus the site editors' extension files in `extensions` (if any).

    Compiled once per state of the extension files: saving a file gives a new catalogue (and version).
    Raises `CatalogueError` for an extension file that is not valid.
    """
    directory = Path(extensions).resolve() if extensions is not None else None
    return _compile(directory, extensions_fingerprint(directory))


@lru_cache(maxsize=8)
def _compile(extensions: Path | None, fingerprint: tuple[tuple[str, int, int], ...]) -> Catalogue:
    narratives_doc = _read("narratives.json")
    techniques_doc = _read("techniques.json")
    lexicon = _read("lexicon.json")
    narratives = [
        Narrative(n["id"], n["description"], n["examples"], dict(n.get("title") or {}))
        for n in narratives_doc["narratives"]
    ]
    cues = [
        (f"narrative:{n['id']}", regex, w) for n in narratives_doc["narratives"] for regex, w in n["cues"]
    ]
    added, added_cues, digest = _extension_narratives(extensions, {n.id for n in narratives})
    narratives += added
    cues += added_cues
    cues += [
        (f"technique:{t['id']}", regex, w) for t in techniques_doc["techniques"] for regex, w in t["cues"]
    ]
    for kind in ("debunk", "threat", "spam"):
        cues += [(f"{kind}:{kind}", regex, w) for regex, w in lexicon[kind]]
    words = {
        kind: frozenset(w.casefold() for lang_words in lexicon[kind].values() for w in lang_words)
        for kind in ("insult", "profanity", "slur")
    }
    version = "+".join(
        sorted({narratives_doc["version"], techniques_doc["version"], lexicon["version"]}, reverse=True)
    )
    if digest:
        version += f"+ext.{digest}"
    return Catalogue(
        version=version,
        narratives=narratives,
        technique_ids=[t["id"] for t in techniques_doc["techniques"]],
        semeval_names={t["semeval"]: t["id"] for t in techniques_doc["techniques"] if t["semeval"]},
        cues=CueSet.build(cues),
        lexicon_words=words,
        extensions=extensions,
        fingerprint=fingerprint,
    )


class CatalogueWatcher:
    """The catalogue as the editors' extension files stand now, shared by everything in one process
    (workers score with it, the dashboard names its narratives).

    The files are looked at no more often than every `interval_s`. A file that does not load is refused
    once, logged, and kept in `error`: the last catalogue that loaded stays in use (the shipped one if
    none did), so a bad edit never stops scoring.
    """

    def __init__(self, extensions: Path | None, interval_s: float = 5.0) -> None:
        self.extensions = extensions
        self.interval_s = interval_s
        self.error: CatalogueError | None = None
        self._catalogue: Catalogue | None = None
        self._seen: tuple[tuple[str, int, int], ...] | None = None
        self._checked_at = float("-inf")
        self._lock = threading.Lock()

    def current(self) -> Catalogue:
        with self._lock:
            now = time.monotonic()
            if self._catalogue is not None and now - self._checked_at < self.interval_s:
                return self._catalogue
            self._checked_at = now
            fingerprint = extensions_fingerprint(self.extensions)
            if self._catalogue is None or fingerprint != self._seen:
                self._seen = fingerprint
                self._reload()
            assert self._catalogue is not None
            return self._catalogue

    def _reload(self) -> None:
        try:
            self._catalogue = load_catalogue(self.extensions)
            self.error = None
            if self._catalogue.extensions is not None and self._catalogue.fingerprint:
                log.info("narrative catalogue %s", self._catalogue.version)
        except CatalogueError as exc:
            self.error = exc
            if self._catalogue is None:
                self._catalogue = load_catalogue(None)
            log.error(
                "narrative catalogue extension refused, using catalogue %s: %s", self._catalogue.version, exc
            )
