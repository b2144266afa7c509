"""Text normalisation that remembers where every character came from.

The model sees a normalised text (NFKC, casefolded, de-obfuscated, URLs and mentions replaced); the API
reports spans in the original text. Every normalised character therefore carries the half-open range of
original characters it was made from, so a span in the normalised text maps back exactly.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import pairwise
from pathlib import Path

CATALOGUE_DIR = Path(__file__).resolve().parent / "catalogue"

URL_TOKEN = "urltoken"
USER_TOKEN = "usertoken"
QUOTE_TOKEN = "quotetoken"

_LBR = re.compile(r"\|LBR\|")
_URL = re.compile(
    r"(?:https?://|www\.)\S+|\{url\}|\b[\w-]+\.(?:com|de|ru|net|org|info|io|at|ch|biz|xyz)(?:/\S*)?\b"
)
# Necessary conditions for a _URL match (a superset, found without backtracking).
_MAYBE_URL = re.compile(r"https?://|www\.|\{url\}|\.(?:com|de|ru|net|org|info|io|at|ch|biz|xyz)\b")
_USER = re.compile(r"@\w+|\{user\}")
# Four or more single letters separated by one space, dot or similar: "I d i o t", "D.r.e.c.k".
# ("ss" counts as one letter: it is how "ß" reads after casefolding, "s c h e i ß e" is "scheiße".)
_SPACED = re.compile(r"(?<![^\W\d_])(?:(?:[^\W\d_]|ss)[ .\-_*]){3,}(?:[^\W\d_]|ss)(?![^\W\d_])")
_SPACED_SEP = re.compile(r"[ .\-_*]")
# The same with leet digits among the letters ("H u r 3 n s 0 h n", "4 5 5 h o l e"), tried first and
# kept only if the digits could be letters (see `_unspace_leet`); otherwise _SPACED reads the letters.
_SPACED_LEET = re.compile(r"(?<![^\W_])(?:(?:[^\W_]|ss)[ .\-_*]){3,}(?:[^\W_]|ss)(?![^\W_])")
# A word that mixes letters with single leet digits: "schw3in", "vollidi0t", "4rschloch".
_LEET_WORD = re.compile(r"\b(?=\w*[^\W\d_])(?=\w*\d)\w{3,}\b")
_LEET_DIGIT = re.compile(r"(?<!\d)[013457@$](?!\d)")
# In a word with more letters than digits, all leet digits: also a run of them between two letters
# ("sch31sse"); "100km" and codes like "1f44b" stay.
_LEET_DIGIT_OR_RUN = re.compile(r"(?<!\d)[013457@$](?!\d)|(?<=[^\W\d_])[013457]{2,}(?=[^\W\d_])")
_NOT_LEET_DIGIT = re.compile(r"[2689]")
# Leet words need one of the digits _LEET_DIGIT replaces.
_ANY_DIGIT = re.compile(r"[013457]")
_ALL_LEET_DIGITS = re.compile(r"(?:[^\W\d_]|[013457])*")
_EDGE_LEET_RUN = re.compile(r"^[013457]{2,}|[013457]{2,}$")
_LEET_DIGITS_TO_LETTERS = str.maketrans("013457@$", "oieastas")
_LEET_MAP = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
# A word with masking characters inside it: "a*schloch", "wi-chser", "arschl#ch".
_MASKED = re.compile(r"(?<![^\W\d_])[^\W\d_]+(?:[*#+\-_.]+[^\W\d_]*)+[^\W\d_](?![^\W\d_])")
# Every _MASKED match contains a letter, a run of masking characters and a letter, in a row.
# (Written to start with the mask character: the scan then skips ordinary letters quickly.)
_MAYBE_MASKED = re.compile(r"[*#+\-_.](?<=[^\W\d_].)[*#+\-_.]*[^\W\d_]")
_MASK_RUN = re.compile(r"[*#+\-_.]+")
# Runs of three or more of one character, digits aside ("1000" stays); `_squeeze` skips digit runs,
# which scans about twice as fast as the equivalent `(\D)\1{2,}`.
_REPEAT = re.compile(r"(.)\1\1+", re.DOTALL)
# Cheap supersets of _SPACED and _REPEAT (no look-behind, no counted back-reference): 2-4x faster scans.
# (Strictly, a spaced run whose "ß"s leave no two single letters in a row inside it, like "s ü ß e",
# escapes _MAYBE_SPACED; allowing "ss" here would cost every comment a quarter more for this scan.)
_MAYBE_SPACED = re.compile(r"[ .\-_*]\w[ .\-_*]\w[ .\-_*]")
_MAYBE_REPEAT = re.compile(r"(.)\1\1", re.DOTALL)
# Quotes of other comments: forum-style "> ..." lines and [quote]...[/quote] blocks. The commenter did
# not write them, so the models see a placeholder instead (unless the comment is nothing but a quote).
_QUOTE = re.compile(r"^[ \t]*>[^\n]*|\[quote(?:=[^\]\n]*)?\].*?\[/quote\]", re.MULTILINE | re.DOTALL)
_NOT_QUOTE_TEXT = re.compile(r"[\W_]*")
# Emoji presentation and skin-tone modifiers, zero-width joiners, tag characters (flags of regions) and
# supplementary variation selectors: "👍🏼" and "👍" are the same token.
_MAYBE_EMOJI_MODIFIER = re.compile("[\u200d-\U0010ffff]")
_EMOJI_MODIFIER = re.compile("[\ufe0f\u200d\U0001f3fb-\U0001f3ff\U000e0000-\U000e0fff]+")
# Homoglyphs: a word that mixes Latin with Cyrillic or Greek letters ("Іdiot" with a Cyrillic "І",
# "идиoт" with a Latin "o") is written in its majority script, each look-alike letter swapped.
_GREEK_OR_CYRILLIC = re.compile("[\u0370-\u04ff]")
_MIXED_SCRIPT = re.compile(r"[a-z][\u0370-\u04ff]|[\u0370-\u04ff][a-z]")
_MIXED_WORD = re.compile(r"\w*(?:[a-z][\u0370-\u04ff]|[\u0370-\u04ff][a-z])\w*")
_TO_LATIN = str.maketrans(
    # Cyrillic (lower case, and the lower case of capitals that look Latin: В Н К М Т), then Greek.
    "аеорсухіјѕԁһӏвнкмтοαικνρτυχ",
    "aeopcyxijsdhlbhkmtoaikvptux",
)
_TO_CYRILLIC = str.maketrans("aeopcyxkmthb", "аеорсухкмтнв")

# Characters a reader does not see: bidi controls (U+061C, U+200E/F, U+202A-202E, U+2066-2069), zero-width
# characters (U+200B-200D, U+2060-2064, U+FEFF, U+180E), the soft hyphen, invisible fillers, variation
# selectors. They are dropped before anything else reads the text, so "Idi\u200bot" and "Idi\u00adot"
# are "Idiot". U+0345 is a combining mark, but casefolding turns it into a Greek iota ("Idio\u0345t"
# would read "idioιt"), so it goes here too. (Tag characters and the supplementary variation selectors,
# outside the Basic Multilingual Plane, go with the emoji modifiers: a class of characters within the
# plane is a bitmap, which makes this scan, run on every comment that is not ASCII, a third faster.)
_HIDDEN_CHARS = (
    "\u00ad\u0345\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f"
    "\u3164\ufe00-\ufe0f\ufeff\uffa0"
)
_HIDDEN = re.compile(f"[{_HIDDEN_CHARS}]+")
# Bidi controls that open an embedding, override or isolate: only then can the reading order differ.
_BIDI_OPENERS = {
    "\u202a": "embed",
    "\u202b": "embed",
    "\u202d": "ltr-override",
    "\u202e": "rtl-override",
    "\u2066": "isolate",
    "\u2067": "isolate",
    "\u2068": "isolate",
}
_BIDI_OPENER = re.compile("[\u202a\u202b\u202d\u202e\u2066-\u2068]")
_POP_DIRECTIONAL_FORMATTING = "\u202c"
_POP_DIRECTIONAL_ISOLATE = "\u2069"
# Paragraph separators end every embedding, override and isolate (Unicode bidi algorithm, rule X8).
_PARAGRAPH_END = frozenset("\n\r\x1c\x1d\x1e\x85\u2029")
# Shown mirrored in a right-to-left run: "(" in a reversed run looks like ")".
_MIRRORED = str.maketrans("()[]{}<>«»‹›", ")(][}{><»«›‹")


def _char_class(chars: Iterable[str]) -> str:
    """The inside of a regex character class for `chars`, as ranges of consecutive characters."""
    points = sorted({ord(ch) for ch in chars})
    out = []
    i = 0
    while i < len(points):
        j = i
        while j + 1 < len(points) and points[j + 1] == points[j] + 1:
            j += 1
        out.append(re.escape(chr(points[i])) + ("-" + re.escape(chr(points[j])) if j > i else ""))
        i = j + 1
    return "".join(out)


# Combining marks as decoration: Zalgo stacks ("I̶d̷i̸o̴t̵"), dots and accents ("Ḯḋḯọṭ"). Every nonspacing
# or enclosing mark except the emoji keycap (U+20E3) counts; a mark on a letter of another script (Arabic
# vowel signs, Hebrew points, Devanagari) is left alone. The letters the models learnt with their marks
# stay: German ä ö ü (ß has no mark) and Cyrillic й ё ї ў, also when more marks are stacked on them.
# Only marks of the Basic Multilingual Plane (those outside it belong to historic scripts and musical
# notation): the classes stay bitmaps, which keeps the scan as fast as the text can be read.
_MARK_CHARS = _char_class(
    chr(c)
    for c in range(0x300, 0x10000)
    if unicodedata.category(chr(c)) in ("Mn", "Me") and chr(c) not in "\u0345\u20e3"
)
_KEPT_LETTERS = {
    base + mark: unicodedata.normalize("NFC", base + mark)
    for base, mark in (
        ("a", "\u0308"),
        ("o", "\u0308"),
        ("u", "\u0308"),
        ("\u0438", "\u0306"),  # й
        ("\u0435", "\u0308"),  # ё
        ("\u0456", "\u0308"),  # ї
        ("\u0443", "\u0306"),  # ў
    )
}
# Letters of Latin, Greek and Cyrillic (these are the scripts whose accented letters are folded).
_FOLDED_SCRIPTS = re.compile(
    "[\u0000-\u02af\u0370-\u052f\u1d00-\u1fff\u2c60-\u2c7f\ua640-\ua69f\ua720-\ua7ff]"
)
# Precomposed letters of those scripts with a mark in their canonical decomposition (é, ḋ, ọ, ...),
# except the kept ones (casefolded text is lower case, so only lower-case kept letters are listed).
_DECORATED_CHARS = _char_class(
    chr(c)
    for c in range(0xC0, 0x2000)
    if unicodedata.category(chr(c)).startswith("L")
    and _FOLDED_SCRIPTS.match(chr(c))
    and chr(c) not in _KEPT_LETTERS.values()
    and any(unicodedata.category(d) in ("Mn", "Me") for d in unicodedata.normalize("NFD", chr(c)))
)
_MAYBE_MARKED = re.compile(f"[{_MARK_CHARS}{_DECORATED_CHARS}]")
_MARKED = re.compile(f"[^{_MARK_CHARS}][{_MARK_CHARS}]+|[{_DECORATED_CHARS}]|^[{_MARK_CHARS}]+", re.DOTALL)
# One scan of the original text tells whether any of this can apply: a hidden character, or one that
# folds (NFKC, casefold) to a mark or a decorated letter ("é", "İ", "¨"; not "Ä", which folds to a kept
# "ä"). Most comments have none and cost one bitmap scan more than before.
_MAYBE_EVASION = re.compile(
    "["
    + _HIDDEN_CHARS
    + _char_class(
        chr(c)
        for c in range(0xA0, 0x10000)
        if not 0xD800 <= c < 0xE000 and _MAYBE_MARKED.search(unicodedata.normalize("NFKC", chr(c)).casefold())
    )
    + "]"
)


@dataclass(frozen=True)
class Normalised:
    """A normalised text with, per character, the original range it came from."""

    text: str
    starts: list[int]
    ends: list[int]
    original: str

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map the half-open range [start, end) of the normalised text to the original text."""
        if end <= start:
            pos = self.starts[start] if start < len(self.starts) else len(self.original)
            return pos, pos
        if end - start == 1:
            return self.starts[start], self.ends[start]
        # Usually the first and the last character; not so in a run read right to left (see `_as_read`).
        return min(self.starts[start:end]), max(self.ends[start:end])


