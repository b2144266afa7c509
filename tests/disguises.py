"""Hypothesis strategies for disguised spellings of a word, as people write them to slip past moderation.

`disguised(word)` draws one spelling that a reader still reads as `word`: case changes, then one of leet
digits, look-alike letters of another script or spaced letters (leet and spacing may come together),
then zero-width characters and soft hyphens inside, decorating combining marks, and perhaps the whole
thing reversed inside a right-to-left override, which displays it in the right order again.

Not drawn, because a reader would read another word: a diaeresis on a, o, u or е (ä, ö, ü, ё are
letters of their own in German and Russian) and a breve on и or у (й, ў).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from hypothesis import strategies as st

RLO = "\u202e"  # right-to-left override
PDF = "\u202c"  # pop directional formatting

LEET = {"o": "0", "i": "1", "e": "3", "a": "4", "s": "5", "t": "7"}
# Latin letters and the Cyrillic letters that look the same, and the other way round.
LATIN_LOOKALIKES = {
    "a": "\u0430",
    "e": "\u0435",
    "o": "\u043e",
    "p": "\u0440",
    "c": "\u0441",
    "y": "\u0443",
    "x": "\u0445",
    "i": "\u0456",
    "A": "\u0410",
    "B": "\u0412",
    "C": "\u0421",
    "E": "\u0415",
    "H": "\u041d",
    "K": "\u041a",
    "M": "\u041c",
    "O": "\u041e",
    "P": "\u0420",
    "T": "\u0422",
    "X": "\u0425",
}
CYRILLIC_LOOKALIKES = {
    "\u0430": "a",
    "\u0435": "e",
    "\u043e": "o",
    "\u0440": "p",
    "\u0441": "c",
    "\u0443": "y",
    "\u0445": "x",
}
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u180e", "\u00ad", "\u200e", "\u2063"]
# Accents, dots, strokes, Zalgo marks (enclosing ones too); no diaeresis, no breve (see above).
MARKS = [
    "\u0300",
    "\u0301",
    "\u0302",
    "\u0303",
    "\u0304",
    "\u0307",
    "\u030a",
    "\u030c",
    "\u0323",
    "\u0327",
    "\u0331",
    "\u0334",
    "\u0335",
    "\u0336",
    "\u0337",
    "\u0338",
    "\u0346",
    "\u035c",
    "\u0361",
    "\u0489",
    "\u1dc4",
    "\u20dd",
    "\ufe20",
]
SEPARATORS = " .-_*"


@dataclass(frozen=True)
class Disguise:
    text: str
    how: tuple[str, ...]  # what was done, for the failure message


def _is_latin(ch: str) -> bool:
    return "a" <= ch.lower() <= "z"


def _is_cyrillic(ch: str) -> bool:
    return "\u0400" <= ch <= "\u04ff"


@st.composite
def disguised(draw: st.DrawFn, word: str) -> Disguise:
    how: list[str] = []
    chars = list(word)
    letters = [i for i, ch in enumerate(chars) if ch.isalpha()]

    # Case changes (a letter whose upper case is two letters, like "ß", stays).
    flips = draw(st.sets(st.sampled_from(letters))) if letters else set()
    for i in flips:
        upper = chars[i].upper()
        if len(upper) == 1:
            chars[i] = upper if chars[i].islower() else chars[i].lower()
    if flips:
        how.append("case")

    # One change of shape: leet digits, look-alike letters, or none; spacing may come on top of leet.
    shape = draw(st.sampled_from(["none", "leet", "lookalike"]))
    if shape == "leet":
        can = [i for i in letters if chars[i].casefold() in LEET]
        # The models and rules read digits as letters only while letters outnumber them.
        most = (len(letters) - 1) // 2
        if can and most:
            chosen = draw(st.lists(st.sampled_from(can), min_size=1, max_size=most, unique=True))
            for i in chosen:
                chars[i] = LEET[chars[i].casefold()]
            how.append("leet")
    elif shape == "lookalike":
        latin = [i for i in letters if _is_latin(chars[i])]
        cyrillic = [i for i in letters if _is_cyrillic(chars[i])]
        # Fewer swapped letters than kept ones: the word keeps its script (ties go to Latin).
        if len(latin) >= len(cyrillic):
            can, table, most = (
                [i for i in latin if chars[i] in LATIN_LOOKALIKES],
                LATIN_LOOKALIKES,
                len(latin) // 2,
            )
        else:
            can, table = [i for i in cyrillic if chars[i] in CYRILLIC_LOOKALIKES], CYRILLIC_LOOKALIKES
            most = (len(cyrillic) - 1) // 2
        if can and most:
            chosen = draw(st.lists(st.sampled_from(can), min_size=1, max_size=most, unique=True))
            for i in chosen:
                chars[i] = table[chars[i]]
            how.append("lookalike")

    # Spaced letters ("I d i o t"): only words of four letters or more are read back so.
    spaced = len(chars) >= 4 and draw(st.booleans())
    # Decorating marks on some letters.
    marked = draw(st.sets(st.integers(0, len(chars) - 1), max_size=len(chars)))
    pieces = []
    for i, ch in enumerate(chars):
        piece = ch
        if i in marked:
            piece += "".join(draw(st.lists(st.sampled_from(MARKS), min_size=1, max_size=4)))
        pieces.append(piece)
    if marked:
        how.append("marks")
    # Invisible characters between letters.
    hidden = draw(
        st.lists(st.tuples(st.integers(1, max(1, len(pieces) - 1)), st.sampled_from(INVISIBLE)), max_size=4)
    )
    for at, ch in sorted(hidden, reverse=True):
        if at < len(pieces):
            pieces[at] = ch + pieces[at]
    if hidden:
        how.append("invisible")
    if spaced:
        separator = draw(st.sampled_from(SEPARATORS))
        text = separator.join(pieces)
        how.append(f"spaced {separator!r}")
    else:
        text = "".join(pieces)

    if draw(st.booleans()):
        text = RLO + reverse_shown(text) + PDF
        how.append("right-to-left override")
    return Disguise(text, tuple(how))


def reverse_shown(text: str) -> str:
    """`text` backwards, each letter keeping its marks: what an override shows as `text`."""
    units: list[str] = []
    for ch in text:
        if units and unicodedata.category(ch)[0] == "M":
            units[-1] += ch
        else:
            units.append(ch)
    return "".join(reversed(units))
