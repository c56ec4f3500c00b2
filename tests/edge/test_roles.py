"""Who may write what: a role × operation matrix over every write operation of the API.

``TABLE`` is the specification, one row per write route (every non-GET method under
``/api/v1``; :func:`test_every_write_route_has_a_row` fails when a route has no row, or a
row no route), one column per kind of caller:

* ``admin``: an admin key: everything, but a change request author's own acts (below).
* ``editor_own``: an editor of the item's own department (for ``accept``: of the
  *receiving* department). Writes its items and decides their lifecycle.
* ``editor_other``: an editor of another department (in the same region where there is
  one: the refusal is about the department, not the place). For ``accept`` this is the
  delegating department, which may not accept on the receiver's behalf.
* ``sync_own``: a sync key whose region prefix covers the item: may create, replace and
  patch implementations (``POST``/``PUT``/``PATCH /items``, ``POST /sync/items``) but not
  decide their lifecycle: cancel, suspend, resume, delegate, accept, reclaim, merge,
  split and reinstate belong to the department's editor or an admin (403).
* ``sync_other``: a sync key of another region: 403.
* ``revoked``: a revoked (admin) key: 401 (but where no key is needed).
* ``no_key``: no ``Authorization``: 401 (but where no key is needed).
* ``reviewer``: a reviewer of the item's region, only when ``app.security.ROLES`` has
  the role: it approves or rejects change requests and answers corrections, and writes
  nothing directly (403; for ``POST /sync/items`` too: the endpoint is for sync, editor
  and admin keys).

Catalogue entries, departments and the synonym table are admin-only: 403 for every editor
and sync key. For ``editor_own``/``sync_own`` of those rows the key is the closest to
the resource (the department being replaced, a department implementing the entry...) so
that the refusal is about the role.

Review (change requests): editors propose (so may sync keys, which may edit directly);
only the author edits, submits, withdraws or rebases a request (``editor_own`` is the
author there: not even an admin acts for the author, whose name the published version
carries); a reviewer of the item's region or an admin approves or rejects, never the
author. Corrections (纠错): anyone reports one, no key needed (a key, even a revoked one,
is not looked at); the department's editors, the region's reviewers and admins answer;
the department's editors or an admin turn an accepted one into a change request.

Cells: ``OK`` means 2xx with a valid body (for ``POST /sync/items`` also: every item
applied); 401/403 mean that status with an ``application/problem+json`` body of the
problem type of ``app.errors.Unauthorized``/``Forbidden``; ``REJECTED`` (bulk only) means
200 with every item ``rejected`` with an error, as ``POST /sync/items`` answers per item
(README: "each item is checked on its own ... a sync key writes only within its region
prefix"). Every refused cell (401, 403, ``REJECTED``) also asserts that nothing was
written: ``tests.helpers.counts()``, the change requests and review actions, the change
feed's ``head_seq`` and the target resource as read back are unchanged.

Each cell is its own test (ids ``METHOD /path::role``) on SQLite and PostgreSQL, in the
rolled-back transaction of the ``session`` fixture.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlmodel import Session

from app import clock, security
from app.catalogue.models import Implementation
from app.codes.rules import implementation_code, make_credit_code
from app.directory.models import Department
from app.errors import Forbidden, NotFound, Unauthorized
from app.main import create_app
from app.review.models import ChangeRequest, ReviewAction
from app.search.backends.embedded import TantivyBackend
from app.search.service import SearchService
from tests.conftest import Keys
from tests.helpers import API, counts, new_item_body, problem, writable

OK = "ok"
REJECTED = "rejected"

COLUMNS = (
    "admin",
    "editor_own",
    "editor_other",
    "sync_own",
    "sync_other",
    "revoked",
    "no_key",
    "reviewer",
)

# fmt: off
#                                                admin  editor_own editor_other sync_own sync_other revoked no_key reviewer
TABLE: dict[str, tuple[Any, ...]] = {
    "POST /api/v1/items":                           (OK,   OK,        403,         OK,      403,       401,    401,   403),
    "PUT /api/v1/items/{code}":                     (OK,   OK,        403,         OK,      403,       401,    401,   403),
    "PATCH /api/v1/items/{code}":                   (OK,   OK,        403,         OK,      403,       401,    401,   403),
    "POST /api/v1/items/{code}/cancel":             (OK,   OK,        403,         403,     403,       401,    401,   403),
    "POST /api/v1/items/{code}/suspend":            (OK,   OK,        403,         403,     403,       401,    401,   403),
    "POST /api/v1/items/{code}/resume":             (OK,   OK,        403,         403,     403,       401,    401,   403),
    "POST /api/v1/items/{code}/delegate":           (OK,   OK,        403,         403,     403,       401,    401,   403),
    "POST /api/v1/items/{code}/accept":             (OK,   OK,        403,         403,     403,       401,    401,   403),
    "POST /api/v1/items/{code}/reclaim":            (OK,   OK,        403,         403,     403,       401,    401,   403),
    "POST /api/v1/items/{code}/merge":              (OK,   OK,        403,         403,     403,       401,    401,   403),
    "POST /api/v1/items/{code}/split":              (OK,   OK,        403,         403,     403,       401,    401,   403),
    "POST /api/v1/items/{code}/reinstate":          (OK,   OK,        403,         403,     403,       401,    401,   403),
    "POST /api/v1/sync/items":                      (OK,   OK,        REJECTED,    OK,      REJECTED,  401,    401,   403),
    "POST /api/v1/catalogue-entries":               (OK,   403,       403,         403,     403,       401,    401,   403),
    "PUT /api/v1/catalogue-entries/{basic_code}":   (OK,   403,       403,         403,     403,       401,    401,   403),
    "POST /api/v1/departments":                     (OK,   403,       403,         403,     403,       401,    401,   403),
    "PUT /api/v1/departments/{credit_code}":        (OK,   403,       403,         403,     403,       401,    401,   403),
    "PUT /api/v1/synonyms":                         (OK,   403,       403,         403,     403,       401,    401,   403),
    "POST /api/v1/legal-bases":                     (OK,   403,       403,         403,     403,       401,    401,   403),
    "PUT /api/v1/legal-bases/{basis_id}":           (OK,   403,       403,         403,     403,       401,    401,   403),
    # a material's file: as an edit of the item (review is off in this matrix)
    "POST /api/v1/items/{code}/materials/{material_code}/files": (OK, OK, 403,    OK,      403,       401,    401,   403),
    # review: editors (and sync keys, which may edit directly) propose; only the author
    # changes, submits, withdraws or rebases a request (``editor_own`` is the author);
    # a reviewer of the item's region or an admin approves or rejects, never the author
    "POST /api/v1/change-requests":                 (OK,   OK,        403,         OK,      403,       401,    401,   403),
    "PATCH /api/v1/change-requests/{request_id}":   (403,  OK,        403,         403,     403,       401,    401,   403),
    "POST /api/v1/change-requests/{request_id}/submit":   (403, OK,   403,         403,     403,       401,    401,   403),
    "POST /api/v1/change-requests/{request_id}/withdraw": (403, OK,   403,         403,     403,       401,    401,   403),
    "POST /api/v1/change-requests/{request_id}/rebase":   (403, OK,   403,         403,     403,       401,    401,   403),
    "POST /api/v1/change-requests/{request_id}/approve":  (OK,  403,  403,         403,     403,       401,    401,   OK),
    "POST /api/v1/change-requests/{request_id}/reject":   (OK,  403,  403,         403,     403,       401,    401,   OK),
    # corrections (纠错): anyone reports, no key needed (a key, even a revoked one, is not
    # looked at); the item's department's editors, its region's reviewers and admins
    # answer; the department's editors (or an admin) turn one into a change request
    "POST /api/v1/items/{code}/corrections":        (OK,   OK,        OK,          OK,      OK,        OK,     OK,    OK),
    "POST /api/v1/corrections/{ticket}/reply":      (OK,   OK,        403,         403,     403,       401,    401,   OK),
    "POST /api/v1/corrections/{ticket}/change-request": (OK, OK,      403,         403,     403,       401,    401,   403),
    # the one-time checklist (一次告知) is a read with a body: anyone, no key looked at
    "POST /api/v1/items/{code}/checklist":          (OK,   OK,        OK,          OK,      OK,        OK,     OK,    OK),
    # uploads: any editor or sync key (each row is then checked against the key's scope)
    "POST /api/v1/imports":                         (OK,   OK,        OK,          OK,      OK,        401,    401,   403),
    # cancelling one: the key that uploaded it (``editor_own``) or an admin; to any other
    # key the job does not exist, as for GET
    "DELETE /api/v1/imports/{import_id}":           (OK,   OK,        404,         404,     404,       401,    401,   404),
    # a citizen opened a search hit: counts only, anyone
    "POST /api/v1/search/clicks":                   (OK,   OK,        OK,          OK,      OK,        OK,     OK,    OK),
    # webhooks: admins, and sync keys for subscriptions within their region prefix
    "POST /api/v1/subscriptions":                   (OK,   403,       403,         OK,      403,       401,    401,   403),
    "POST /api/v1/subscriptions/{subscription_id}/replay": (OK, 403,  403,         OK,      403,       401,    401,   403),
    "POST /api/v1/subscriptions/{subscription_id}/resume": (OK, 403,  403,         OK,      403,       401,    401,   403),
    "DELETE /api/v1/subscriptions/{subscription_id}":      (OK, 403,  403,         OK,      403,       401,    401,   403),
}
# fmt: on

#: the columns in force: ``reviewer`` once the role exists
ACTIVE = tuple(c for c in COLUMNS if c != "reviewer" or "reviewer" in security.ROLES)

TODAY = clock.today()


# --- the routes --------------------------------------------------------------------


def route_methods(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every route of the app, included routers flattened."""
    try:  # FastAPI >= 0.13x wraps included routers; this walks them as openapi() does
        from fastapi.routing import iter_route_contexts

        found = [
            (c.path, getattr(c.original_route, "methods", None) or ())
            for c in iter_route_contexts(app.routes)
        ]
    except ImportError:  # older FastAPI: app.routes is flat
        found = [(getattr(r, "path", ""), getattr(r, "methods", None) or ()) for r in app.routes]
    return sorted({(m, p) for p, methods in found if p for m in methods})


