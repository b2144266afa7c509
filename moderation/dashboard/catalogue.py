"""Readable names for the propaganda techniques and narratives a model attaches to a comment.

Scores store catalogue ids (`loaded_language`, `protect_russian_speakers`). The narrative descriptions
come from `classifiers/catalogue/narratives.json`, read once at app start as plain JSON, and from the
site editors' extension files (`MODERATION_CATALOGUE_DIR`), re-read within seconds of a change.
Titles: a title the JSON gives in the reader's language (`"title":
{"de": ..., "en": ...}`) wins, then this module's translated table, then one derived from the id.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app
from flask_babel import get_locale, lazy_gettext

from classifiers.catalogue import extensions_fingerprint, load_catalogue
from classifiers.errors import CatalogueError

log = logging.getLogger(__name__)

NARRATIVES_JSON = Path(__file__).resolve().parents[2] / "classifiers" / "catalogue" / "narratives.json"

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


@dataclass(frozen=True)
class Narrative:
    id: str
    description: str
    titles: Mapping[str, str]


def load_narratives(path: Path = NARRATIVES_JSON) -> dict[str, Narrative]:
    """The catalogue's narratives by id; empty (and logged) when the file is missing or malformed."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        entries = raw["narratives"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("narrative catalogue %s not readable (%s); showing derived titles", path, exc)
        return {}
    narratives: dict[str, Narrative] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            continue
        title = entry.get("title")
        titles = {k: str(v) for k, v in title.items()} if isinstance(title, dict) else {}
        narratives[entry["id"]] = Narrative(entry["id"], str(entry.get("description") or ""), titles)
    return narratives


def derived_title(identifier: str) -> str:
    """`protect_russians_abroad` -> `protect russians abroad`."""
    return " ".join(identifier.replace("-", "_").split("_")).strip() or identifier


class _NarrativeIndex:
    """Shipped narratives plus the editors' extensions, refreshed when an extension file changes."""

    CHECK_INTERVAL_S = 5.0

    def __init__(self, shipped: dict[str, Narrative], extensions: Path | None) -> None:
        self.shipped = shipped
        self.extensions = extensions
        self._merged: dict[str, Narrative] = dict(shipped)
        self._fingerprint: tuple | None = None
        self._checked_at = float("-inf")
        self._lock = threading.Lock()

    def get(self) -> dict[str, Narrative]:
        now = time.monotonic()
        if now - self._checked_at < self.CHECK_INTERVAL_S:
            return self._merged
        with self._lock:
            self._checked_at = now
            fingerprint = extensions_fingerprint(self.extensions)
            if fingerprint != self._fingerprint:
                self._fingerprint = fingerprint
                self._merged = {**self.shipped, **self._read_extensions()}
        return self._merged

    def _read_extensions(self) -> dict[str, Narrative]:
        try:
            compiled = load_catalogue(self.extensions)
        except CatalogueError as exc:
            log.warning("narrative catalogue extension not usable (%s); showing shipped narratives", exc)
            return {}
        return {
            n.id: Narrative(n.id, n.description, n.titles)
            for n in compiled.narratives
            if n.id not in self.shipped
        }


def _narratives() -> Mapping[str, Narrative]:
    index: _NarrativeIndex | None = current_app.extensions.get("narratives")
    return index.get() if index is not None else {}


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


def init_app(app: Flask, path: Path = NARRATIVES_JSON) -> None:
    resources = app.extensions.get("moderation")
    extensions = resources.config.catalogue_dir if resources is not None else None
    app.extensions["narratives"] = _NarrativeIndex(load_narratives(path), extensions)
    app.jinja_env.filters["technique_label"] = technique_label
    app.jinja_env.filters["narrative_label"] = narrative_label
    app.jinja_env.filters["narrative_description"] = narrative_description
    app.jinja_env.globals["narrative_options"] = lambda: sorted(
        set(app.extensions["narratives"].get()) | set(NARRATIVE_TITLES)
    )
    app.jinja_env.globals["technique_options"] = lambda: list(TECHNIQUES)