@cache
def obfuscation_lexicon() -> tuple[str, ...]:
    """Words the de-obfuscation step may restore (insults, profanity, slurs; de/en/ru), in file order."""
    data = json.loads((CATALOGUE_DIR / "lexicon.json").read_text(encoding="utf-8"))
    words = (w.casefold() for key in ("insult", "profanity", "slur") for ws in data[key].values() for w in ws)
    return tuple(dict.fromkeys(words))


def _rewrite(
    norm: Normalised, pattern: re.Pattern[str], repl: Callable[[re.Match[str]], str | None]
) -> Normalised:
    """Apply `repl` to every match; each replacement character maps to the whole matched range."""
    text = norm.text
    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    changed = False
    for match in pattern.finditer(text):
        new = repl(match)
        if new is None or new == match.group(0):
            continue
        changed = True
        a, b = match.span()
        pieces.append(text[pos:a])
        starts.extend(norm.starts[pos:a])
        ends.extend(norm.ends[pos:a])
        pieces.append(new)
        if len(new) == b - a:
            # Same length: keep the per-character mapping so spans stay tight.
            starts.extend(norm.starts[a:b])
            ends.extend(norm.ends[a:b])
        else:
            seg_start, seg_end = norm.starts[a], norm.ends[b - 1]  # matches are never empty
            starts.extend([seg_start] * len(new))
            ends.extend([seg_end] * len(new))
        pos = b
    if not changed:
        return norm
    pieces.append(text[pos:])
    starts.extend(norm.starts[pos:])
    ends.extend(norm.ends[pos:])
    return Normalised("".join(pieces), starts, ends, norm.original)


