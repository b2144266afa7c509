"""Names of countries and leaders are masked out of what the models read (`classifiers.names`)."""

from __future__ import annotations

import re

from classifiers.names import PLACEHOLDER, is_name, mask_names


def test_names_in_three_languages_and_their_forms_become_one_placeholder() -> None:
    masked = mask_names("Putins Russland, Kasachstans Grenze; Russia's war; Путина, России и Казахстану.")
    assert masked == (
        f"{PLACEHOLDER} {PLACEHOLDER}, {PLACEHOLDER} Grenze; {PLACEHOLDER}'s war; "
        f"{PLACEHOLDER}, {PLACEHOLDER} и {PLACEHOLDER}."
    )


def test_swapped_names_read_the_same() -> None:
    a = "Russland und Kasachstan handeln, Putin redet."
    b = "Frankreich und Belgien handeln, Macron redet."
    assert mask_names(a) == mask_names(b)


def test_peoples_and_adjectives_stay_an_attack_on_people_is_about_people() -> None:
    text = "Die Russen und die russische Armee; Kasachen; Ukrainians; русские"
    assert mask_names(text) == text
    assert not any(is_name(w) for w in ("Russen", "russisch", "Kasachen", "русские", "NATO", "Kreml"))


def test_masking_keeps_the_number_of_words_so_spans_stay_in_place() -> None:
    text = "Laut Tokajew hat Kasachstan die Krim nie anerkannt, sagt Selenskyj in Kyjiw."
    assert len(re.findall(r"\w+", mask_names(text))) == len(re.findall(r"\w+", text))
