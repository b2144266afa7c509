"""Training examples made from the narrative catalogue: each example phrase asserted (a propaganda
positive) and the same phrase quoted or debunked (a hard negative), so the model learns that wording
about a narrative is not the same as pushing it."""

from __future__ import annotations

from classifiers.catalogue import Catalogue
from classifiers.corpora import Example

CATALOGUE_SOURCE = "catalogue"
CATALOGUE_LICENCE = "cc0"

_DEBUNK = {
    "de": (
        "Die Behauptung „{t}“ ist Kreml-Propaganda.",
        "Immer wieder liest man hier: {t} Das ist längst widerlegt.",
        "„{t}“ – so lautet ein beliebtes Narrativ des Kremls, aber es stimmt einfach nicht.",
        "Wer behauptet, {t_lower}, verbreitet russische Desinformation.",
        "Im Staatsfernsehen hieß es wieder: „{t}“ Ein Faktencheck zeigt, dass das falsch ist.",
        "Ich habe gelesen: „{t}“ Stimmt das? Gibt es dafür Belege?",
    ),
    "en": (
        'The claim that "{t}" is Kremlin propaganda.',
        '"{t}" - this has been debunked many times.',
        'Russian state TV keeps repeating "{t}" but that is disinformation.',
    ),
    "ru": (
        "Утверждение, что «{t}», — это кремлевская пропаганда.",
        "«{t}» — это миф, который давно опровергнут.",
    ),
}


def catalogue_examples(catalogue: Catalogue, weight: float = 1.5) -> list[Example]:
    out: list[Example] = []
    for index, (narrative, lang, text) in enumerate(catalogue.example_texts()):
        out.append(
            Example(
                text,
                CATALOGUE_SOURCE,
                CATALOGUE_LICENCE,
                {"propaganda": 1.0},
                techniques=frozenset({"narrative_claim"}),
                narrative=narrative,
                weight=weight,
            )
        )
        templates = _DEBUNK[lang]
        template = templates[index % len(templates)]
        stripped = text.rstrip(".!")
        debunked = template.format(t=text, t_lower=stripped[:1].lower() + stripped[1:])
        out.append(
            Example(
                debunked,
                CATALOGUE_SOURCE,
                CATALOGUE_LICENCE,
                {"propaganda": 0.0, "toxicity": 0.0},
                techniques=frozenset(),
                weight=weight,
            )
        )
    return out
