"""Fuzz the whole API from its own OpenAPI document (schemathesis, through the WSGI app): no 5xx,
every response conforms to the document (status, content type, body schema), and invalid input is
refused. Each operation is called with the token of a role the authorization matrix allows, so
the fuzzing reaches the views rather than stopping at the gate.

Bounded: FUZZ_EXAMPLES examples per operation on SQLite (a world with a deployed process, open
tasks and a finished case), fewer on PostgreSQL (whose type checks differ: NUL bytes, integer
ranges). Set SIJI_FUZZ_EXAMPLES to fuzz longer locally.
"""

from __future__ import annotations

import os
import re

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="pip install -e .[test]")
from conftest import db_url_for, make_harness  # noqa: E402
from hypothesis import HealthCheck, assume, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402

# Every other default check runs (no 5xx, status/content-type/body/header conformance, invalid
# data refused, auth enforced). Schema-valid data may still be refused with a 422: a form field
# the process does not have, a role code that does not exist, a deployment without files.
from schemathesis.checks import positive_data_acceptance  # noqa: E402
from test_api_core import GOOD_START, MINI  # noqa: E402

from api import authz  # noqa: E402

FUZZ_EXAMPLES = int(os.environ.get("SIJI_FUZZ_EXAMPLES", "20"))
PG_EXAMPLES = max(3, FUZZ_EXAMPLES // 4)
# Users tried in this order; the first whose roles the matrix allows calls the operation.
PREFERENCE = [
    ("admin", {"admin"}),
    ("auditor", {"auditor"}),
    ("analyst", {"analyst"}),
    ("bureau", {"approval_bureau"}),
    ("ent_a", {"applicant"}),
    ("lgo", {"leading_group_office"}),
    ("com", {"commissioner"}),
    ("boss", {"dept_supervisor"}),
]


class FuzzWorld:
    def __init__(self, h):
        self.h = h
        self.by_op: dict[tuple[str, str], str] = {}
        for rule in h.app.url_map.iter_rules():
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                self.by_op[(method, path)] = rule.endpoint

    def headers_for(self, method: str, path: str) -> dict:
        endpoint = self.by_op.get((method.upper(), path))
        rule = authz.MATRIX.get(endpoint)
        if rule is None or rule == authz.PUBLIC:
            return {}
        for user, roles in PREFERENCE:
            if roles & rule:
                return self.h.headers(user)
        raise AssertionError(f"no fuzz user may call {endpoint}")


def _world(backend, tmp_path, request) -> FuzzWorld:
    h = make_harness(db_url_for(backend, tmp_path, request), backend)
    h.add_user("lgo", ["leading_group_office"])
    h.add_user("com", ["commissioner"], pair_with=["ent_a"])
    h.add_user("boss", ["approval_bureau", "dept_supervisor"])
    h.deploy_paths(MINI)
    done = h.start("mini", "ent_a", GOOD_START, business_key="BK-1")["id"]
    h.complete("bureau", done, "Task_Review", {"complete": True})
    h.start("mini", "ent_a", GOOD_START, business_key="BK-2")
    return FuzzWorld(h)


def _operations() -> list[str]:
    """'METHOD /path' of every operation in the document (read from an app without a database)."""
    import importlib.util

    from conftest import ROOT

    spec = importlib.util.spec_from_file_location("authz_table", ROOT / "tools" / "authz_table.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    from api.app import create_app

    doc = create_app({"TESTING": True}, service=mod._NoService()).test_client().get("/api/openapi.json").get_json()
    return sorted(
        f"{m.upper()} {p}"
        for p, ops in doc["paths"].items()
        for m in ops
        if m in ("get", "post", "put", "patch", "delete")
    )


OPERATIONS = _operations()


@pytest.fixture(scope="module")
def world_sqlite(tmp_path_factory, request):
    w = _world("sqlite", tmp_path_factory.mktemp("fuzz"), request)
    w.schema = schemathesis.openapi.from_wsgi("/api/openapi.json", w.h.app)
    yield w
    w.h.service.db.dispose()


@pytest.fixture
def world_pg(tmp_path, request):
    w = _world("postgres", tmp_path, request)
    w.schema = schemathesis.openapi.from_wsgi("/api/openapi.json", w.h.app)
    yield w
    w.h.service.db.dispose()


def _call(case, world: FuzzWorld):
    headers = world.headers_for(case.method, case.path)
    if case.headers:
        # generated headers may not override the caller's identity
        headers = {**{k: v for k, v in case.headers.items() if k.lower() != "authorization"}, **headers}
    response = case.call(headers=headers)
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} {case.query} {case.body!r}"[:600],
        response.status_code,
        response.text[:500],
    )
    case.validate_response(response, headers=headers, excluded_checks=[positive_data_acceptance])
    return response


def _fuzz(world: FuzzWorld, operation: str, examples: int):
    from hypothesis import given
    from schemathesis import GenerationMode

    method, path = operation.split(" ", 1)
    op = world.schema[path][method]
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

        @given(case=op.as_strategy(generation_mode=mode))
        @settings(
            max_examples=examples,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case):
            # a parameter with an empty list of values is not sent at all: schemathesis would still
            # count it as "an additional property" the API should have refused
            assume(not any(v == [] for v in (case.query or {}).values()))
            _call(case, world)

        try:
            run()
        except Unsatisfiable:
            # nothing to make invalid (an operation without parameters or body)
            assert mode == GenerationMode.NEGATIVE, operation


@pytest.mark.parametrize("operation", OPERATIONS)
def test_fuzz_sqlite(world_sqlite, operation):
    _fuzz(world_sqlite, operation, FUZZ_EXAMPLES)


def test_fuzz_postgres(world_pg):
    for operation in OPERATIONS:
        _fuzz(world_pg, operation, PG_EXAMPLES)