@cache
def _multi_fold() -> re.Pattern[str]:
    """The characters whose casefold is not exactly one character ("ß", "ﬁ", "İ", ...)."""
    chars = "".join(chr(c) for c in range(0x110000) if len(chr(c).casefold()) != 1)
    return re.compile("[" + re.escape(chars) + "]")


def _fold(original: str, text: str) -> Normalised:
    """NFKC + casefold, character by character where lengths change."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    if len(folded) == len(text) and (text.isascii() or unicodedata.is_normalized("NFKC", text)):
        return Normalised(folded, list(range(len(text))), list(range(1, len(text) + 1)), original)
    if unicodedata.is_normalized("NFKC", text):
        # Only casefolding changes lengths here (e.g. "ß" -> "ss"): every other character folds to one.
        pieces: list[str] = []
        starts: list[int] = []
        pos = 0
        for match in _multi_fold().finditer(text):
            a = match.start()
            pieces.append(text[pos:a].casefold())
            starts.extend(range(pos, a))
            out = match.group().casefold()
            pieces.append(out)
            starts.extend([a] * len(out))
            pos = a + 1
        pieces.append(text[pos:].casefold())
        starts.extend(range(pos, len(text)))
        return Normalised("".join(pieces), starts, [i + 1 for i in starts], original)
    pieces = []
    starts = []
    ends: list[int] = []
    i = 0
    n = len(text)
    while i < n:
        j = i + 1
        while j < n and unicodedata.combining(text[j]):
            j += 1
        out = unicodedata.normalize("NFKC", text[i:j]).casefold()
        pieces.append(out)
        starts.extend([i] * len(out))
        ends.extend([j] * len(out))
        i = j
    return Normalised("".join(pieces), starts, ends, original)


def _replace_lbr(text: str) -> tuple[str, list[int], list[int]]:
    """Replace GermEval's `|LBR|` line-break marker by a newline, keeping the mapping."""
    if "|LBR|" not in text:
        return text, list(range(len(text))), list(range(1, len(text) + 1))
    starts: list[int] = []
    ends: list[int] = []
    pieces: list[str] = []
    pos = 0
    for match in _LBR.finditer(text):
        a, b = match.span()
        pieces.append(text[pos:a])
        starts.extend(range(pos, a))
        ends.extend(range(pos + 1, a + 1))
        pieces.append("\n")
        starts.append(a)
        ends.append(b)
        pos = b
    pieces.append(text[pos:])
    starts.extend(range(pos, len(text)))
    ends.extend(range(pos + 1, len(text) + 1))
    return "".join(pieces), starts, ends


