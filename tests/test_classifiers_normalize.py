from __future__ import annotations

import os
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classifiers.features import analyze, analyze_words
from classifiers.langid import detect_language
from classifiers.normalize import QUOTE_TOKEN, USER_TOKEN, normalise


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Du A*schloch", "du arschloch"),
        ("Schw3in", "schwein"),
        ("Vollidi0t", "vollidiot"),
        ("I d i o t", "idiot"),
        ("V o l l i d i o t!", "vollidiot!"),
        ("Idiooooooot", "idiot"),
        ("Wi-chser", "wichser"),
        ("D.r.e.c.k.s.a.c.k", "drecksack"),
        ("Straße", "strasse"),
        ("ﬁnal", "final"),
        ("A\u0308rger", "ärger"),
        ("NATO-Osterweiterung", "nato-osterweiterung"),
        ("2018 waren es 100km", "2018 waren es 100km"),
        # Homoglyphs: Cyrillic look-alikes in a Latin word, and a Latin "o" in a Russian word.
        ("Du \u0406diot", "du idiot"),
        ("\u0410rschl\u043ech", "arschloch"),
        ("\u0412\u0410STARD", "bastard"),
        ("\u0422\u044b \u0438\u0434\u0438o\u0442", "\u0442\u044b \u0438\u0434\u0438\u043e\u0442"),
        # Words in one script are left alone, whatever the other words are.
        (
            "Die Ukraine und \u0420\u043e\u0441\u0441\u0438\u044f",
            "die ukraine und \u0440\u043e\u0441\u0441\u0438\u044f",
        ),
        # Emoji stay; skin tones and presentation selectors go, runs are squeezed like letters.
        (
            "Top \U0001f44d\U0001f3fc \u2764\ufe0f \U0001f602\U0001f602\U0001f602",
            "top \U0001f44d \u2764 \U0001f602",
        ),
        ("3 > 2", "3 > 2"),
    ],
)
def test_normalise_deobfuscates(text: str, expected: str) -> None:
    assert normalise(text).text == expected


def test_mentions_urls_and_line_breaks_are_replaced() -> None:
    norm = normalise("@spdde Schaut hier|LBR|https://example.org/x?y=1 ok")
    assert USER_TOKEN in norm.text
    assert "urltoken" in norm.text
    assert "\n" in norm.text
    assert "|lbr|" not in norm.text


def test_emoji_are_tokens_for_current_models_only() -> None:
    text = normalise("Na toll \U0001f92e\U0001f3fb").text
    assert "w:\U0001f92e" in analyze(text)
    assert "b:toll_\U0001f92e" in analyze(text)
    # Models saved before emoji tokens existed see the words only.
    assert not any("\U0001f92e" in f for f in analyze_words(text))


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("> Du bist ein Idiot\nBitte bleib sachlich.", "bitte bleib sachlich."),
        (
            "@anna schrieb:\n>> Halt die Klappe\n> Du Idiot\nSo redet man hier nicht.",
            "so redet man hier nicht.",
        ),
        ("[QUOTE=anna]Du Idiot[/quote] Nein, so nicht.", "nein, so nicht."),
    ],
)
def test_quoted_comments_are_replaced_by_a_placeholder(text: str, kept: str) -> None:
    norm = normalise(text)
    assert QUOTE_TOKEN in norm.text
    assert "idiot" not in norm.text and "klappe" not in norm.text
    assert norm.text.endswith(kept)
    a = norm.text.index(kept)
    start, end = norm.to_original(a, a + len(kept))
    assert text[start:end].casefold() == kept


