from __future__ import annotations

import os
import subprocess
import sys

import pytest

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
