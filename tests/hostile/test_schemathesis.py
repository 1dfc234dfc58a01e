"""Schemathesis against the OpenAPI document: every endpoint, no 500s, every 4xx well-formed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from shopmail.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)

# POST /api/v1/hooks/bounces takes a raw report (message/rfc822): real samples and arbitrary bytes.
_REPORTS = sorted((Path(__file__).parent.parent / "fixtures" / "bounces").glob("*.eml"))
schemathesis.openapi.media_type(
    "message/rfc822",
    st.one_of(st.sampled_from([path.read_bytes() for path in _REPORTS]), st.binary(max_size=4000)),
)


@schemathesis.check
def client_errors_are_well_formed(ctx, response, case):
    """A 4xx answer is JSON with a `detail`; a 422 lists `{loc, msg}` for each problem."""
    if 400 <= response.status_code < 500:
        try:
            body = json.loads(response.content)
        except ValueError:
            raise AssertionError(
                f"{response.status_code} without a JSON body: {response.content[:200]!r}"
            ) from None
        assert "detail" in body, body
        if response.status_code == 422:
            assert isinstance(body["detail"], list) and body["detail"], body
            for problem in body["detail"]:
                assert isinstance(problem["loc"], list) and isinstance(problem["msg"], str) and problem["msg"]


@pytest.fixture
def key(store):
    """An API key; and the WSGI app kept off the test's connection, as Django's test client does."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from shopmail.api import keys

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield keys.create("schemathesis")[1]
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_never_errors(case, key):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {key}"},
        checks=[not_a_server_error, client_errors_are_well_formed],
        excluded_checks=[
            c
            for c in schemathesis.checks.CHECKS.get_all()
            if c not in (not_a_server_error, client_errors_are_well_formed)
        ],
    )