def write_operations(app: FastAPI) -> set[str]:
    """``METHOD /path`` of every write operation: non-GET methods under /api/v1."""
    return {
        f"{m} {p}"
        for m, p in route_methods(app)
        if m not in ("GET", "HEAD", "OPTIONS") and p.startswith(API + "/")
    }


def test_every_write_route_has_a_row() -> None:
    routes = write_operations(create_app())
    assert routes, "no write route found: route_methods() does not see the app's routes"
    assert sorted(routes - TABLE.keys()) == [], "write routes without a row in TABLE"
    assert sorted(TABLE.keys() - routes) == [], "rows of TABLE without a route"
    assert TABLE.keys() == SETUPS.keys(), "every row needs a setup (and no setup without a row)"
    assert all(len(row) == len(COLUMNS) for row in TABLE.values())


# --- the targets -------------------------------------------------------------------


@dataclass
class Target:
    """One request to make, and whose it is: ``department`` and ``region`` make the
    ``*_own`` keys, ``other_department`` and ``other_region`` the ``*_other`` ones."""

    method: str
    url: str
    body: Any
    department: str
    region: str
    other_department: str
    other_region: str
    #: reads whose answers a refused request must leave as they were
    probes: list[str] = field(default_factory=list)
    bulk: bool = False
    #: the ``editor_own`` key when it must be a particular one (a change request's author)
    editor_own: dict[str, str] | None = None
    #: a file upload (multipart) instead of a JSON body
    files: dict[str, Any] | None = None


