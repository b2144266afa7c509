"""The `moderation` command, run in-process with click's runner against real storage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import select

from moderation.cli.main import cli
from moderation.config import Config
from moderation.store.accounts import NewSite
from moderation.store.keys import hash_key
from moderation.store.tables import Site, User
from tests.conftest import TEST_REDIS_URL, Database


def run(config: Config, database: Database, *args: str, input: str | None = None) -> Any:
    env = {
        "MODERATION_HOME": str(config.home),
        "DATABASE_URL": database.url,
        "REDIS_URL": TEST_REDIS_URL,
        "SECRET_KEY": "test-secret-key",
    }
    return CliRunner().invoke(cli, list(args), env=env, input=input, catch_exceptions=False)


def test_sites_create_prints_keys_once_and_stores_hash(config: Config, database: Database) -> None:
    result = run(config, database, "sites", "create", "zeitung")
    assert result.exit_code == 0, result.output
    secret = next(line.split()[2] for line in result.output.splitlines() if line.startswith("secret key:"))
    with database.sessions() as session:
        site = session.scalars(select(Site).where(Site.name == "zeitung")).one()
        assert site.api_key_hash == hash_key(secret) and secret not in json.dumps(site.policy)
    again = run(config, database, "sites", "create", "zeitung")
    assert again.exit_code != 0 and "already exists" in again.output


def test_users_create(config: Config, database: Database) -> None:
    result = run(
        config,
        database,
        "users",
        "create",
        "Mod@Example.org",
        "--role",
        "moderator",
        "--password",
        "lang-genug-123",
    )
    assert result.exit_code == 0, result.output
    with database.sessions() as session:
        user = session.scalars(select(User)).one()
        assert user.email == "mod@example.org" and user.role == "moderator"
        assert "lang-genug-123" not in user.password_hash
    short = run(config, database, "users", "create", "b@example.org", "--password", "kurz")
    assert short.exit_code != 0 and "10 characters" in short.output


def test_score_round_trip_matches_the_api(
    model_home: Config,
    database: Database,
    tmp_path: Path,
    client: FlaskClient,
    site: NewSite,
) -> None:
    from rq import Queue, SimpleWorker

    from moderation.resources import Resources
    from workers import runtime

    texts = [
        "Du bist ein dummer Vollidiot",
        "Ich finde die Analyse zu Kasachstan sehr aufschlussreich.",
        "Спасибо за статью, очень интересно.",
    ]
    source = tmp_path / "in.jsonl"
    source.write_text(
        "".join(json.dumps({"text": t, "ref": i}, ensure_ascii=False) + "\n" for i, t in enumerate(texts))
    )
    out = tmp_path / "out.jsonl"
    result = run(model_home, database, "score", str(source), "-o", str(out))
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["ref"] for line in lines] == [0, 1, 2]
    assert lines[0]["decision"]["action"] in ("hold", "reject")
    assert lines[1]["decision"]["action"] == "approve"
    assert lines[2]["lang"] == "ru"

    # The same texts through the API and a real worker give the same scores, spans and decision.
    import redis

    connection = redis.Redis.from_url(TEST_REDIS_URL)
    runtime.install(
        runtime.WorkerContext(Resources(model_home, database.engine, database.sessions, connection))
    )
    try:
        ids = []
        for text in texts:
            data = {"text": text, "article_id": "a", "author": {"id": "bekannt"}}
            ids.append(
                client.post(
                    "/api/v1/comments", json=data, headers={"Authorization": f"Bearer {site.secret_key}"}
                ).get_json()["id"]
            )
        SimpleWorker([Queue("moderation", connection=connection)], connection=connection).work(burst=True)
    finally:
        runtime.install(None)
    for line, cid in zip(lines, ids, strict=True):
        got = client.get(
            f"/api/v1/comments/{cid}", headers={"Authorization": f"Bearer {site.secret_key}"}
        ).get_json()
        assert got["scores"] == line["scores"]
        assert got["spans"] == line["spans"]
        assert {k: v for k, v in got["decision"].items() if k != "decided_at"} == {
            k: v for k, v in line["decision"].items() if k != "decided_at"
        }


def test_score_refuses_bad_input(model_home: Config, database: Database, tmp_path: Path) -> None:
    source = tmp_path / "bad.jsonl"
    source.write_text('{"text": "ok"}\n{"txt": "no text"}\n')
    result = CliRunner().invoke(
        cli,
        ["score", str(source)],
        env={"MODERATION_HOME": str(model_home.home), "DATABASE_URL": database.url, "SECRET_KEY": "k"},
    )
    assert result.exit_code != 0 and "line 2" in result.output


def test_models_list_show_promote(model_home: Config, database: Database) -> None:
    listed = run(model_home, database, "models", "list")
    assert listed.exit_code == 0 and listed.output.startswith("*")
    version = listed.output.split()[1]
    card = json.loads(run(model_home, database, "models", "show").output)
    assert card["version"] == version
    assert run(model_home, database, "models", "promote", "no-such-version").exit_code != 0


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_train_selects_corpora_by_licence(config: Config, database: Database) -> None:
    # The fast profile only: the licence filter is the point here, and the encoders' own tests train
    # the full profile once per run (this CLI training embedded every text again: two minutes).
    result = run(config, database, "train", "--quick", "--no-encoder", "--licences", "cc-by-4.0,mit,cc0")
    assert result.exit_code == 0, result.output
    listed = run(config, database, "models", "list")
    version = listed.output.split()[1]
    card = json.loads(run(config, database, "models", "show", version).output)
    licences = {corpus["licence"] for corpus in card["corpora"]}
    assert licences <= {"cc-by-4.0", "mit", "cc0"} and licences
