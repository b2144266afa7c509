"""Country and leader names, masked out of what the models read: judge the comment, not its topic.

A comment that names Russia, Kazakhstan or Putin is not more likely to be propaganda than the same
comment naming France, Belgium or Macron; but the propaganda corpora are mostly about the former, so a
model that sees the names learns the topic. Every name below (de/en/ru, casefolded, with its common
inflected forms) is replaced by one placeholder word in the text the n-gram features and the sentence
encoder read. The narrative cues of the catalogue still read the names (they match claims such as
"Kasachstan ist kein echter Staat"), and so do language identification and spans.

Demonyms and adjectives ("Russen", "russisch") stay: an attack on a people is about the people.
"""

from __future__ import annotations

import re

PLACEHOLDER = "xnamex"

_DE_COUNTRIES = [
    "russland",
    "kasachstan",
    "ukraine",
    "frankreich",
    "belgien",
    "deutschland",
    "polen",
    "china",
    "amerika",
    "usa",
    "belarus",
    "weissrussland",
    "georgien",
    "moldau",
    "moldawien",
    "armenien",
    "aserbaidschan",
    "usbekistan",
    "kirgisistan",
    "tadschikistan",
    "turkmenistan",
    "litauen",
    "lettland",
    "estland",
    "finnland",
    "schweden",
    "norwegen",
    "dänemark",
    "österreich",
    "schweiz",
    "italien",
    "spanien",
    "portugal",
    "grossbritannien",
    "england",
    "schottland",
    "irland",
    "niederlande",
    "holland",
    "luxemburg",
    "ungarn",
    "tschechien",
    "slowakei",
    "rumänien",
    "bulgarien",
    "serbien",
    "kroatien",
    "slowenien",
    "bosnien",
    "albanien",
    "griechenland",
    "türkei",
    "iran",
    "irak",
    "israel",
    "syrien",
    "afghanistan",
    "pakistan",
    "japan",
    "indien",
    "kanada",
    "mexiko",
    "brasilien",
    "mongolei",
    "nordkorea",
    "südkorea",
    "korea",
    "krim",
    "tschetschenien",
    "sibirien",
]
_DE_NO_GENITIVE_S = {"ukraine", "usa", "schweiz", "türkei", "mongolei", "krim", "moldau", "niederlande"}
_EN_COUNTRIES = [
    "russia",
    "kazakhstan",
    "ukraine",
    "france",
    "belgium",
    "germany",
    "poland",
    "china",
    "america",
    "usa",
    "belarus",
    "georgia",
    "moldova",
    "armenia",
    "azerbaijan",
    "uzbekistan",
    "kyrgyzstan",
    "tajikistan",
    "turkmenistan",
    "lithuania",
    "latvia",
    "estonia",
    "finland",
    "sweden",
    "norway",
    "denmark",
    "austria",
    "switzerland",
    "italy",
    "spain",
    "portugal",
    "britain",
    "england",
    "scotland",
    "ireland",
    "netherlands",
    "holland",
    "luxembourg",
    "hungary",
    "czechia",
    "slovakia",
    "romania",
    "bulgaria",
    "serbia",
    "croatia",
    "slovenia",
    "bosnia",
    "albania",
    "greece",
    "turkey",
    "iran",
    "iraq",
    "israel",
    "syria",
    "afghanistan",
    "pakistan",
    "japan",
    "india",
    "canada",
    "mexico",
    "brazil",
    "mongolia",
    "korea",
    "crimea",
    "chechnya",
    "siberia",
]
# Russian names by declension pattern: -ия (Россия), -а (Украина), consonant (Казахстан).
_RU_IA = [
    "росси",
    "франци",
    "бельги",
    "германи",
    "бельги",
    "польш",
    "итали",
    "испани",
    "британи",
    "англи",
    "швеци",
    "норвеги",
    "дани",
    "австри",
    "швейцари",
    "португали",
    "венгри",
    "чехи",
    "словаки",
    "румыни",
    "болгари",
    "серби",
    "хорвати",
    "словени",
    "боснии",
    "албани",
    "греци",
    "сири",
    "инди",
    "япони",
    "монголи",
    "грузи",
    "молдави",
    "армени",
    "литв",
    "латви",
    "эстони",
    "финлянди",
    "чечн",
    "сибир",
    "турци",
]
_RU_A = ["украин", "америк", "польш", "турци"]
_RU_CONSONANT = [
    "казахстан",
    "узбекистан",
    "кыргызстан",
    "киргизстан",
    "таджикистан",
    "туркменистан",
    "азербайджан",
    "китай",
    "иран",
    "ирак",
    "израиль",
    "афганистан",
    "пакистан",
    "канад",
    "крым",
]
_RU_FIXED = [
    "сша",
    "беларусь",
    "беларуси",
    "беларусью",
    "белоруссия",
    "белоруссии",
    "белоруссию",
    "франция",
    "германия",
    # A woman's surname in -ова declines as an adjective: Захаровой, Захарову.
    "захаровой",
    "захарову",
    "захаровою",
    "цзиньпин",
    "цзиньпина",
    "цзиньпину",
]
_LEADERS = [
    "putin",
    "путин",
    "selenskyj",
    "selenskyjs",
    "zelensky",
    "zelenskyy",
    "зеленский",
    "зеленского",
    "зеленскому",
    "зеленским",
    "зеленском",
    "tokajew",
    "tokayev",
    "токаев",
    "nasarbajew",
    "nazarbayev",
    "назарбаев",
    "macron",
    "макрон",
    "scholz",
    "шольц",
    "merz",
    "мерц",
    "merkel",
    "меркель",
    "biden",
    "байден",
    "trump",
    "трамп",
    "lukaschenko",
    "lukashenko",
    "лукашенко",
    "medwedew",
    "medvedev",
    "медведев",
    "lawrow",
    "lavrov",
    "лавров",
    "erdogan",
    "erdoğan",
    "эрдоган",
    "orban",
    "orbán",
    "орбан",
    "stoltenberg",
    "столтенберг",
    "rutte",
    "рютте",
    "xi",
    "kadyrow",
    "kadyrov",
    "кадыров",
    "schoigu",
    "shoigu",
    "шойгу",
    "peskow",
    "peskov",
    "песков",
    "sacharowa",
    "zakharova",
    "захарова",
]