@dataclass
class Ctx:
    client: TestClient
    session: Session
    keys: Keys
    tmp_path: Path

    @property
    def admin(self) -> dict[str, str]:
        if not hasattr(self, "_admin"):
            self._admin = self.keys.admin()
        return self._admin


def decision() -> dict[str, str]:
    return {"number": "黑政规〔2026〕9号", "title": "关于调整省级行政权力事项的决定"}


def event(**extra: Any) -> dict[str, Any]:
    return {
        "decision": decision(),
        "reason": "优化营商环境，方便群众就近办理",
        "effective_date": TODAY.isoformat(),
        **extra,
    }


def other_department(session: Session, credit_code: str) -> str:
    """Another department, in the same region where there is one."""
    dept = session.get(Department, credit_code)
    assert dept is not None
    rows = session.execute(
        select(Department.credit_code, Department.region_code)
        .where(Department.credit_code != credit_code)
        .order_by(Department.credit_code)
    ).all()
    same = [c for c, r in rows if r == dept.region_code]
    return (same or [c for c, _ in rows])[0]


def other_region(region: str) -> str:
    """A city whose prefix does not cover ``region``."""
    return "230100" if region.startswith("2309") else "230900"


def live_items(session: Session, level: str) -> list[Implementation]:
    return list(
        session.execute(
            select(Implementation)
            .where(Implementation.level == level, Implementation.status == "1")
            .order_by(Implementation.code)
        ).scalars()
    )


def item_target(session: Session, item: Implementation, method: str, url: str, body: Any) -> Target:
    return Target(
        method=method,
        url=url,
        body=body,
        department=item.department_code,
        region=item.region_code,
        other_department=other_department(session, item.department_code),
        other_region=other_region(item.region_code),
        probes=[f"{API}/items/{item.code}", f"{API}/items/{item.code}/versions"],
    )


def county_item(ctx: Ctx) -> Implementation:
    return live_items(ctx.session, "4")[0]


def county_department(ctx: Ctx) -> Department:
    return first_county_department(ctx.session)


def first_county_department(session: Session) -> Department:
    dept = (
        session.execute(
            select(Department).where(Department.level == "4").order_by(Department.credit_code)
        )
        .scalars()
        .first()
    )
    assert dept is not None
    return dept


