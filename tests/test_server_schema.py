"""The HTTP API against its own contract: schemathesis generates requests from
``/openapi.json`` (valid and invalid ones) for every operation and checks each answer.

Two runs over every operation, the app in-process (ASGI) with one API key sent on
every request:

* ``test_responses_conform_to_the_contract``: the response checks only - no 5xx, the
  status code is documented for the operation, the content type is one it documents,
  the body matches the documented schema, headers conform. A failure of the data checks
  below cannot hide one of these.
* ``test_schemathesis_default_checks``: every check schemathesis runs by default, which
  adds that schema-invalid requests are rejected (4xx) and that the API does not ignore
  authentication; all but the check that every schema-valid request is accepted (see
  the test for why).

The runs are deterministic (``derandomize=True``, no example database) and bounded by
``max_examples`` per operation, so a failure here reproduces on every run: it is a bug
in the API or in its documented contract, not noise. schemathesis prints a ``curl``
command that reproduces it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from repprofile.server import ServerSettings, create_app

KEY = "schema-test-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {KEY}"}

APP = create_app(ServerSettings(api_keys=(KEY,), public_docs=True))  # schemathesis reads the schema
SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", APP)

PROBLEM_TYPES: dict[str, type | tuple[type, ...]] = {
    "type": str,
    "title": str,
    "status": int,
    "detail": (str, list),
    "code": str,
}


@schemathesis.check
def problem_details(ctx: Any, response: Any, case: Case) -> bool | None:
    """Every non-2xx answer is an RFC 9457 problem document with a ``code``
    (docs/server.md, Errors): ``application/problem+json``, the members of PROBLEM_TYPES
    with their types, ``status`` equal to the HTTP status, and in a 422 the problem list
    in ``errors`` (``detail`` the same list, for compatibility)."""
    if 200 <= response.status_code < 300:
        return None
    assert response.headers["content-type"] == ["application/problem+json"], response.headers
    doc = response.json()
    for key, kind in PROBLEM_TYPES.items():
        assert isinstance(doc.get(key), kind), (key, doc)
    assert doc["status"] == response.status_code
    assert doc["type"] == f"urn:repprofile:problem:{doc['code']}"
    if response.status_code == 422:
        assert doc["code"] == "invalid_request"
        assert doc["errors"] == doc["detail"]
        assert len(doc["errors"]) <= 100
        assert isinstance(doc["errors_omitted"], int)
    else:
        assert isinstance(doc["detail"], str)
    return None


RESPONSE_CHECKS: list[CheckFunction] = [
    problem_details,
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]

BOUNDED = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

Case = schemathesis.Case[Any]
F = TypeVar("F", bound=Callable[..., None])


def every_operation(func: F) -> F:
    """``SCHEMA.parametrize()`` with the test's type kept (schemathesis's is untyped)."""
    decorated: F = SCHEMA.parametrize()(func)
    return decorated


@every_operation
@BOUNDED
def test_responses_conform_to_the_contract(case: Case) -> None:
    case.call_and_validate(headers=AUTH, checks=RESPONSE_CHECKS)


@every_operation
@BOUNDED
def test_schemathesis_default_checks(case: Case) -> None:
    # Every default check but positive_data_acceptance: a body can match the schema and
    # still be refused with a documented 422, by rules a JSON schema cannot state (a
    # role object whose weights are all zero, a norm table for another questionnaire
    # version, a chart of a candidate the request does not contain or whose answers
    # were rejected, percentiles without norms).
    case.call_and_validate(headers=AUTH, excluded_checks=[positive_data_acceptance])
