"""The versioned narrative/technique catalogue and the lexicons, and fast cue matching on normalised text.

Cues of one kind are compiled into a single alternation (one capture group per cue), so a text is scanned
once per kind instead of once per cue.
"""

from __future__ import annotations

import json
import re
import re._parser as re_parser
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path

from classifiers.normalize import USER_TOKEN

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
        trigger_pattern = re.compile(f"\\b(?=({_trie_regex(set(triggers))}))") if triggers else None
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
        candidates = {i for i in self.always if i not in gates or gates[i].search(text)}
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


@dataclass
class Catalogue:
    """Narratives, techniques and lexicon cues, compiled for matching."""

    version: str
    narratives: list[Narrative]
    technique_ids: list[str]
    semeval_names: dict[str, str]
    cues: CueSet  # every cue, labelled "<kind>:<label>" (kinds: narrative, technique, debunk, threat, spam)
    lexicon_words: dict[str, frozenset[str]]

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


@cache
def load_catalogue() -> Catalogue:
    """Read and compile the catalogue shipped in `classifiers/catalogue/`."""
    narratives_doc = _read("narratives.json")
    techniques_doc = _read("techniques.json")
    lexicon = _read("lexicon.json")
    narratives = [Narrative(n["id"], n["description"], n["examples"]) for n in narratives_doc["narratives"]]
    cues = [
        (f"narrative:{n['id']}", regex, w) for n in narratives_doc["narratives"] for regex, w in n["cues"]
    ]
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
    return Catalogue(
        version=version,
        narratives=narratives,
        technique_ids=[t["id"] for t in techniques_doc["techniques"]],
        semeval_names={t["semeval"]: t["id"] for t in techniques_doc["techniques"] if t["semeval"]},
        cues=CueSet.build(cues),
        lexicon_words=words,
    )