def delegation(session: Session) -> tuple[Implementation, Department]:
    """A city item in use and a county department of the same city (a lower level) that
    does not implement its entry: a valid delegation."""
    for item in live_items(session, "3"):
        city = item.region_code[:4]
        for dept in session.execute(
            select(Department)
            .where(
                Department.level == "4",
                Department.region_code.startswith(city),  # type: ignore[attr-defined]
            )
            .order_by(Department.credit_code)
        ).scalars():
            code = implementation_code(dept.credit_code, dept.level, item.basic_code)
            if session.get(Implementation, code) is None:
                return item, dept
    raise AssertionError("the seed has no city item with a county department to delegate to")


def delegate_body(dept: Department) -> dict[str, Any]:
    return event(
        mode="delegate",
        handover_date=(TODAY + timedelta(days=10)).isoformat(),
        to=[{"department": dept.credit_code, "region": dept.region_code}],
    )


def delegated(ctx: Ctx) -> tuple[Implementation, str, Department]:
    """The delegation above made by an admin: (source item, new code, receiving dept)."""
    item, dept = delegation(ctx.session)
    resp = ctx.client.post(
        f"{API}/items/{item.code}/delegate", json=delegate_body(dept), headers=ctx.admin
    )
    assert resp.status_code == 200, resp.text
    return item, resp.json()["created"][0], dept


def setup_post_item(ctx: Ctx) -> Target:
    dept = county_department(ctx)
    body = new_item_body(ctx.session, ctx.client, dept)
    return Target(
        method="POST",
        url=f"{API}/items",
        body=body,
        department=dept.credit_code,
        region=dept.region_code,
        other_department=other_department(ctx.session, dept.credit_code),
        other_region=other_region(dept.region_code),
        probes=[f"{API}/items?department={dept.credit_code}&limit=1000"],
    )


def setup_put_item(ctx: Ctx) -> Target:
    item = county_item(ctx)
    body = writable(ctx.client, item.code)
    body["guide"]["visits"] = (body["guide"]["visits"] + 1) % 3
    return item_target(ctx.session, item, "PUT", f"{API}/items/{item.code}", body)


def setup_patch_item(ctx: Ctx) -> Target:
    item = county_item(ctx)
    visits = (writable(ctx.client, item.code)["guide"]["visits"] + 1) % 3
    body = {"guide": {"visits": visits}}
    return item_target(ctx.session, item, "PATCH", f"{API}/items/{item.code}", body)


def simple_event(name: str) -> Callable[[Ctx], Target]:
    def setup(ctx: Ctx) -> Target:
        item = county_item(ctx)
        before = {"resume": "suspend", "reinstate": "cancel"}.get(name)
        if before:  # the state the event applies to, reached by an admin
            resp = ctx.client.post(
                f"{API}/items/{item.code}/{before}", json=event(), headers=ctx.admin
            )
            assert resp.status_code == 200, resp.text
        return item_target(ctx.session, item, "POST", f"{API}/items/{item.code}/{name}", event())

    setup.__name__ = f"setup_{name}"
    return setup


def setup_delegate(ctx: Ctx) -> Target:
    item, dept = delegation(ctx.session)
    target = item_target(
        ctx.session, item, "POST", f"{API}/items/{item.code}/delegate", delegate_body(dept)
    )
    new_code = implementation_code(dept.credit_code, dept.level, item.basic_code)
    target.probes.append(f"{API}/items/{new_code}")
    return target


def setup_accept(ctx: Ctx) -> Target:
    source, new_code, dept = delegated(ctx)
    window = {
        "name": f"{dept.name}窗口",
        "address": "政务服务中心二楼",
        "hours": "工作日 9:00-17:00",
        "phone": "0451-12345678",
    }
    return Target(
        method="POST",
        url=f"{API}/items/{new_code}/accept",
        body=event(guide={"windows": [window]}),
        department=dept.credit_code,
        region=dept.region_code,
        # the delegating department may not accept on the receiver's behalf
        other_department=source.department_code,
        other_region=other_region(dept.region_code),
        probes=[f"{API}/items/{new_code}", f"{API}/items/{new_code}/versions"],
    )


def setup_reclaim(ctx: Ctx) -> Target:
    source, new_code, _ = delegated(ctx)
    target = item_target(ctx.session, source, "POST", f"{API}/items/{source.code}/reclaim", event())
    target.probes.append(f"{API}/items/{new_code}")
    return target