def _unspace(match: re.Match[str]) -> str:
    return _SPACED_SEP.sub("", match.group(0))


def _unspace_leet(match: re.Match[str]) -> str | None:
    """Spaced letters and leet digits, if every digit is a leet digit and letters outnumber them."""
    chars = _SPACED_SEP.sub("", match.group(0))
    digits = sum(ch.isdecimal() for ch in chars)
    if not digits or sum(ch.isalpha() for ch in chars) <= digits or not _ALL_LEET_DIGITS.fullmatch(chars):
        return None
    return chars


def _unleet(match: re.Match[str]) -> str | None:
    word = match.group(0)
    letters = sum(ch.isalpha() for ch in word)
    if letters < 2:
        return None
    if letters <= len(word) - letters or _NOT_LEET_DIGIT.search(word):
        return _LEET_DIGIT.sub(lambda m: _LEET_MAP[m.group(0)], word)
    out = _LEET_DIGIT_OR_RUN.sub(lambda m: m.group(0).translate(_LEET_DIGITS_TO_LETTERS), word)
    if _EDGE_LEET_RUN.search(out):
        # A run of digits at the start or end may be a number ("100km") or letters ("455hole"): letters
        # only if that spells a word of the lexicon.
        whole = out.translate(_LEET_DIGITS_TO_LETTERS)
        if whole in _lexicon_words():
            return whole
    return out