def _forms() -> frozenset[str]:
    names: set[str] = set()
    for name in _DE_COUNTRIES:
        names.add(name)
        if name not in _DE_NO_GENITIVE_S:
            names.add(name + "s")
    for name in _EN_COUNTRIES:
        names.update((name, name + "s"))
    for stem in _RU_IA:
        names.update(stem + ending for ending in ("я", "и", "ю", "ей", "ия", "ии", "ию", "ией"))
    for stem in _RU_A:
        names.update(stem + ending for ending in ("а", "ы", "и", "е", "у", "ой"))
    for stem in _RU_CONSONANT:
        names.update(stem + ending for ending in ("", "а", "е", "у", "ом", "я", "ю", "ем"))
    names.update(_RU_FIXED)
    for name in _LEADERS:
        names.add(name)
        names.update(name + ending for ending in ("s", "а", "у", "ым", "е", "ом"))
    return frozenset(n.casefold() for n in names)


NAMES = _forms()
_WORD = re.compile(r"\w+")


def is_name(word: str) -> bool:
    return word.casefold() in NAMES


def mask_names(text: str) -> str:
    """`text` with every country or leader name replaced by `PLACEHOLDER` (one word for one word, so
    word positions, and with them spans, stay where they were)."""
    if NAMES.isdisjoint(map(str.casefold, _WORD.findall(text))):  # most texts name no one
        return text
    return _WORD.sub(lambda m: PLACEHOLDER if m.group(0).casefold() in NAMES else m.group(0), text)
