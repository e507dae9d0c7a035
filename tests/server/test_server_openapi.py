"""Schemathesis against the server's own OpenAPI document (bounded run on real uvicorn).

Every operation is fuzzed with schema-shaped and malformed inputs; the server must never answer
5xx, and every answer must be documented (status code, content type, body schema). Admin
operations are called without a token here, so they must answer a documented 401/403.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .conftest import RunningServer, start_server, stop_server


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    tmp: Path = tmp_path_factory.mktemp("openapi")
    srv_info = start_server(tmp, f"sqlite:///{tmp / 'server.sqlite3'}")
    yield srv_info[0]
    stop_server(*srv_info)


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_api_conforms_to_its_openapi(running: RunningServer) -> None:
    # schemathesis' pytest plugin does not run on this pytest version, so each operation's
    # strategy is driven by Hypothesis directly (same cases, same checks).
    schema = schemathesis.openapi.from_url(f"{running.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=12,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        def check(case) -> None:  # type: ignore[no-untyped-def]
            case.call_and_validate(base_url=running.url, checks=CHECKS)

        check()