@cache
def _lexicon_words() -> frozenset[str]:
    return frozenset(obfuscation_lexicon())


def _unmask(match: re.Match[str]) -> str | None:
    return _unmask_word(match.group(0))


@lru_cache(maxsize=65_536)
def _unmask_word(word: str) -> str | None:
    """The lexicon word a masked word stands for (cached: trying the lexicon costs ~100 us per word).

    A word whose masks hide exactly as many letters ("a*schloch") wins over one that needs more or
    fewer; ties go to the word listed first in the lexicon, so the choice never depends on set order.
    """
    lexicon = obfuscation_lexicon()
    stripped = _MASK_RUN.sub("", word)
    if stripped in lexicon:
        return stripped
    parts = _MASK_RUN.split(word)
    masks = _MASK_RUN.findall(word)
    # Only a word that starts with the first part and ends with the last, and is as long as the masks
    # allow, can match: most masked-looking words ("cdu-politiker", "z.b") rule out the whole lexicon
    # here, before a pattern is compiled.
    first, last = parts[0], parts[-1]
    shown = sum(map(len, parts))
    longest = shown + sum(len(m) + 1 for m in masks)
    possible = [
        w
        for w in _lexicon_by_first(first[:1])
        if shown <= len(w) <= longest and w.startswith(first) and w.endswith(last)
    ]
    if not possible:
        return None
    for exact in (True, False):
        hidden = [f"\\w{{{len(m)}}}" if exact else f"\\w{{0,{len(m) + 1}}}" for m in masks]
        compiled = re.compile(
            "".join(re.escape(part) + (hidden[i] if i < len(hidden) else "") for i, part in enumerate(parts))
        )
        for candidate in possible:
            if compiled.fullmatch(candidate):
                return candidate
    return None


@cache
def _lexicon_by_first(letter: str) -> tuple[str, ...]:
    """The obfuscation lexicon's words that start with `letter`, in file order."""
    return tuple(w for w in obfuscation_lexicon() if w.startswith(letter))


def _squeeze(match: re.Match[str]) -> str | None:
    char = match.group(1)
    return None if char.isdecimal() else char


def _unmix(match: re.Match[str]) -> str | None:
    word = match.group(0)
    latin = sum("a" <= ch <= "z" for ch in word)
    other = sum("\u0370" <= ch <= "\u04ff" for ch in word)
    return word.translate(_TO_LATIN if latin >= other else _TO_CYRILLIC)


def _unmark(match: re.Match[str]) -> str | None:
    """A letter without its decoration: the bare letter, or a kept letter (ä, й, ...) if the letter and
    one of its marks make one."""
    chars = unicodedata.normalize("NFD", match.group(0))
    base = chars[0]
    if unicodedata.category(base)[0] == "M":  # marks before the first character
        return ""
    if base.isalpha() and not _FOLDED_SCRIPTS.match(base):
        return None
    # (Decomposition sorts the marks by their class, so the umlaut of "ä" with a stroke comes last.)
    for mark in chars[1:]:
        kept = _KEPT_LETTERS.get(base.lower() + mark)
        if kept is not None:
            return kept if base.islower() else kept.upper()
    return base