@pytest.mark.parametrize("text", ["> Du bist ein Idiot", "> Du Idiot\n!!!", "Idiot, es steht 3 > 2 fuer uns"])
def test_a_comment_that_is_only_a_quote_or_has_no_quote_line_is_kept(text: str) -> None:
    norm = normalise(text)
    assert QUOTE_TOKEN not in norm.text
    assert "idiot" in norm.text


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("Du bist ein A*schloch, echt.", "A*schloch"),
        ("Straße voller Schw3ine und I d i o t e n", "Schw3ine"),
        ("Straße voller Schw3ine und I d i o t e n", "I d i o t e n"),
        ("@user|LBR|Idiooooot!", "Idiooooot"),
        ("Grüße aus Köln, du Vollidi0t", "Vollidi0t"),
        ("Grüße, du \u0406di\u043et", "\u0406di\u043et"),
        ("> Zitat\nStraße \U0001f44d\U0001f3fd du Idiot", "Idiot"),
    ],
)
def test_offsets_map_back_to_the_original_word(text: str, word: str) -> None:
    norm = normalise(text)
    target = normalise(word).text
    a = norm.text.index(target)
    start, end = norm.to_original(a, a + len(target))
    assert text[start:end] == word


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Ich finde die Analyse zu Kasachstan sehr aufschlussreich.", "de"),
        ("This is what the article does not say about the border.", "en"),
        ("Запад хочет уничтожить Россию.", "ru"),
        # No letters: undetermined, not another language.
        ("12345 !!! :-)", "und"),
        ("\U0001f634", "und"),
        # Short German comments without a stopword: decided by character trigrams.
        ("Spinner", "de"),
        ("Schwachsinn. Punkt.", "de"),
        ("ungebildeter Prolet !", "de"),
        ("@USER Wieso Schule", "de"),
        ("Holy monkey balls its warm today", "en"),
        # Other languages: by script, by letters German and English lack, or by lingua's veto.
        ("Bu makale çok iyi yazılmış", "other"),
        ("To jest bardzo dobry artykul", "other"),
        ("Ce commentaire est vraiment stupide", "other"),
        ("Dit is een goed artikel", "other"),
        ("Бұл мақала өте жақсы", "kk"),
        ("Дякую за статтю, дуже цікаво і чесно.", "uk"),
        ("Αυτό είναι ένα καλό άρθρο", "other"),
        ("هذا مقال جيد", "other"),
        # German and English with few stopwords stay themselves.
        ("Rente mit 70? Frechheit, liebe Regierung!", "de"),
        ("NATO troops everywhere, unbelievable stuff", "en"),
    ],
)
def test_language_detection(text: str, lang: str) -> None:
    assert detect_language(text) == lang


def test_unmasking_does_not_depend_on_the_process_hash_seed() -> None:
    code = (
        "from classifiers.normalize import normalise; "
        "print(normalise('Ars…..h, sch***e, f*ck, Wi**ser').text)"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outputs) == 1
    assert "arschloch" in outputs.pop()


def _unmask_by_trying_every_word(word: str) -> str | None:
    """The masked-word restoration without narrowing the lexicon first: every word tried, in order."""
    import re

    from classifiers.normalize import _MASK_RUN, obfuscation_lexicon

    lexicon = obfuscation_lexicon()
    stripped = _MASK_RUN.sub("", word)
    if stripped in lexicon:
        return stripped
    parts, masks = _MASK_RUN.split(word), _MASK_RUN.findall(word)
    for exact in (True, False):
        hidden = [f"\\w{{{len(m)}}}" if exact else f"\\w{{0,{len(m) + 1}}}" for m in masks]
        pattern = "".join(re.escape(p) + (hidden[i] if i < len(hidden) else "") for i, p in enumerate(parts))
        for candidate in lexicon:
            if re.fullmatch(pattern, candidate):
                return candidate
    return None


def _masked_words() -> st.SearchStrategy[str]:
    """Lexicon words with letters masked, hyphenated compounds and abbreviations."""
    from classifiers.normalize import obfuscation_lexicon

    lexicon = [w for w in obfuscation_lexicon() if w.isalpha() and len(w) >= 3]

    @st.composite
    def masked(draw: st.DrawFn) -> str:
        word = draw(st.sampled_from(lexicon))
        start = draw(st.integers(1, len(word) - 2))
        end = draw(st.integers(start + 1, len(word) - 1))
        mask = draw(st.sampled_from("*#+-_."))
        return word[:start] + mask * draw(st.integers(1, end - start + 1)) + word[end:]

    letters = st.text("abcdefghijklmnopqrstuvwxyzäöüß", min_size=1, max_size=8)
    compound = st.builds(lambda a, m, b: a + m + b, letters, st.sampled_from(["-", ".", "*", "--"]), letters)
    return masked() | compound


@settings(max_examples=400, deadline=None)
@given(_masked_words())
def test_narrowing_the_lexicon_restores_the_same_words_as_trying_every_word(word: str) -> None:
    from classifiers.normalize import _unmask_word

    assert _unmask_word(word) == _unmask_by_trying_every_word(word)


def test_a_comment_in_two_languages_is_split_into_its_parts() -> None:
    from classifiers.langid import combined_language, detect_language, mixed_parts

    text = "Guter Artikel, vielen Dank dafür. Бұл мақала өте жақсы жазылған, рахмет сіздерге!"
    whole = detect_language(text)
    parts = mixed_parts(text, whole)
    assert [lang for _, _, lang in parts] == ["de", "kk"]
    assert text[parts[1][0] : parts[1][1]].startswith("Бұл")
    assert set(combined_language(whole, parts).split("+")) == {"de", "kk"}
    one = "Ich stimme zu. Das sehe ich genauso wie der Autor."
    assert mixed_parts(one, detect_language(one)) == []
    short = "Danke. Ok."  # too short to tell each part's language
    assert mixed_parts(short, detect_language(short)) == []