def merge_pair(session: Session) -> tuple[Implementation, Implementation]:
    """Two live county items of one department."""
    dept = (
        session.execute(
            select(Implementation.department_code)
            .where(Implementation.status == "1", Implementation.level == "4")
            .group_by(Implementation.department_code)
            .having(func.count() >= 2)
            .order_by(Implementation.department_code)
        )
        .scalars()
        .first()
    )
    a, b = session.execute(
        select(Implementation)
        .where(Implementation.department_code == dept, Implementation.status == "1")
        .order_by(Implementation.code)
        .limit(2)
    ).scalars()
    return a, b


def setup_merge(ctx: Ctx) -> Target:
    """Two live items of one department: the first merged into the second."""
    a, b = merge_pair(ctx.session)
    target = item_target(ctx.session, a, "POST", f"{API}/items/{a.code}/merge", event(into=b.code))
    target.probes.append(f"{API}/items/{b.code}")
    return target


def setup_split(ctx: Ctx) -> Target:
    dept = county_department(ctx)
    item = (
        ctx.session.execute(
            select(Implementation)
            .where(Implementation.department_code == dept.credit_code, Implementation.status == "1")
            .order_by(Implementation.code)
        )
        .scalars()
        .first()
    )
    assert item is not None
    parts = [new_item_body(ctx.session, ctx.client, dept, nth) for nth in (0, 1)]
    return item_target(
        ctx.session, item, "POST", f"{API}/items/{item.code}/split", event(into=parts)
    )


def setup_bulk(ctx: Ctx) -> Target:
    target = setup_post_item(ctx)
    target.url = f"{API}/sync/items"
    target.body = [target.body]
    target.bulk = True
    return target


def admin_only(
    ctx: Ctx, method: str, url: str, body: Any, dept: Department, probes: list[str]
) -> Target:
    return Target(
        method=method,
        url=url,
        body=body,
        department=dept.credit_code,
        region=dept.region_code,
        other_department=other_department(ctx.session, dept.credit_code),
        other_region=other_region(dept.region_code),
        probes=probes,
    )


def setup_post_entry(ctx: Ctx) -> Target:
    body = {
        "name": "矩阵测试事项",
        "item_type": "20",
        "domain": "06",
        "legal_basis": [{"law": "《中华人民共和国社会保险法》"}],
    }
    dept = ctx.session.get(Department, county_item(ctx).department_code)
    assert dept is not None
    return admin_only(
        ctx, "POST", f"{API}/catalogue-entries", body, dept, [f"{API}/catalogue-entries?q=矩阵测试"]
    )


def setup_put_entry(ctx: Ctx) -> Target:
    item = county_item(ctx)
    entry = ctx.client.get(f"{API}/catalogue-entries/{item.basic_code}").json()
    keep = ("name", "item_type", "domain", "parent_basic_code", "legal_basis", "handling_items")
    body = {k: entry[k] for k in keep}
    body["handling_items"] = [{"code": "01", "name": "新设", "kind": "新设"}]
    dept = ctx.session.get(Department, item.department_code)  # implements the entry
    assert dept is not None
    url = f"{API}/catalogue-entries/{item.basic_code}"
    return admin_only(ctx, "PUT", url, body, dept, [url, f"{API}/items/{item.code}"])


def setup_post_department(ctx: Ctx) -> Target:
    body = {
        "credit_code": make_credit_code("1", "1", "230100", "TEAM0009"),
        "name": "哈尔滨市角色矩阵测试局",
        "region_code": "230100",
        "level": "3",
    }
    dept = (
        ctx.session.execute(
            select(Department)
            .where(Department.region_code == "230100", Department.level == "3")
            .order_by(Department.credit_code)
        )
        .scalars()
        .first()
    )
    assert dept is not None
    probe = f"{API}/departments/{body['credit_code']}"
    return admin_only(ctx, "POST", f"{API}/departments", body, dept, [probe])


def setup_put_department(ctx: Ctx) -> Target:
    dept = county_department(ctx)
    body = {
        "credit_code": dept.credit_code,
        "name": dept.name + "（新）",
        "short_name": dept.short_name,
        "region_code": dept.region_code,
        "level": dept.level,
        "parent_credit_code": dept.parent_credit_code,
    }
    url = f"{API}/departments/{dept.credit_code}"
    # the editor of that very department may not rename it
    return admin_only(ctx, "PUT", url, body, dept, [url])


def setup_put_synonyms(ctx: Ctx) -> Target:
    # the search service on an index of the test's own (else it opens one under var/)
    ctx.client.app.state.search = SearchService(TantivyBackend(ctx.tmp_path / "index"))  # type: ignore[attr-defined]
    current = ctx.client.get(f"{API}/synonyms").json()
    body = {"groups": [*current["groups"], ["小本本", "护照"]]}
    return admin_only(
        ctx, "PUT", f"{API}/synonyms", body, county_department(ctx), [f"{API}/synonyms"]
    )