def _unmark_or_keep(match: re.Match[str]) -> str:
    out = _unmark(match)
    return match.group(0) if out is None else out


@dataclass
class _Run:
    """Characters (indices) and nested runs between a bidi control and the character that ends it."""

    kind: str
    items: list[int | _Run]
    rtl: bool | None = None  # holds right-to-left letters (computed once, see `_has_rtl_letters`)


# Deeper nesting is ignored, as the Unicode bidi algorithm does beyond 125 levels.
_MAX_BIDI_DEPTH = 125


def _as_read(text: str) -> tuple[str, list[int]] | None:
    """The text as its reader sees it, with the index in `text` of each character; None if no character
    is hidden. Hidden characters are dropped. A right-to-left override (U+202E) shows the letters up to
    its U+202C (or the end of the paragraph) in reverse order: "toidI" in an override shows "Idiot", so
    that is what it reads; a run holding right-to-left letters (Hebrew, Arabic) is read as written."""
    if text.isascii() or not _HIDDEN.search(text):
        return None
    if not _BIDI_OPENER.search(text):
        order: list[int] = []
        pos = 0
        for match in _HIDDEN.finditer(text):
            order.extend(range(pos, match.start()))
            pos = match.end()
        order.extend(range(pos, len(text)))
        return _HIDDEN.sub("", text), order
    root = _Run("paragraph", [])
    stack = [root]
    ignored = 0  # openers beyond the maximum depth, still waiting for their closing character
    for i, ch in enumerate(text):
        kind = _BIDI_OPENERS.get(ch)
        if kind is not None:
            if len(stack) > _MAX_BIDI_DEPTH:
                ignored += 1
                continue
            run = _Run(kind, [])
            stack[-1].items.append(run)
            stack.append(run)
        elif ch == _POP_DIRECTIONAL_FORMATTING:
            if ignored:
                ignored -= 1
            elif len(stack) > 1 and stack[-1].kind != "isolate":
                stack.pop()
        elif ch == _POP_DIRECTIONAL_ISOLATE:
            if ignored:
                ignored -= 1
                continue
            for depth in range(len(stack) - 1, 0, -1):
                if stack[depth].kind == "isolate":
                    del stack[depth:]
                    break
        elif ch in _PARAGRAPH_END:
            del stack[1:]
            ignored = 0
            root.items.append(i)
        elif not _HIDDEN.match(ch):
            stack[-1].items.append(i)
    order = []
    mirrored: set[int] = set()
    _read(root, text, order, mirrored)
    return "".join(text[i].translate(_MIRRORED) if i in mirrored else text[i] for i in order), order


def _read(run: _Run, text: str, order: list[int], mirrored: set[int]) -> None:
    """Append the indices of `run` in reading order."""
    if run.kind != "rtl-override" or _has_rtl_letters(run, text):
        for item in run.items:
            if isinstance(item, int):
                order.append(item)
            else:
                _read(item, text, order, mirrored)
        return
    # Reversed unit by unit: a letter with its marks, or a nested run (read in its own order).
    units: list[list[int]] = []
    last_is_char = False
    for item in run.items:
        if isinstance(item, int):
            if last_is_char and unicodedata.category(text[item])[0] == "M":
                units[-1].append(item)
            else:
                units.append([item])
            mirrored.add(item)
            last_is_char = True
        else:
            nested: list[int] = []
            _read(item, text, nested, mirrored)
            units.append(nested)
            last_is_char = False
    for unit in reversed(units):
        order.extend(unit)


def _has_rtl_letters(run: _Run, text: str) -> bool:
    if run.rtl is None:
        run.rtl = any(
            _has_rtl_letters(item, text)
            if isinstance(item, _Run)
            else unicodedata.bidirectional(text[item]) in ("R", "AL")
            for item in run.items
        )
    return run.rtl


def _strip_quotes(norm: Normalised) -> Normalised:
    """Replace quoted comments by QUOTE_TOKEN, unless nothing but quotes would be left."""
    if _NOT_QUOTE_TEXT.fullmatch(_QUOTE.sub("", norm.text)):
        return norm
    return _rewrite(norm, _QUOTE, lambda m: f" {QUOTE_TOKEN} ")


