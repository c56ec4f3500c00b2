"""Schemathesis over the OpenAPI document: every operation the app publishes is called
with generated requests (valid ones and invalid ones), and every answer must match what
the document says about it.

The document is the app's own (``create_app().openapi()``, what ``/api/v1/openapi.json``
serves); the requests go in-process to the app of ``tests.conftest.app_on(session)`` on
the seeded database of the test's backend (SQLite and PostgreSQL, via the ``session``
fixture), with the embedded search index of that seed. Two tests per operation:

* ``test_openapi_boundaries[<METHOD> <path>][<db>]``: schemathesis's ``examples`` and
  ``coverage`` phases: the document's examples and every boundary, missing and
  wrong-typed value and unexpected method it defines;
* ``test_openapi[<METHOD> <path>][<db>]``: the ``fuzzing`` phase, at most
  ``CATALOGUE_SCHEMATHESIS_EXAMPLES`` (default 15) generated cases, positive and
  negative. Generated values seldom hit a real code, so in the positive mode Hypothesis
  also draws, for each path and query parameter that names a resource, a real one of
  the seed (item, catalogue entry, department, region, material, code list, version
  number), and for each write a valid body made from the seed (a new item, an item's own
  representation edited, a lifecycle decision, a new department...) with the path it
  belongs to (and without the generated ``If-Match``): then writes get past validation
  and their 2xx answers are checked against the document too.

Per case of ``test_openapi`` (``test_openapi_boundaries`` sends each case once, with the
admin key where the operation needs one: its cases are many and the key checks are
fuzzed here):

* a read (``GET``), or a write the document says needs no key (a correction report), is
  sent without a key and again with an admin key;
* a write that needs a key (``security`` in the document) is sent without one, which
  must be refused before its body is looked at (the contract: "the key is checked before
  the body is read"): 401 of problem type ``unauthorized``, or 422 when the edge refuses
  the path or query string first (the errors then name only those); then again with an
  admin key, so that writes are exercised beyond authentication;

Every answer goes through ``not_a_server_error``, ``status_code_conformance``,
``content_type_conformance``, ``response_headers_conformance`` and
``response_schema_conformance``. No check is switched off.

Writes never leak: each case runs inside a SAVEPOINT of the test's connection that is
rolled back after it, within the test's own rolled-back transaction; the corrections rate
limiter starts afresh with each case too (else all but the first cases of a test get
429).

Bounded: ``deadline=None`` and the health checks about slow or large data suppressed (a
case is two requests on a real database). About 1.5 minutes per database here.

Excluded:

* ``GET /readyz`` (both tests): it checks the process's configured database
  (``get_engine()``, not the test's session), so under this harness it would answer for
  another database and create an empty SQLite file under ``var/``; ``tests/ops/test_ops.py``
  tests it.
* From the coverage phase only (``COVERAGE_TOO_LARGE``): ``POST /items``,
  ``PUT /items/{code}``, ``POST /items/{code}/split`` and ``POST /sync/items``: a whole
  implementation as the body makes over 1,000 coverage cases each (6,000 of the 7,800 of
  the whole document, minutes per database). They are fuzzed like every operation.

Stateful (link-following) testing is not used: the document declares no links, and
drawing real codes as above reaches ``/items/{code}``, ``/versions``, ``/diff``... with
codes that exist.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine, select
from sqlmodel import Session

from app.catalogue.models import CatalogueEntry, Implementation
from app.codes.rules import make_credit_code
from app.directory.models import Department, SharedMaterial
from app.errors import Unauthorized
from app.main import create_app
from app.search.backends.embedded import TantivyBackend
from app.search.indexer import Indexer
from app.search.service import SearchService
from tests.conftest import Keys, app_on
from tests.edge.test_roles import (
    delegate_body,
    delegation,
    event,
    first_county_department,
    live_items,
    merge_pair,
)
from tests.helpers import API, new_item_body, writable

EXAMPLES = int(os.environ.get("CATALOGUE_SCHEMATHESIS_EXAMPLES", "15"))

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

EXCLUDED = {("GET", "/readyz")}

#: operations whose coverage phase alone is over a thousand cases (the whole
#: implementation as a body): fuzzed only
COVERAGE_TOO_LARGE = {
    ("POST", "/api/v1/items"),
    ("PUT", "/api/v1/items/{code}"),
    ("POST", "/api/v1/items/{code}/split"),
    ("POST", "/api/v1/sync/items"),
}

DOCUMENT = create_app().openapi()


def _schema(phases: set[str], leave_out: set[tuple[str, str]]) -> Any:
    config = schemathesis.Config.from_dict(
        {
            "phases": {
                phase: {"enabled": phase in phases}
                for phase in ("examples", "coverage", "fuzzing", "stateful")
            }
        }
    )
    return schemathesis.openapi.from_dict(DOCUMENT, config=config).exclude(
        func=lambda ctx: (ctx.operation.method.upper(), ctx.operation.path) in leave_out
    )


#: generated requests, with the seed's real values drawn in (``@given`` below)
fuzzing = _schema({"fuzzing"}, EXCLUDED)
#: the document's own examples and every boundary and missing-value case it defines
boundaries = _schema({"examples", "coverage"}, EXCLUDED | COVERAGE_TOO_LARGE)


# --- the seed's real values --------------------------------------------------------


@dataclass
class Seeds:
    """Real values of the seed, per kind, and valid bodies per operation."""

    values: dict[str, list[Any]] = field(default_factory=dict)
    #: "METHOD /path" → [(path parameters, body)]
    bodies: dict[str, list[tuple[dict[str, str], Any]]] = field(default_factory=dict)


def path_kind(path: str, name: str) -> str | None:
    """What kind of resource the path parameter ``name`` of ``path`` names."""
    if name == "code":
        for prefix, kind in (
            ("/items/", "item"),
            ("/regions/", "region"),
            ("/materials/", "material"),
        ):
            if path.startswith(API + prefix):
                return kind
        return None
    return {
        "basic_code": "entry",
        "credit_code": "department",
        "name": "code_list",
        "number": "version",
    }.get(name)


#: True two times in three (``st.booleans()`` leans to False in small runs)
MOSTLY = st.sampled_from((True, True, False))

QUERY_KINDS = {
    "region": "region",
    "department": "department",
    "basic_code": "entry",
    "from": "version",
    "to": "version",
}


def seed_values(session: Session, client: TestClient) -> dict[str, list[Any]]:
    items = [i.code for level in ("2", "3", "4") for i in live_items(session, level)[:4]]
    departments = list(
        session.execute(
            select(Department.credit_code).order_by(Department.credit_code).limit(10)
        ).scalars()
    )
    regions = sorted(
        set(session.execute(select(Department.region_code)).scalars()) | {"230000", "110000"}
    )
    return {
        "item": items,
        "entry": list(
            session.execute(
                select(CatalogueEntry.basic_code).order_by(CatalogueEntry.basic_code).limit(10)
            ).scalars()
        ),
        "department": departments,
        "region": regions,
        "material": list(
            session.execute(
                select(SharedMaterial.code).order_by(SharedMaterial.code).limit(10)
            ).scalars()
        ),
        "code_list": client.get(f"{API}/code-lists").json(),
        "version": [1, 2, 3],
    }


def seed_bodies(session: Session, client: TestClient) -> dict[str, list[tuple[dict, Any]]]:
    dept = first_county_department(session)
    county = live_items(session, "4")[:2]
    city = live_items(session, "3")[:1]
    bodies: dict[str, list[tuple[dict, Any]]] = {}

    bodies["POST /api/v1/items"] = [({}, new_item_body(session, client, dept, n)) for n in (0, 1)]
    bodies["POST /api/v1/sync/items"] = [({}, [new_item_body(session, client, dept, 2)])]
    puts, patches = [], []
    for item in county + city:
        body = writable(client, item.code)
        body["guide"]["visits"] = (body["guide"]["visits"] + 1) % 3
        puts.append(({"code": item.code}, body))
        patches.append(({"code": item.code}, {"guide": {"visits": body["guide"]["visits"]}}))
    bodies["PUT /api/v1/items/{code}"] = puts
    bodies["PATCH /api/v1/items/{code}"] = patches
    for name in ("cancel", "suspend", "resume", "accept", "reclaim", "reinstate"):
        bodies[f"POST /api/v1/items/{{code}}/{name}"] = [
            ({"code": i.code}, event()) for i in county + city
        ]
    source, target = delegation(session)
    bodies["POST /api/v1/items/{code}/delegate"] = [({"code": source.code}, delegate_body(target))]
    a, b = merge_pair(session)
    bodies["POST /api/v1/items/{code}/merge"] = [({"code": a.code}, event(into=b.code))]
    own = (
        session.execute(
            select(Implementation.code)
            .where(Implementation.department_code == dept.credit_code, Implementation.status == "1")
            .order_by(Implementation.code)
        )
        .scalars()
        .first()
    )
    parts = [new_item_body(session, client, dept, n) for n in (0, 1)]
    bodies["POST /api/v1/items/{code}/split"] = [({"code": own}, event(into=parts))]

    bodies["POST /api/v1/catalogue-entries"] = [
        (
            {},
            {
                "name": "模式测试事项",
                "item_type": "20",
                "domain": "06",
                "legal_basis": [{"law": "《中华人民共和国社会保险法》"}],
            },
        )
    ]
    keep = ("name", "item_type", "domain", "parent_basic_code", "legal_basis", "handling_items")
    entry = client.get(f"{API}/catalogue-entries/{county[0].basic_code}").json()
    bodies["PUT /api/v1/catalogue-entries/{basic_code}"] = [
        (
            {"basic_code": county[0].basic_code},
            {**{k: entry[k] for k in keep}, "handling_items": [{"code": "01", "name": "新设"}]},
        )
    ]
    bodies["POST /api/v1/departments"] = [
        (
            {},
            {
                "credit_code": make_credit_code("1", "1", "230100", "TEAM0008"),
                "name": "哈尔滨市模式测试局",
                "region_code": "230100",
                "level": "3",
            },
        )
    ]
    bodies["PUT /api/v1/departments/{credit_code}"] = [
        (
            {"credit_code": dept.credit_code},
            {
                "credit_code": dept.credit_code,
                "name": dept.name + "（新）",
                "short_name": dept.short_name,
                "region_code": dept.region_code,
                "level": dept.level,
                "parent_credit_code": dept.parent_credit_code,
            },
        )
    ]
    groups = client.get(f"{API}/synonyms").json()["groups"]
    bodies["PUT /api/v1/synonyms"] = [({}, {"groups": [*groups, ["小本本", "护照"]]})]
    return bodies


# --- the app under test ------------------------------------------------------------


@pytest.fixture(scope="session")
def search_index(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed indexed once per database backend (searches only read it)."""
    path = tmp_path_factory.mktemp("schemathesis-index")
    with Session(engine) as session:
        Indexer(SearchService(TantivyBackend(path))).rebuild(session)
        session.rollback()
    return path