LEGAL_BASIS = {"title": "黑龙江省角色矩阵测试办法", "number": "黑政规〔2026〕99号"}


def setup_post_legal_basis(ctx: Ctx) -> Target:
    probe = f"{API}/legal-bases?q=角色矩阵"
    return admin_only(
        ctx, "POST", f"{API}/legal-bases", LEGAL_BASIS, county_department(ctx), [probe]
    )


def setup_put_legal_basis(ctx: Ctx) -> Target:
    resp = ctx.client.post(f"{API}/legal-bases", json=LEGAL_BASIS, headers=ctx.admin)
    assert resp.status_code == 201, resp.text
    url = resp.headers["location"]
    body = {**LEGAL_BASIS, "status": "已废止", "repealed_on": TODAY.isoformat()}
    return admin_only(ctx, "PUT", url, body, county_department(ctx), [url])


def setup_material_file(ctx: Ctx) -> Target:
    item = county_item(ctx)
    material = writable(ctx.client, item.code)["materials"][0]["code"]
    url = f"{API}/items/{item.code}/materials/{material}/files"
    target = item_target(ctx.session, item, "POST", url, None)
    pdf = b"%PDF-1.4\n%%EOF\n"
    target.files = {"kind": (None, "sample"), "file": ("样表.pdf", pdf, "application/pdf")}
    return target


def change_request(ctx: Ctx, status: str = "draft") -> Target:
    """A change request (an edit as a merge patch) of a county item by an editor of its
    department, its author, in ``status``; the target is that request."""
    item = county_item(ctx)
    author = ctx.keys.editor(item.department_code)
    visits = (writable(ctx.client, item.code)["guide"]["visits"] + 1) % 3
    resp = ctx.client.post(
        f"{API}/change-requests",
        json={"item": item.code, "kind": "edit", "patch": {"guide": {"visits": visits}}},
        headers=author,
    )
    assert resp.status_code == 201, resp.text
    request = f"{API}/change-requests/{resp.json()['id']}"
    if status == "submitted":
        resp = ctx.client.post(f"{request}/submit", json={}, headers=author)
        assert resp.status_code == 200, resp.text
    target = item_target(ctx.session, item, "POST", request, {})
    target.editor_own = author
    return target


def setup_propose(ctx: Ctx) -> Target:
    item = county_item(ctx)
    visits = (writable(ctx.client, item.code)["guide"]["visits"] + 1) % 3
    body = {"item": item.code, "kind": "edit", "patch": {"guide": {"visits": visits}}}
    return item_target(ctx.session, item, "POST", f"{API}/change-requests", body)


def setup_edit_request(ctx: Ctx) -> Target:
    target = change_request(ctx)
    target.method, target.body = "PATCH", {"note": "补充说明"}
    return target


def request_action(action: str, status: str, body: dict[str, Any]) -> Callable[[Ctx], Target]:
    def setup(ctx: Ctx) -> Target:
        target = change_request(ctx, status)
        if action == "rebase":  # the item moves on under the draft (another field)
            code = target.probes[0].rsplit("/", 1)[1]
            resp = ctx.client.patch(
                f"{API}/items/{code}", json={"local_code": "ROLE-REBASE"}, headers=ctx.admin
            )
            assert resp.status_code == 200, resp.text
        target.url += f"/{action}"
        target.body = body
        return target

    setup.__name__ = f"setup_{action}_request"
    return setup


def correction_body() -> dict[str, Any]:
    return {
        "field": "guide.visits",
        "suggested": "1",
        "text": "窗口说明最多跑一次，这里写的次数不对",
        "contact": "13800000000",
    }


def setup_report(ctx: Ctx) -> Target:
    item = county_item(ctx)
    url = f"{API}/items/{item.code}/corrections"
    return item_target(ctx.session, item, "POST", url, correction_body())


def setup_import(ctx: Ctx) -> Target:
    target = setup_post_item(ctx)
    line = json.dumps(target.body, ensure_ascii=False).encode()
    target.url = f"{API}/imports"
    target.files = {"file": ("items.ndjson", line + b"\n", "application/x-ndjson")}
    return target


def setup_cancel_import(ctx: Ctx) -> Target:
    """An upload of an editor of the item's department, queued (the app of the test runs
    no job); the job's answer is probed."""
    target = setup_import(ctx)
    owner = ctx.keys.editor(target.department)
    resp = ctx.client.post(target.url, files=target.files, headers=owner)
    assert resp.status_code == 202, resp.text
    target.method, target.url = "DELETE", f"{API}/imports/{resp.json()['id']}"
    target.body, target.files, target.editor_own = None, None, owner
    target.probes.append(target.url)
    return target