def normalise(text: str) -> Normalised:
    """Normalise one comment for the models, keeping the offset map to `text`.

    The models and the word rules read the same thing: the text as shown (`_as_read`), folded and
    de-obfuscated."""
    if text.isascii() or not _MAYBE_EVASION.search(text):
        return _normalise_shown(text, marks=False)
    shown = _as_read(text)
    if shown is None:
        return _normalise_shown(text, marks=True)
    visible, order = shown
    norm = _normalise_shown(visible, marks=True)
    if all(a < b for a, b in pairwise(order)):  # nothing reversed: ranges stay ranges
        return Normalised(
            norm.text, [order[a] for a in norm.starts], [order[b - 1] + 1 for b in norm.ends], text
        )
    starts: list[int] = []
    ends: list[int] = []
    for a, b in zip(norm.starts, norm.ends, strict=True):
        if b == a + 1:
            starts.append(order[a])
            ends.append(order[a] + 1)
        else:
            # A range of the shown text may come from a reversed run: its characters' lowest and highest
            # index bound it in the original.
            indices = order[a:b]
            starts.append(min(indices))
            ends.append(max(indices) + 1)
    return Normalised(norm.text, starts, ends, text)


def _normalise_shown(text: str, *, marks: bool) -> Normalised:
    """Normalise a text without hidden characters (`marks`: it may hold decorating marks)."""
    replaced, starts, ends = _replace_lbr(text)
    norm = _fold(text, replaced)
    if replaced is not text:
        norm = Normalised(norm.text, [starts[i] for i in norm.starts], [ends[i - 1] for i in norm.ends], text)
    # Each rewrite runs only if a cheap test says it can match: most comments need none of them.
    if ">" in norm.text or "[quote" in norm.text:
        norm = _strip_quotes(norm)
    if not norm.text.isascii():
        if marks and _MAYBE_MARKED.search(norm.text):
            norm = _rewrite(norm, _MARKED, _unmark)
        if _MAYBE_EMOJI_MODIFIER.search(norm.text) and _EMOJI_MODIFIER.search(norm.text):
            norm = _rewrite(norm, _EMOJI_MODIFIER, lambda m: "")
        if _GREEK_OR_CYRILLIC.search(norm.text) and _MIXED_SCRIPT.search(norm.text):
            norm = _rewrite(norm, _MIXED_WORD, _unmix)
    if _MAYBE_URL.search(norm.text):
        norm = _rewrite(norm, _URL, lambda m: f" {URL_TOKEN} ")
    if "@" in norm.text or "{user}" in norm.text:
        norm = _rewrite(norm, _USER, lambda m: f" {USER_TOKEN} ")
    if _MAYBE_SPACED.search(norm.text):
        spaced = norm
        if _ANY_DIGIT.search(norm.text):
            norm = _rewrite(norm, _SPACED_LEET, _unspace_leet)
        norm = _rewrite(norm, _SPACED, _unspace)
        # Spaced letters are words of one letter each, so look-alikes among them mix only now.
        if norm is not spaced and not norm.text.isascii() and _MIXED_SCRIPT.search(norm.text):
            norm = _rewrite(norm, _MIXED_WORD, _unmix)
    if _ANY_DIGIT.search(norm.text):
        norm = _rewrite(norm, _LEET_WORD, _unleet)
    if _MAYBE_MASKED.search(norm.text):
        norm = _rewrite(norm, _MASKED, _unmask)
    if _MAYBE_REPEAT.search(norm.text):
        norm = _rewrite(norm, _REPEAT, _squeeze)
    return norm


def shown_text(text: str) -> str:
    """`text` as a reader reads it, case and all: hidden characters dropped, right-to-left overrides
    read as shown, decorating marks removed (for the language detector, which should see the words)."""
    if text.isascii() or not _MAYBE_EVASION.search(text):
        return text
    shown = _as_read(text)
    visible = text if shown is None else shown[0]
    return _MARKED.sub(_unmark_or_keep, visible)


def normalise_text(text: str) -> str:
    """Only the normalised string (for training, where no offsets are needed)."""
    return normalise(text).text
