"""Readable names for the propaganda techniques and narratives a model attaches to a comment.

Scores store catalogue ids (`loaded_language`, `protect_russian_speakers`). Narrative descriptions come
from the process's catalogue (`Resources.catalogue`: the shipped one plus the site editors' extension
files in `MODERATION_CATALOGUE_DIR`, re-read within seconds of a change), the one the workers score with.
Titles: a title the catalogue gives in the reader's language (`"title": {"de": ..., "en": ...}`) wins,
then this module's translated table, then one derived from the id.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask, g
from flask_babel import get_locale, lazy_gettext

from classifiers.catalogue import Narrative
from moderation.web.context import get_resources

# SemEval-2021 Task 6 technique names (and the catalogue's own `narrative_claim`).
TECHNIQUES = {
    "loaded_language": lazy_gettext("loaded language"),
    "name_calling": lazy_gettext("name calling"),
    "smears": lazy_gettext("smears"),
    "exaggeration": lazy_gettext("exaggeration / minimisation"),
    "doubt": lazy_gettext("sowing doubt"),
    "slogans": lazy_gettext("slogans"),
    "appeal_to_fear": lazy_gettext("appeal to fear"),
    "flag_waving": lazy_gettext("flag-waving"),
    "black_and_white": lazy_gettext("black-and-white fallacy"),
    "whataboutism": lazy_gettext("whataboutism"),
    "reductio_ad_hitlerum": lazy_gettext("Nazi comparison (reductio ad Hitlerum)"),
    "causal_oversimplification": lazy_gettext("causal oversimplification"),
    "appeal_to_authority": lazy_gettext("appeal to authority"),
    "thought_terminating_cliche": lazy_gettext("thought-terminating cliché"),
    "straw_man": lazy_gettext("straw man"),
    "glittering_generalities": lazy_gettext("glittering generalities"),
    "repetition": lazy_gettext("repetition"),
    "bandwagon": lazy_gettext("bandwagon"),
    "red_herring": lazy_gettext("red herring"),
    "obfuscation": lazy_gettext("obfuscation / vagueness"),
    "narrative_claim": lazy_gettext("known narrative claim"),
}

NARRATIVE_TITLES = {
    "artificial_state": lazy_gettext("neighbour is no real state"),
    "soviet_lands_russian": lazy_gettext("former Soviet lands are Russian"),
    "protect_russian_speakers": lazy_gettext("Russia must protect Russian speakers"),
    "russophobia": lazy_gettext("criticism is Russophobia"),
    "nato_encirclement": lazy_gettext("NATO encircles Russia"),
    "nato_provocation": lazy_gettext("NATO provoked the war"),
    "kyiv_nazis": lazy_gettext("Ukraine is run by Nazis"),
    "sanctions_hurt_only_us": lazy_gettext("sanctions only hurt us"),
    "cheap_gas_betrayal": lazy_gettext("giving up cheap gas is betrayal"),
    "nord_stream_us": lazy_gettext("the USA blew up Nord Stream"),
    "western_media_lies": lazy_gettext("Western media lie"),
    "biolabs": lazy_gettext("secret US biolabs"),
    "colour_revolution": lazy_gettext("protests are Western coups"),
    "western_puppet": lazy_gettext("governments are Western puppets"),
    "germany_not_sovereign": lazy_gettext("Germany is not sovereign"),
    "germany_warmonger": lazy_gettext("Germany drives into war"),
    "proxy_war": lazy_gettext("US proxy war"),
    "ukraine_cannot_win": lazy_gettext("Ukraine cannot win"),
    "staged_atrocities": lazy_gettext("atrocities were staged"),
    "rigged_elections": lazy_gettext("elections are rigged"),
    "referendums_legit": lazy_gettext("sham referendums were legitimate"),
    "migrants_as_weapon": lazy_gettext("migration as a weapon / replacement"),
    "west_wants_destroy_russia": lazy_gettext("the West wants to destroy Russia"),
    "us_hegemony": lazy_gettext("everything is US hegemony"),
    "western_hypocrisy": lazy_gettext("Western hypocrisy (whataboutism)"),
    "aid_corruption": lazy_gettext("aid to Ukraine is stolen"),
    "west_in_decline": lazy_gettext("the decadent West"),
    "eu_dictatorship": lazy_gettext("the EU is a dictatorship"),
    "kazakhstan_ungrateful": lazy_gettext("Kazakhstan is ungrateful"),
    "russia_peacekeeper": lazy_gettext("Russia the peacemaker"),
    "climate_covid_hoax": lazy_gettext("climate change / Covid is a hoax"),
}


def derived_title(identifier: str) -> str:
    """`protect_russians_abroad` -> `protect russians abroad`."""
    return " ".join(identifier.replace("-", "_").split("_")).strip() or identifier


def _narratives() -> Mapping[str, Narrative]:
    """The narratives of the process's catalogue (shipped plus the editors' extensions), once a request."""
    if "narratives" not in g:
        g.narratives = {n.id: n for n in get_resources().catalogue.current().narratives}
    return g.narratives  # type: ignore[no-any-return]


def technique_label(identifier: str | None) -> str:
    if not identifier:
        return "–"
    return str(TECHNIQUES.get(identifier, derived_title(identifier)))


def narrative_label(identifier: str | None) -> str:
    if not identifier:
        return "–"
    entry = _narratives().get(identifier)
    language = str(get_locale() or "")
    if entry is not None and entry.titles.get(language):
        return entry.titles[language]
    return str(NARRATIVE_TITLES.get(identifier, derived_title(identifier)))


def narrative_description(identifier: str | None) -> str:
    """The catalogue's description (English, as the catalogue has it), or "" for an unknown id."""
    entry = _narratives().get(identifier or "")
    return entry.description if entry is not None else ""


def init_app(app: Flask) -> None:
    app.jinja_env.filters["technique_label"] = technique_label
    app.jinja_env.filters["narrative_label"] = narrative_label
    app.jinja_env.filters["narrative_description"] = narrative_description
    app.jinja_env.globals["narrative_options"] = lambda: sorted(set(_narratives()) | set(NARRATIVE_TITLES))
    app.jinja_env.globals["technique_options"] = lambda: list(TECHNIQUES)