def setup_click(ctx: Ctx) -> Target:
    item = county_item(ctx)
    body = {"q": "护照", "code": item.code}
    return item_target(ctx.session, item, "POST", f"{API}/search/clicks", body)


def setup_checklist(ctx: Ctx) -> Target:
    item = county_item(ctx)
    return item_target(ctx.session, item, "POST", f"{API}/items/{item.code}/checklist", {})


def correction(ctx: Ctx, accepted: bool) -> tuple[Target, str]:
    """A correction of a county item reported (no key), accepted by an admin if asked."""
    target = setup_report(ctx)
    resp = ctx.client.post(target.url, json=target.body)
    assert resp.status_code == 201, resp.text
    ticket = resp.json()["ticket"]
    if accepted:
        resp = ctx.client.post(
            f"{API}/corrections/{ticket}/reply",
            json={"status": "accepted", "reply": "已核实，将予更正"},
            headers=ctx.admin,
        )
        assert resp.status_code == 200, resp.text
    target.probes.append(f"{API}/corrections/{ticket}")
    return target, ticket


def setup_reply(ctx: Ctx) -> Target:
    target, ticket = correction(ctx, accepted=False)
    target.url = f"{API}/corrections/{ticket}/reply"
    target.body = {"status": "accepted", "reply": "已核实，将予更正"}
    return target


def setup_correction_request(ctx: Ctx) -> Target:
    target, ticket = correction(ctx, accepted=True)
    target.url = f"{API}/corrections/{ticket}/change-request"
    target.body = {"submit": False}
    return target


def setup_subscribe(ctx: Ctx) -> Target:
    """A webhook for a county's region (a public address: no allow setting needed)."""
    dept = county_department(ctx)
    body = {
        "url": "https://93.184.215.14/catalogue/hook",
        "secret": "role-matrix-secret-0001",
        "region": dept.region_code,
    }
    return admin_only(ctx, "POST", f"{API}/subscriptions", body, dept, [])


def subscription_action(method: str, action: str, body: Any) -> Callable[[Ctx], Target]:
    def setup(ctx: Ctx) -> Target:
        target = setup_subscribe(ctx)
        resp = ctx.client.post(target.url, json=target.body, headers=ctx.admin)
        assert resp.status_code == 201, resp.text
        target.method, target.body = method, body
        target.url = f"{target.url}/{resp.json()['id']}{action}"
        return target

    setup.__name__ = f"setup_subscription_{method.lower()}{action.replace('/', '_')}"
    return setup


SETUPS: dict[str, Callable[[Ctx], Target]] = {
    "POST /api/v1/items/{code}/checklist": setup_checklist,
    "POST /api/v1/search/clicks": setup_click,
    "POST /api/v1/imports": setup_import,
    "DELETE /api/v1/imports/{import_id}": setup_cancel_import,
    "POST /api/v1/items": setup_post_item,
    "PUT /api/v1/items/{code}": setup_put_item,
    "PATCH /api/v1/items/{code}": setup_patch_item,
    "POST /api/v1/items/{code}/cancel": simple_event("cancel"),
    "POST /api/v1/items/{code}/suspend": simple_event("suspend"),
    "POST /api/v1/items/{code}/resume": simple_event("resume"),
    "POST /api/v1/items/{code}/delegate": setup_delegate,
    "POST /api/v1/items/{code}/accept": setup_accept,
    "POST /api/v1/items/{code}/reclaim": setup_reclaim,
    "POST /api/v1/items/{code}/merge": setup_merge,
    "POST /api/v1/items/{code}/split": setup_split,
    "POST /api/v1/items/{code}/reinstate": simple_event("reinstate"),
    "POST /api/v1/sync/items": setup_bulk,
    "POST /api/v1/catalogue-entries": setup_post_entry,
    "PUT /api/v1/catalogue-entries/{basic_code}": setup_put_entry,
    "POST /api/v1/departments": setup_post_department,
    "PUT /api/v1/departments/{credit_code}": setup_put_department,
    "PUT /api/v1/synonyms": setup_put_synonyms,
    "POST /api/v1/legal-bases": setup_post_legal_basis,
    "PUT /api/v1/legal-bases/{basis_id}": setup_put_legal_basis,
    "POST /api/v1/items/{code}/materials/{material_code}/files": setup_material_file,
    "POST /api/v1/change-requests": setup_propose,
    "PATCH /api/v1/change-requests/{request_id}": setup_edit_request,
    "POST /api/v1/change-requests/{request_id}/submit": request_action("submit", "draft", {}),
    "POST /api/v1/change-requests/{request_id}/withdraw": request_action("withdraw", "draft", {}),
    "POST /api/v1/change-requests/{request_id}/rebase": request_action("rebase", "draft", {}),
    "POST /api/v1/change-requests/{request_id}/approve": request_action("approve", "submitted", {}),
    "POST /api/v1/change-requests/{request_id}/reject": request_action(
        "reject", "submitted", {"reason": "请补充办理时限的依据"}
    ),
    "POST /api/v1/items/{code}/corrections": setup_report,
    "POST /api/v1/corrections/{ticket}/reply": setup_reply,
    "POST /api/v1/corrections/{ticket}/change-request": setup_correction_request,
    "POST /api/v1/subscriptions": setup_subscribe,
    "POST /api/v1/subscriptions/{subscription_id}/replay": subscription_action(
        "POST", "/replay", {"after": 0}
    ),
    "POST /api/v1/subscriptions/{subscription_id}/resume": subscription_action(
        "POST", "/resume", None
    ),
    "DELETE /api/v1/subscriptions/{subscription_id}": subscription_action("DELETE", "", None),
}