def test_sentences_are_split_after_end_marks_and_at_line_breaks() -> None:
    from classifiers.langid import sentence_spans

    text = "Guter Text. Wirklich!\nZweite Zeile |LBR| dritte Zeile… Ok"
    pieces = [text[a:b] for a, b in sentence_spans(text)]
    assert pieces == ["Guter Text.", "Wirklich!", "Zweite Zeile", "dritte Zeile…", "Ok"]
    # Pieces with fewer words than asked for are left out, the offsets of the others are kept.
    assert [text[a:b] for a, b in sentence_spans(text, 2)] == ["Guter Text.", "Zweite Zeile", "dritte Zeile…"]
    assert sentence_spans("") == [] and sentence_spans("...") == []
    assert sentence_spans("Ein Satz ohne Punkt") == [(0, 19)]


# Evasion: what a reader sees is what the models read.
RLO, PDF = "\u202e", "\u202c"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A right-to-left override shows its Latin or Cyrillic letters backwards: read as displayed.
        (f"{RLO}toidilloV remmud nie tsib uD{PDF}", "du bist ein dummer vollidiot"),
        (f"Na {RLO}(toidI){PDF}!", "na (idiot)!"),  # brackets are shown mirrored
        (
            f"{RLO}\u0442\u043e\u0438\u0434\u0438{PDF} \u0442\u044b",
            "\u0438\u0434\u0438\u043e\u0442 \u0442\u044b",
        ),
        (f"{RLO}toidI", "idiot"),  # unterminated: to the end of the paragraph
        (f"{RLO}toidI\nnoch", "idiot\nnoch"),
        # An override inside the override shows its own letters in order again.
        (f"{RLO}a\u202dbc{PDF}d{PDF}", "dbca"),
        # Arabic and Hebrew read right to left anyway: kept in their written order.
        (f"{RLO}\u05e9\u05dc\u05d5\u05dd{PDF}", "\u05e9\u05dc\u05d5\u05dd"),
        # Other bidi controls, zero-width characters, soft hyphens: dropped.
        ("\u2067Idiot\u2069 \u200fja\u200e \u061c", "idiot ja "),
        ("Voll\u200bidi\u200cot, Idi\u2060o\ufefft, I\u180edi\u200dot", "vollidiot, idiot, idiot"),
        ("Voll\u00adidi\u00adot", "vollidiot"),
        ("Idio\u0345t", "idiot"),  # a mark that casefolds to a Greek iota
        # Decorating marks go; German umlauts and Cyrillic й ё ї stay as the models learnt them.
        ("\u1e2e\u1e0b\u1e2f\u1ecd\u1e6d", "idiot"),
        ("I\u0336d\u0337i\u0338o\u0334t\u0335", "idiot"),
        ("Z\u0300\u0301\u0302\u0303a\u0489\u0304l\u20ddgo", "zalgo"),
        ("Idi\u00f3t, Caf\u00e9, na\u00efve, \u0130diot", "idiot, cafe, naive, idiot"),
        ("\u00c4rger \u00f6de \u00fcber Stra\u00dfe", "\u00e4rger \u00f6de \u00fcber strasse"),
        ("\u00e4\u0336rger A\u0308rger", "\u00e4rger \u00e4rger"),
        (
            "\u0419\u043e\u0434 \u0451\u043b\u043a\u0430 \u0457\u0436\u0430",
            "\u0439\u043e\u0434 \u0451\u043b\u043a\u0430 \u0457\u0436\u0430",
        ),
        ("\u0430\u0301\u0432\u0442\u043e\u0440", "\u0430\u0432\u0442\u043e\u0440"),  # a stress mark
        (
            "\u0928\u092e\u0938\u094d\u0924\u0947",
            "\u0928\u092e\u0938\u094d\u0924\u0947",
        ),  # Devanagari signs stay
        ("1\ufe0f\u20e3 \U0001f3f4\U000e0067\U000e0062\U000e007f", "1\u20e3 \U0001f3f4"),
        # Leet digits in runs, spaced letters with leet digits or ß, look-alikes among spaced letters.
        ("Sch31ss3 455hole", "scheisse asshole"),
        ("H u r 3 n s 0 h n", "hurensohn"),
        ("s c h e i \u00df e", "scheisse"),
        ("\u041d u r e n s o h n", "hurensohn"),
        # Numbers stay numbers.
        ("100km, s04, 2018er, Seite 1 2 3 4", "100km, s04, 2018er, seite 1 2 3 4"),
    ],
)
def test_normalise_reads_what_the_reader_sees(text: str, expected: str) -> None:
    assert normalise(text).text == expected


