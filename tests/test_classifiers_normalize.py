from __future__ import annotations

import pytest

from classifiers.langid import detect_language
from classifiers.normalize import USER_TOKEN, normalise


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


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("Du bist ein A*schloch, echt.", "A*schloch"),
        ("Straße voller Schw3ine und I d i o t e n", "Schw3ine"),
        ("Straße voller Schw3ine und I d i o t e n", "I d i o t e n"),
        ("@user|LBR|Idiooooot!", "Idiooooot"),
        ("Grüße aus Köln, du Vollidi0t", "Vollidi0t"),
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
        ("12345 !!! :-)", "other"),
    ],
)
def test_language_detection(text: str, lang: str) -> None:
    assert detect_language(text) == lang
