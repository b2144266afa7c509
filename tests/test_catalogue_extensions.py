"""Narrative catalogue extensions written by site editors: loading, validation, scoring, CLI, workers."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import redis
from click.testing import CliRunner
from flask import Flask

from classifiers.catalogue import load_catalogue
from classifiers.errors import CatalogueError
from classifiers.registry import Registry
from classifiers.scoring import Scorer
from moderation.cli.main import cli
from moderation.config import Config
from moderation.resources import Resources
from moderation.store.model_versions import register_and_activate
from tests import classifier_fixtures
from tests.conftest import Database
from workers import runtime

EXTENSION_YAML = """\
version: "site-1"
narratives:
  - id: kazakh_language_threat
    title:
      de: "Lateinschrift als Angriff"
      en: "Latin script as an attack"
    description: "Kazakhstan's switch to the Latin alphabet is an attack on Russian speakers."
    examples:
      de:
        - "Die Umstellung auf das lateinische Alphabet ist ein Angriff auf die Russen in Kasachstan."
      ru:
        - "Переход на латиницу это удар по русским в Казахстане."
    phrases:
      de:
        - "Angriff auf die Russen in Kasachstan"
      ru:
        - "удар по русским"
"""
CLAIM = "Das neue Alphabet ist ein ANGRIFF auf die Russen in   Kasachstan, das weiß jeder."


@pytest.fixture
def scorer_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "catalogue"
    directory.mkdir()
    (directory / "site.yaml").write_text(EXTENSION_YAML, encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    registry = Registry(classifier_fixtures.quick_registry(tmp_path_factory))
    version = registry.latest()
    assert version is not None
    return registry.path(version)


def test_extension_narrative_is_matched_with_a_span_on_the_phrase(scorer_dir: Path, model_dir: Path) -> None:
    plain = Scorer.load(model_dir).score([CLAIM])[0]
    extended = Scorer.load(model_dir, scorer_dir).score([CLAIM])[0]
    assert "kazakh_language_threat" not in [n for n, _ in plain.narratives]
    assert [n for n, _ in extended.narratives][0] == "kazakh_language_threat"
    assert extended.propaganda > plain.propaganda
    spans = [s for s in extended.spans if s.attribute == "narrative:kazakh_language_threat"]
    assert [CLAIM[s.start : s.end] for s in spans] == ["ANGRIFF auf die Russen in   Kasachstan"]


def test_debunking_an_extension_narrative_is_not_a_match(scorer_dir: Path, model_dir: Path) -> None:
    text = "Die Behauptung, das Alphabet sei ein Angriff auf die Russen in Kasachstan, ist widerlegt."
    result = Scorer.load(model_dir, scorer_dir).score([text])[0]
    assert "kazakh_language_threat" not in [n for n, _ in result.narratives]


def test_json_extension_and_version_follow_the_files(tmp_path: Path) -> None:
    shipped = load_catalogue(None)
    entry = {
        "id": "grain_deal_lies",
        "description": "The grain deal only fed the West.",
        "cues": [[r"\bgetreide\w*\b[^.!?]{0,40}\bnur (?:den )?westen\b", 0.8]],
    }
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"narratives": [entry]}), encoding="utf-8")
    first = load_catalogue(tmp_path)
    assert first.version.startswith(shipped.version + "+ext.")
    assert first.narrative_ids()[-1] == "grain_deal_lies"
    assert first.cues.scores("das getreide half nur den westen").get("narrative:grain_deal_lies")
    assert first.is_current()
    entry["description"] = "The grain deal only ever fed the West."
    path.write_text(json.dumps({"narratives": [entry]}), encoding="utf-8")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    assert not first.is_current()
    second = load_catalogue(tmp_path)
    assert second.version != first.version
    assert load_catalogue(tmp_path / "missing").version == shipped.version


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("bad.yaml", "narratives: [id: x", "not valid YAML"),
        ("bad.json", "{", "not valid JSON"),
        ("latin1.json", '{"narratives": ["Gr\u00fc\u00dfe"]}'.encode("latin-1"), "not UTF-8"),
        ("top.json", json.dumps({"narratives": {}}), "a list under 'narratives'"),
        ("extra.json", json.dumps({"narratives": [], "owner": "x"}), "unknown keys"),
        (
            "shipped.json",
            json.dumps(
                {"narratives": [{"id": "artificial_state", "description": "d", "phrases": {"de": ["x y"]}}]}
            ),
            "already defined",
        ),
        (
            "id.json",
            json.dumps({"narratives": [{"id": "Bad Id", "description": "d", "phrases": {"de": ["x y"]}}]}),
            "'id' must be",
        ),
        (
            "nodesc.json",
            json.dumps({"narratives": [{"id": "no_desc", "phrases": {"de": ["x y"]}}]}),
            "'description' is required",
        ),
        (
            "lang.json",
            json.dumps({"narratives": [{"id": "lang_x", "description": "d", "phrases": {"fr": ["x y"]}}]}),
            "language 'fr'",
        ),
        (
            "regex.json",
            json.dumps({"narratives": [{"id": "regex_x", "description": "d", "cues": [["(unclosed", 0.5]]}]}),
            "not a valid regular",
        ),
        (
            "weight.json",
            json.dumps({"narratives": [{"id": "weight_x", "description": "d", "cues": [["abc", 2]]}]}),
            "weight must be",
        ),
        (
            "noword.json",
            json.dumps({"narratives": [{"id": "noword_x", "description": "d", "phrases": {"de": ["!!!"]}}]}),
            "has no word",
        ),
        ("empty.json", json.dumps({"narratives": [{"id": "empty_x", "description": "d"}]}), "at least one"),
        (
            "key.json",
            json.dumps(
                {
                    "narratives": [
                        {"id": "key_x", "description": "d", "phrases": {"de": ["a b"]}, "author": "me"}
                    ]
                }
            ),
            "unknown keys",
        ),
    ],
)
def test_invalid_extension_files_are_refused_with_the_reason(
    tmp_path: Path, filename: str, content: str | bytes, message: str
) -> None:
    path = tmp_path / filename
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(CatalogueError, match=message) as raised:
        load_catalogue(tmp_path)
    assert filename in str(raised.value)


def test_the_same_id_in_two_files_is_refused(tmp_path: Path) -> None:
    entry = {"id": "twice_defined", "description": "d", "phrases": {"en": ["twice defined"]}}
    for name in ("a.json", "b.json"):
        (tmp_path / name).write_text(json.dumps({"narratives": [entry]}), encoding="utf-8")
    with pytest.raises(CatalogueError, match="b.json: narrative id 'twice_defined' is already defined"):
        load_catalogue(tmp_path)


def test_cli_check_and_list(tmp_path: Path, scorer_dir: Path) -> None:
    runner = CliRunner()
    env = {"MODERATION_HOME": str(tmp_path / "home"), "MODERATION_CATALOGUE_DIR": str(scorer_dir)}
    checked = runner.invoke(cli, ["catalogue", "check"], env=env)
    assert checked.exit_code == 0, checked.output
    assert "1 narrative(s) added" in checked.output and "kazakh_language_threat" in checked.output
    listed = runner.invoke(cli, ["catalogue", "list"], env=env)
    assert "kazakh_language_threat" in listed.output and "extension" in listed.output
    assert "artificial_state" in listed.output and "shipped" in listed.output
    (scorer_dir / "broken.json").write_text("{", encoding="utf-8")
    refused = runner.invoke(cli, ["catalogue", "check"], env=env)
    assert refused.exit_code == 1
    assert "broken.json: not valid JSON" in refused.output
    # Training reads the extensions too, and says why it stops instead of a traceback.
    training = runner.invoke(cli, ["train", "--quick"], env=env)
    assert training.exit_code == 1
    assert "narrative catalogue extension: broken.json: not valid JSON" in training.output


def test_worker_picks_up_an_extension_and_keeps_the_last_good_one(
    model_home: Config, database: Database, redis_conn: redis.Redis, monkeypatch: Any
) -> None:
    monkeypatch.setattr(runtime, "MODEL_CHECK_INTERVAL_S", 0.0)
    directory = model_home.catalogue_dir
    ctx = runtime.WorkerContext(Resources(model_home, database.engine, database.sessions, redis_conn))
    ctx.resources.catalogue.interval_s = 0.0
    before = ctx.scorer()
    assert before is not None and "kazakh_language_threat" not in before.catalogue.narrative_ids()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "site.yaml").write_text(EXTENSION_YAML, encoding="utf-8")
    after = ctx.scorer()
    assert after is not None and "kazakh_language_threat" in after.catalogue.narrative_ids()
    assert after.version == before.version
    (directory / "broken.yaml").write_text("narratives: [", encoding="utf-8")
    kept = ctx.scorer()
    assert kept is not None and kept.catalogue is after.catalogue
    assert ctx.scorer() is kept  # refused once, not re-read on every batch
    # A model switch while the file is still broken loads the new model with the catalogue that worked.
    source = model_home.models_dir / before.version
    newer = model_home.home / "models-new"
    shutil.copytree(source.resolve(), newer / "2999.01.01-000000")
    card = newer / "2999.01.01-000000" / "model_card.json"
    card.write_text(json.dumps({**json.loads(card.read_text()), "version": "2999.01.01-000000"}))
    registry = Registry(newer, directory)
    register_and_activate(database.sessions, registry, "2999.01.01-000000", actor="test")
    ctx.resources.registry = registry
    switched = ctx.scorer()
    assert switched is not None and switched.version == "2999.01.01-000000"
    assert switched.catalogue is after.catalogue


def test_dashboard_names_extension_narratives(app: Flask, config: Config) -> None:
    from moderation.web.context import get_resources
    from moderation.web.dashboard.catalogue import narrative_description, narrative_label

    config.catalogue_dir.mkdir(parents=True, exist_ok=True)
    (config.catalogue_dir / "site.yaml").write_text(EXTENSION_YAML, encoding="utf-8")
    with app.test_request_context("/?lang=en"):
        get_resources().catalogue.interval_s = 0.0
        assert narrative_description("kazakh_language_threat").startswith("Kazakhstan's switch")
        assert narrative_description("artificial_state")
        assert narrative_label("kazakh_language_threat") in (
            "Latin script as an attack",
            "Lateinschrift als Angriff",
        )