@pytest.mark.parametrize(
    ("text", "word", "expected"),
    [
        (f"Du {RLO}toidI{PDF}!", "idiot", "toidI"),
        (f"{RLO}toidilloV remmud nie tsib uD{PDF}", "vollidiot", "toidilloV"),
        ("Du Voll\u200bidi\u00adot!", "vollidiot", "Voll\u200bidi\u00adot"),
        ("Du I\u0336d\u0337i\u0338o\u0334t\u0335!", "idiot", "I\u0336d\u0337i\u0338o\u0334t\u0335"),
        ("Du \u1e2e\u1e0b\u1e2f\u1ecd\u1e6d!", "idiot", "\u1e2e\u1e0b\u1e2f\u1ecd\u1e6d"),
    ],
)
def test_offsets_of_disguised_words_point_at_the_original(text: str, word: str, expected: str) -> None:
    norm = normalise(text)
    a = norm.text.index(word)
    start, end = norm.to_original(a, a + len(word))
    assert text[start:end] == expected


_ALPHABET = [
    *"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ\u00e4\u00f6\u00fc\u00c4\u00df",
    *"\u0438\u0434\u043e\u0442\u0439\u0451\u0410\u0415",
    *" .-*_!,?\n>@#0134578",
    *"\u200b\u200c\u200d\u2060\ufeff\u180e\u00ad\u200e\u200f\u061c\u2063",
    *"\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069",
    *"\u0300\u0301\u0306\u0308\u0336\u0345\u0489\u20dd\u20e3",
    *"\u00e9\u1e2e\u1ecd\u0130\u01c5\u00a8\ufb01\u05d0\u0628\u0928\u094d",
    "\U0001f44d",
    "\U0001f3fc",
    "\ufe0f",
    "\U000e0067",
    "|LBR|",
    "http://x.de/a ",
    "[quote]",
    "[/quote]",
    "www.",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_ALPHABET), max_size=60).map("".join), st.data())
def test_every_normalised_character_maps_into_the_original(text: str, data: st.DataObject) -> None:
    norm = normalise(text)
    assert len(norm.starts) == len(norm.ends) == len(norm.text)
    assert all(0 <= s < e <= len(text) for s, e in zip(norm.starts, norm.ends, strict=True))
    assert not any(
        ch in norm.text for ch in "\u200b\u200d\u2060\ufeff\u00ad\u202a\u202b\u202c\u202d\u202e\u2069"
    )
    if norm.text:
        # A range's original range holds the original ranges of its parts.
        a, b, c, d = sorted(data.draw(st.lists(st.integers(0, len(norm.text)), min_size=4, max_size=4)))
        if a < d and b < c:
            outer, inner = norm.to_original(a, d), norm.to_original(b, c)
            assert outer[0] <= inner[0] < inner[1] <= outer[1]


# (Read as two letters or more: single letters in a row would be read as one spaced word.)
_WORD = st.text(
    alphabet="abdefghiklmnoprstuvwzABDEFGHIKLMNORSTUVWZ\u00e4\u00f6\u00fc", min_size=2, max_size=8
).filter(lambda w: len(normalise(w).text) >= 2)


@st.composite
def _disguised_word(draw: st.DrawFn) -> tuple[str, str]:
    """A word of two letters or more, with invisible characters and marks, maybe in an override."""
    word = draw(_WORD)
    pieces = []
    for ch in word:
        before = draw(st.sampled_from(["", "", "\u200b", "\u00ad", "\u2060"]))
        marks = draw(st.sampled_from(["", "", "\u0336", "\u0301\u0323", "\u0489"]))
        pieces.append(before + ch + marks)
    if draw(st.booleans()):
        return word, RLO + "".join(reversed(pieces)) + PDF
    return word, "".join(pieces)


@settings(max_examples=150, deadline=None)
@given(st.lists(_disguised_word(), min_size=1, max_size=6))
def test_spans_of_words_round_trip(words: list[tuple[str, str]]) -> None:
    """Each word read from the text maps back to the characters it was written with, and they read as
    that word again (backwards, for an override)."""
    text = " ".join(written for _, written in words)
    norm = normalise(text)
    expected = [normalise(word).text for word, _ in words]
    assert norm.text == " ".join(expected)
    pos = 0
    offset = 0
    for (_, written), word in zip(words, expected, strict=True):
        start, end = norm.to_original(pos, pos + len(word))
        assert offset <= start < end <= offset + len(written)
        original = text[start:end]
        assert normalise(RLO + original + PDF if written.startswith(RLO) else original).text == word
        pos += len(word) + 1
        offset += len(written) + 1