@dataclass
class Api:
    app: FastAPI
    session: Session
    admin: dict[str, str]
    seeds: Seeds

    @contextmanager
    def case_transaction(self) -> Iterator[None]:
        """One case's writes in a SAVEPOINT of the test's connection, rolled back after
        it (the session joins the test's connection in ``create_savepoint`` mode: what
        the app commits is released into this savepoint, never further)."""
        self.session.commit()  # nothing of the session's own left open
        # and a fresh rate budget for corrections, as the database is fresh for each case
        self.app.state.correction_limiter = None
        connection = self.session.get_bind()
        savepoint = connection.begin_nested()  # type: ignore[union-attr]
        try:
            yield
        finally:
            self.session.close()  # whatever the request left open
            savepoint.rollback()

    def seed(self, case: Any, data: st.DataObject) -> None:
        """In the positive mode, mostly swap in real values and a valid body."""
        meta = case.meta
        if meta is None or meta.generation.mode != GenerationMode.POSITIVE:
            return
        path = case.operation.path
        values = self.seeds.values
        bodies = self.seeds.bodies.get(f"{case.method.upper()} {path}")
        if bodies and data.draw(MOSTLY, label="valid body"):
            params, body = data.draw(st.sampled_from(bodies), label="body")
            case.path_parameters = {**(case.path_parameters or {}), **params}
            case.body = copy.deepcopy(body)
            case.media_type = "application/json"
            if case.headers and data.draw(MOSTLY, label="drop If-Match"):
                # a generated If-Match is a stale version: 412 before the body is read
                case.headers = {k: v for k, v in case.headers.items() if k.lower() != "if-match"}
        else:
            for name in list(case.path_parameters or {}):
                kind = path_kind(path, name)
                if kind and data.draw(MOSTLY, label=f"real {name}"):
                    case.path_parameters = {
                        **case.path_parameters,
                        name: data.draw(st.sampled_from(values[kind]), label=name),
                    }
        declared = {p.name for p in case.operation.query}
        for name, kind in QUERY_KINDS.items():
            if name in declared and data.draw(MOSTLY, label=f"real ?{name}"):
                case.query = {
                    **(case.query or {}),
                    name: data.draw(st.sampled_from(values[kind]), label=f"?{name}"),
                }


