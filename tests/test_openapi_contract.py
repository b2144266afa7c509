"""Schemathesis against our own OpenAPI document: every operation, at most 25 generated requests each.

Valid requests (per the document) must be accepted, invalid ones refused with a 4xx, every answer must
match its documented status, content type and schema, and no answer may be a 5xx. Runs on SQLite and on
PostgreSQL with real Redis.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from moderation.web import openapi
from tests.hostile_env import HostileEnv, hostile_env

# The document the app serves at /api/openapi.json (a test below checks they are the same), loaded
# statically: schemathesis' lazy fixture loader does not work with this pytest version.
schema = schemathesis.openapi.from_dict(openapi.document())
# Generated requests only (hypothesis' 25 per operation): the coverage phase's deterministic boundary
# requests come on top of that limit (hundreds per operation); the hostile-input corpus pins those cases.
schema.config.phases.coverage.enabled = False
# The secret key of the site of the database under test (each run creates its own site).
SITE_KEY: dict[str, str] = {}


@schema.auth(refresh_interval=None)
class SiteKey:
    """The site's secret key, set by schemathesis itself so its negative cases can leave it out or spoil
    it (a key added to every request afterwards would turn those into valid requests)."""

    def get(self, case: Any, ctx: Any) -> str:
        return SITE_KEY["value"]

    def set(self, case: Any, data: str, ctx: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def contract_env(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HostileEnv]:
    with hostile_env(request.param, tmp_path_factory.mktemp("contract")) as environment:
        SITE_KEY["value"] = environment.site.secret_key
        yield environment


def test_the_served_document_is_the_tested_one(contract_env: HostileEnv) -> None:
    served = contract_env.app.test_client().get("/api/openapi.json").get_json()
    assert served == openapi.document()


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_operation_keeps_the_contract(case: Any, contract_env: HostileEnv, tmp_path: Path) -> None:
    contract_env.redis.flushdb()  # budgets afresh: a 429 from earlier examples is no contract breach
    # The schema is loaded once for both databases; every request (the checks' probes too) goes to the
    # app of this run's database.
    case.operation.schema.app = case.operation.app = contract_env.app
    response = case.call_and_validate()
    assert response.status_code < 500