# --- the callers -------------------------------------------------------------------


def revoked_key(session: Session) -> dict[str, str]:
    secret = security.create_key(session, name="revoked-admin", role="admin")
    security.revoke_key(session, "revoked-admin")
    session.commit()
    return {"Authorization": f"Bearer {secret}"}


def headers_for(role: str, target: Target, ctx: Ctx) -> dict[str, str]:
    keys = ctx.keys
    if role == "admin":
        return ctx.admin
    if role == "editor_own":
        return target.editor_own or keys.editor(target.department)
    if role == "editor_other":
        return keys.editor(target.other_department)
    if role == "sync_own":
        return keys.sync(target.region)
    if role == "sync_other":
        return keys.sync(target.other_region)
    if role == "revoked":
        return revoked_key(ctx.session)
    if role == "no_key":
        return {}
    if role == "reviewer":
        return keys.make("reviewer", region=target.region)
    raise AssertionError(f"no caller for column {role!r}")


# --- the matrix --------------------------------------------------------------------


def written(ctx: Ctx, target: Target) -> dict[str, Any]:
    """Everything a write could change, as far as a refused one must not."""
    feed = ctx.client.get(f"{API}/changes", params={"after": 0, "limit": 1})
    assert feed.status_code == 200, feed.text
    reads = {}
    for url in target.probes:
        resp = ctx.client.get(url)
        reads[url] = (resp.status_code, resp.text)
    return {
        "counts": counts(ctx.session),
        "review": review_rows(ctx.session),
        "head_seq": feed.json()["head_seq"],
        "reads": reads,
    }


def review_rows(session: Session) -> Any:
    """The change requests and review actions (a refused write must leave none)."""
    requests = session.execute(
        select(
            ChangeRequest.id,
            ChangeRequest.status,
            ChangeRequest.base_version,
            ChangeRequest.note,
            ChangeRequest.updated_at,
        ).order_by(ChangeRequest.id)
    ).all()
    actions = session.execute(select(func.count()).select_from(ReviewAction)).scalar_one()
    return [tuple(r) for r in requests], actions


CELLS = [(op, role) for op in TABLE for role in ACTIVE]


@pytest.mark.parametrize(("op", "role"), CELLS, ids=[f"{op}::{role}" for op, role in CELLS])
def test_role_matrix(
    op: str, role: str, client: TestClient, session: Session, keys: Keys, tmp_path: Path
) -> None:
    expected = TABLE[op][COLUMNS.index(role)]
    ctx = Ctx(client, session, keys, tmp_path)
    target = SETUPS[op](ctx)
    assert op.split(" ", 1)[0] == target.method
    headers = headers_for(role, target, ctx)
    before = written(ctx, target)
    if target.files is not None:
        resp = client.request(target.method, target.url, files=target.files, headers=headers)
    else:
        resp = client.request(target.method, target.url, json=target.body, headers=headers)
    if expected == OK:
        assert 200 <= resp.status_code < 300, f"{role} {op}: {resp.status_code} {resp.text}"
        if target.bulk:
            results = [i["result"] for i in resp.json()["items"]]
            assert results and all(r in ("created", "updated", "unchanged") for r in results), (
                resp.text
            )
        return
    if expected == REJECTED:
        assert resp.status_code == 200, f"{role} {op}: {resp.status_code} {resp.text}"
        items = resp.json()["items"]
        assert items and all(i["result"] == "rejected" and i["errors"] for i in items), resp.text
    else:
        body = problem(resp, expected)
        wanted = {401: Unauthorized.type, 403: Forbidden.type, 404: NotFound.type}[expected]
        assert body["type"] == wanted, body
        assert body["status"] == expected, body
    assert written(ctx, target) == before, f"{role} {op} was refused but wrote something"