@pytest.fixture(scope="session")
def seeds(engine: Engine) -> Seeds:
    """The seed's real values and valid bodies, read once per database backend (every
    test starts from the same seeded database)."""
    connection = engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        with TestClient(app_on(session)) as client:
            return Seeds(seed_values(session, client), seed_bodies(session, client))
    finally:
        session.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def api(session: Session, keys: Keys, search_index: Path, seeds: Seeds) -> Api:
    app = app_on(session)
    app.state.search = SearchService(TantivyBackend(search_index))
    admin = keys.admin()
    session.commit()
    return Api(app=app, session=session, admin=admin, seeds=seeds)


# --- the test ----------------------------------------------------------------------


def needs_key(case: Any) -> bool:
    """Does the document say the operation needs a key?"""
    operation = DOCUMENT["paths"][case.operation.path][case.operation.method.lower()]
    return bool(operation.get("security", DOCUMENT.get("security")))


def refused_before_the_body(case: Any, response: Any) -> None:
    """A write without a key is refused before its body is looked at: 401 (problem type
    ``unauthorized``), or 422 for a path or query the edge refuses first, naming only
    those."""
    label = f"{case.method} {case.formatted_path} without a key"
    if response.status_code == 401:
        assert response.json().get("type") == Unauthorized.type, f"{label}: {response.text}"
        return
    assert response.status_code == 422, (
        f"{label} answered {response.status_code}, not 401: {response.text[:300]}"
    )
    errors = response.json().get("errors") or []
    assert errors and all(e["loc"][:1] in (["path"], ["query"], ["header"]) for e in errors), (
        f"{label} answered 422 about more than its path and query: {response.text[:300]}"
    )


SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,  # `api` is shared by the cases; see above
    ],
)


@boundaries.parametrize()
@SETTINGS
def test_openapi_boundaries(case: Any, api: Api) -> None:
    check_case(case, api, once=True)


@fuzzing.parametrize()
@fuzzing.given(data=st.data())
@SETTINGS
def test_openapi(case: Any, data: st.DataObject, api: Api) -> None:
    api.seed(case, data)
    check_case(case, api)


def check_case(case: Any, api: Api, once: bool = False) -> None:
    """Send the case as described in the module's docstring and check every answer;
    ``once``: one request, with the admin key where the operation needs one."""
    failures: list[BaseException] = []

    def call(headers: dict[str, str] | None) -> Any:
        """Send and check; a failure is kept so that the next call is still made."""
        try:
            return case.call_and_validate(app=api.app, headers=headers, checks=CHECKS)
        except (AssertionError, FailureGroup) as exc:
            failures.append(exc)
            return None

    with api.case_transaction():
        if once:
            call(api.admin if needs_key(case) else None)
        elif case.method.upper() == "GET" or not needs_key(case):
            call(None)
            call(api.admin)
        else:
            anonymous = case.call(app=api.app)
            try:
                refused_before_the_body(case, anonymous)
                case.validate_response(anonymous, checks=CHECKS)
            except (AssertionError, FailureGroup) as exc:
                failures.append(exc)
            call(api.admin)
    if len(failures) == 1:
        raise failures[0]
    if failures:
        raise BaseExceptionGroup("more than one call of this case failed", failures)
