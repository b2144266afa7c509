"""Text normalisation that remembers where every character came from.

The model sees a normalised text (NFKC, casefolded, de-obfuscated, URLs and mentions replaced); the API
reports spans in the original text. Every normalised character therefore carries the half-open range of
original characters it was made from, so a span in the normalised text maps back exactly.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
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
_SPACED = re.compile(r"(?<![^\W\d_])(?:[^\W\d_][ .\-_*]){3,}[^\W\d_](?![^\W\d_])")
_SPACED_SEP = re.compile(r"[ .\-_*]")
# A word that mixes letters with single leet digits: "schw3in", "vollidi0t", "4rschloch".
_LEET_WORD = re.compile(r"\b(?=\w*[^\W\d_])(?=\w*\d)\w{3,}\b")
_LEET_DIGIT = re.compile(r"(?<!\d)[013457@$](?!\d)")
# Leet words need one of the digits _LEET_DIGIT replaces.
_ANY_DIGIT = re.compile(r"[013457]")
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
_MAYBE_SPACED = re.compile(r"[ .\-_*]\w[ .\-_*]\w[ .\-_*]")
_MAYBE_REPEAT = re.compile(r"(.)\1\1", re.DOTALL)
# Quotes of other comments: forum-style "> ..." lines and [quote]...[/quote] blocks. The commenter did
# not write them, so the models see a placeholder instead (unless the comment is nothing but a quote).
_QUOTE = re.compile(r"^[ \t]*>[^\n]*|\[quote(?:=[^\]\n]*)?\].*?\[/quote\]", re.MULTILINE | re.DOTALL)
_NOT_QUOTE_TEXT = re.compile(r"[\W_]*")
# Emoji presentation and skin-tone modifiers, zero-width joiners: "👍🏼" and "👍" are the same token.
_MAYBE_EMOJI_MODIFIER = re.compile("[\u200d-\U0010ffff]")
_EMOJI_MODIFIER = re.compile("[\ufe0f\u200d\U0001f3fb-\U0001f3ff]+")
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
        return self.starts[start], self.ends[end - 1]


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


def _unleet(match: re.Match[str]) -> str | None:
    word = match.group(0)
    letters = sum(ch.isalpha() for ch in word)
    if letters < 2:
        return None
    return _LEET_DIGIT.sub(lambda m: _LEET_MAP[m.group(0)], word)


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
    for exact in (True, False):
        hidden = [f"\\w{{{len(m)}}}" if exact else f"\\w{{0,{len(m) + 1}}}" for m in masks]
        compiled = re.compile(
            "".join(re.escape(part) + (hidden[i] if i < len(hidden) else "") for i, part in enumerate(parts))
        )
        for candidate in lexicon:
            if compiled.fullmatch(candidate):
                return candidate
    return None


def _squeeze(match: re.Match[str]) -> str | None:
    char = match.group(1)
    return None if char.isdecimal() else char


def _unmix(match: re.Match[str]) -> str | None:
    word = match.group(0)
    latin = sum("a" <= ch <= "z" for ch in word)
    other = sum("\u0370" <= ch <= "\u04ff" for ch in word)
    return word.translate(_TO_LATIN if latin >= other else _TO_CYRILLIC)


def _strip_quotes(norm: Normalised) -> Normalised:
    """Replace quoted comments by QUOTE_TOKEN, unless nothing but quotes would be left."""
    if _NOT_QUOTE_TEXT.fullmatch(_QUOTE.sub("", norm.text)):
        return norm
    return _rewrite(norm, _QUOTE, lambda m: f" {QUOTE_TOKEN} ")


def normalise(text: str) -> Normalised:
    """Normalise one comment for the models, keeping the offset map to `text`."""
    replaced, starts, ends = _replace_lbr(text)
    norm = _fold(text, replaced)
    if replaced is not text:
        norm = Normalised(norm.text, [starts[i] for i in norm.starts], [ends[i - 1] for i in norm.ends], text)
    # Each rewrite runs only if a cheap test says it can match: most comments need none of them.
    if ">" in norm.text or "[quote" in norm.text:
        norm = _strip_quotes(norm)
    if not norm.text.isascii():
        if _MAYBE_EMOJI_MODIFIER.search(norm.text) and _EMOJI_MODIFIER.search(norm.text):
            norm = _rewrite(norm, _EMOJI_MODIFIER, lambda m: "")
        if _GREEK_OR_CYRILLIC.search(norm.text) and _MIXED_SCRIPT.search(norm.text):
            norm = _rewrite(norm, _MIXED_WORD, _unmix)
    if _MAYBE_URL.search(norm.text):
        norm = _rewrite(norm, _URL, lambda m: f" {URL_TOKEN} ")
    if "@" in norm.text or "{user}" in norm.text:
        norm = _rewrite(norm, _USER, lambda m: f" {USER_TOKEN} ")
    if _MAYBE_SPACED.search(norm.text):
        norm = _rewrite(norm, _SPACED, _unspace)
    if _ANY_DIGIT.search(norm.text):
        norm = _rewrite(norm, _LEET_WORD, _unleet)
    if _MAYBE_MASKED.search(norm.text):
        norm = _rewrite(norm, _MASKED, _unmask)
    if _MAYBE_REPEAT.search(norm.text):
        norm = _rewrite(norm, _REPEAT, _squeeze)
    return norm


def normalise_text(text: str) -> str:
    """Only the normalised string (for training, where no offsets are needed)."""
    return normalise(text).text
