"""Every write an admin can make, made three ways on the same item from the same state: the
admin's direct write; an editor's through review, approved; an editor's, rejected. The
approved one publishes what the admin's direct write publishes (all but who, when and
through which channel), the rejected one changes nothing public, and no response of any of
them is a 500. SQLite and PostgreSQL; each run is undone before the next (a savepoint)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import Session

from app import clock
from app.catalogue.models import Implementation
from app.codes.rules import implementation_code
from app.config import get_settings
from app.directory.models import Department
from tests.conftest import Keys
from tests.helpers import API, new_item_body, writable

#: what differs between a direct write and the same write through review: who, when, how
VARYING = {"updated_at", "created_at", "updated_by", "recorded_at", "key", "approved_by"}
VARYING_META = VARYING | {"channel", "change_request", "id", "seq"}


@dataclass
class Write:
    """One write as an admin makes it directly, and as an editor proposes it."""

    method: str
    url: str
    body: dict[str, Any]
    kind: str
    #: the item the write is about (None: a new item)
    item: str | None
    #: the departments of the editor who proposes it
    departments: list[str]
    #: items whose public representation the write may change
    watched: list[str]
    regions: list[str]
    #: a catalogue entry the write changes (an alias)
    entry: str | None = None
    #: the editor proposes through POST /change-requests (no direct write of their own)
    request: dict[str, Any] | None = None


@dataclass
class Ctx:
    client: TestClient
    session: Session
    admin: dict[str, str]
    reviewer: dict[str, str]
    keys: Keys
    #: the last editor's key
    editor_secret: str = ""
    #: every response seen, for the check that none was a 500
    seen: list[tuple[str, str, int]] = field(default_factory=list)

    def call(self, method: str, url: str, **kw: Any) -> Any:
        resp = self.client.request(method, url, **kw)
        self.seen.append((method, url, resp.status_code))
        assert resp.status_code < 500, f"{method} {url}: {resp.status_code} {resp.text}"
        return resp


# --- the items the writes are made on -------------------------------------------------


def _city_item(session: Session, nth: int = 0) -> Implementation:
    """A city item in use (哈尔滨), with materials, windows and process steps."""
    return (
        session.execute(
            select(Implementation)
            .where(Implementation.status == "1", Implementation.region_code == "230100")
            .order_by(Implementation.code)
            .offset(nth)
        )
        .scalars()
        .first()
    )


def _today(**extra: Any) -> dict[str, Any]:
    return {
        "decision": {"number": "哈政规〔2026〕7号", "title": "关于调整市级政务服务事项的决定"},
        "reason": "优化营商环境",
        "effective_date": clock.today().isoformat(),
        **extra,
    }


def _edit(ctx: Ctx, change: Callable[[dict[str, Any]], None], *, put: bool = False) -> Write:
    """An edit of the city item: a PUT of the whole item, or a PATCH of the guide."""
    item = _city_item(ctx.session)
    doc = writable(ctx.client, item.code)
    after = copy.deepcopy(doc)
    change(after)
    after["change_note"] = "按实际办理情况更新"
    body = after if put else {"guide": after["guide"], "change_note": after["change_note"]}
    return Write(
        "PUT" if put else "PATCH",
        f"{API}/items/{item.code}",
        body,
        "edit",
        item.code,
        [item.department_code],
        [item.code],
        [item.region_code],
    )


def _window(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "address": "哈尔滨市南岗区长江路368号",
        "hours": "周一至周五 9:00-17:00",
        "phone": "0451-82304067",
    }


def _add_material(doc: dict[str, Any]) -> None:
    material = {k: v for k, v in doc["materials"][0].items() if k not in ("code", "position")}
    doc["materials"].append({**material, "name": "房屋租赁合同"})


def _add_fee(doc: dict[str, Any]) -> None:
    doc["fees"].append(
        {"name": "工本费", "standard": "每证10元", "legal_basis": "黑价联〔2026〕1号", "amount": 10}
    )
    doc["guide"]["charges_fee"] = True


def _with_fee(ctx: Ctx) -> Write:
    """Removing a fee: the item gets one first (directly), then it is removed."""
    item = _city_item(ctx.session)
    doc = writable(ctx.client, item.code)
    _add_fee(doc)
    ctx.call("PUT", f"{API}/items/{item.code}", json=doc, headers=ctx.admin).raise_for_status()

    def remove(d: dict[str, Any]) -> None:
        d["fees"] = d["fees"][:-1]
        d["guide"]["charges_fee"] = bool(d["fees"])

    return _edit(ctx, remove, put=True)


def _situations(doc: dict[str, Any]) -> None:
    """A question more, and a material only its answer requires."""
    doc["guide"].setdefault("situations", []).append(
        {
            "id": "agent",
            "question": "是否委托他人代办",
            "required": False,
            "options": [
                {"id": "by_agent", "label": "委托他人代办"},
                {"id": "in_person", "label": "本人办理"},
            ],
        }
    )
    material = {k: v for k, v in doc["materials"][0].items() if k not in ("code", "position")}
    doc["materials"].append({**material, "name": "授权委托书", "options": ["by_agent"]})


def _steps_added(doc: dict[str, Any]) -> None:
    doc["guide"]["process"].append({"name": "领取证件", "channel": "offline"})


def _create(ctx: Ctx) -> Write:
    dept = ctx.session.get(Department, _city_item(ctx.session).department_code)
    body = new_item_body(ctx.session, ctx.client, dept)
    body["change_note"] = "新增事项"
    code = implementation_code(dept.credit_code, dept.level, body["basic_code"])
    return Write(
        "POST", f"{API}/items", body, "create", None, [dept.credit_code], [code], [dept.region_code]
    )


def _event(ctx: Ctx, kind: str, code: str, body: dict[str, Any], **more: Any) -> Write:
    item = ctx.session.get(Implementation, code)
    return Write(
        "POST",
        f"{API}/items/{code}/{kind}",
        body,
        kind,
        code,
        more.pop("departments", [item.department_code]),
        [code, *more.pop("watched", [])],
        [item.region_code, *more.pop("regions", [])],
        **more,
    )


def _county_department(ctx: Ctx, item: Implementation) -> Department:
    """A county department of the item's city that does not implement its entry."""
    for dept in ctx.session.execute(
        select(Department)
        .where(Department.level == "4", Department.region_code.startswith(item.region_code[:4]))  # type: ignore[attr-defined]
        .order_by(Department.credit_code)
    ).scalars():
        code = implementation_code(dept.credit_code, dept.level, item.basic_code)
        if ctx.session.get(Implementation, code) is None:
            return dept
    raise AssertionError("the seed has no county department to delegate to")


def _delegation(ctx: Ctx) -> tuple[Implementation, Department, dict[str, Any]]:
    item = _city_item(ctx.session)
    dept = _county_department(ctx, item)
    body = _today(
        mode="delegate",
        handover_date=clock.today().isoformat(),
        to=[{"department": dept.credit_code, "region": dept.region_code}],
    )
    return item, dept, body


def _delegate(ctx: Ctx) -> Write:
    item, dept, body = _delegation(ctx)
    new = implementation_code(dept.credit_code, dept.level, item.basic_code)
    return _event(ctx, "delegate", item.code, body, watched=[new], regions=[dept.region_code])


def _delegated(ctx: Ctx) -> tuple[Implementation, Department, str]:
    item, dept, body = _delegation(ctx)
    resp = ctx.call("POST", f"{API}/items/{item.code}/delegate", json=body, headers=ctx.admin)
    assert resp.status_code == 200, resp.text
    return item, dept, resp.json()["created"][0]


def _accept(ctx: Ctx) -> Write:
    item, dept, new = _delegated(ctx)
    body = _today(guide={"windows": [_window("南岗区政务服务中心综合窗口")]})
    return _event(ctx, "accept", new, body, departments=[dept.credit_code], watched=[item.code])


def _reclaim(ctx: Ctx) -> Write:
    item, dept, new = _delegated(ctx)
    return _event(ctx, "reclaim", item.code, _today(), watched=[new], regions=[dept.region_code])


def _after(ctx: Ctx, kind: str, then: str) -> Write:
    """``then`` on the city item after an admin's ``kind`` today (resume after suspend…)."""
    item = _city_item(ctx.session)
    resp = ctx.call("POST", f"{API}/items/{item.code}/{kind}", json=_today(), headers=ctx.admin)
    assert resp.status_code == 200, resp.text
    return _event(ctx, then, item.code, _today())


def _merge(ctx: Ctx) -> Write:
    item = _city_item(ctx.session)
    other = (
        ctx.session.execute(
            select(Implementation)
            .where(
                Implementation.department_code == item.department_code,
                Implementation.status == "1",
                Implementation.code != item.code,
            )
            .order_by(Implementation.code)
        )
        .scalars()
        .first()
    )
    assert other is not None, "the seed has no department with two items in use"
    return _event(ctx, "merge", item.code, _today(into=other.code), watched=[other.code])


def _split(ctx: Ctx) -> Write:
    item = _city_item(ctx.session)
    dept = ctx.session.get(Department, item.department_code)
    parts = [new_item_body(ctx.session, ctx.client, dept, nth) for nth in (0, 1)]
    new = [implementation_code(dept.credit_code, dept.level, p["basic_code"]) for p in parts]
    return _event(ctx, "split", item.code, _today(into=parts), watched=new)


def _alias(ctx: Ctx) -> Write:
    item = _city_item(ctx.session)
    entry = ctx.call("GET", f"{API}/catalogue-entries/{item.basic_code}").json()
    entry["aliases"] = [*entry.get("aliases", []), "小本本证明"]
    return Write(
        "PUT",
        f"{API}/catalogue-entries/{item.basic_code}",
        entry,
        "alias",
        item.code,
        [item.department_code],
        [item.code],
        [item.region_code],
        entry=item.basic_code,
        request={"item": item.code, "kind": "alias", "body": {"aliases": ["小本本证明"]}},
    )


def _edits() -> dict[str, Callable[[Ctx], Write]]:
    def guide(change: Callable[[dict[str, Any]], None]) -> Callable[[Ctx], Write]:
        return lambda ctx: _edit(ctx, change)

    def whole(change: Callable[[dict[str, Any]], None]) -> Callable[[Ctx], Write]:
        return lambda ctx: _edit(ctx, change, put=True)

    def scalars(d: dict[str, Any]) -> None:
        g = d["guide"]
        g["visits"] = 2 if g["visits"] != 2 else 1
        g["online"]["available"] = not g["online"]["available"]
        g["promised_time_limit"] = {"value": 3, "unit": "working_days", "note": "材料齐全的"}
        g["conditions"].append("申请人材料真实有效")

    def window_changed(d: dict[str, Any]) -> None:
        d["guide"]["windows"][0]["phone"] = "0451-82304068"

    return {
        "edit-guide-scalars": guide(scalars),
        "edit-add-material": whole(_add_material),
        "edit-remove-material": whole(lambda d: d["materials"].pop()),
        "edit-add-fee": whole(_add_fee),
        "edit-remove-fee": _with_fee,
        "edit-add-window": guide(
            lambda d: d["guide"]["windows"].append(_window("南岗区户政服务大厅"))
        ),
        "edit-remove-window": guide(lambda d: d["guide"]["windows"].pop()),
        "edit-change-window": guide(window_changed),
        "edit-add-step": guide(_steps_added),
        "edit-remove-step": guide(lambda d: d["guide"]["process"].pop()),
        "edit-add-situations": whole(_situations),
        "edit-consultation": guide(
            lambda d: d["guide"].update(consultation=[{"phone": "0451-12345", "note": "工作日"}])
        ),
        "edit-faq": guide(
            lambda d: d["guide"].update(
                faq=[*d["guide"].get("faq", []), {"question": "可以代办吗？", "answer": "可以。"}]
            )
        ),
    }


CASES: dict[str, Callable[[Ctx], Write]] = {
    "create": _create,
    **_edits(),
    "cancel": lambda ctx: _event(ctx, "cancel", _city_item(ctx.session).code, _today()),
    "suspend": lambda ctx: _event(ctx, "suspend", _city_item(ctx.session).code, _today()),
    "resume": lambda ctx: _after(ctx, "suspend", "resume"),
    "reinstate": lambda ctx: _after(ctx, "cancel", "reinstate"),
    "delegate": _delegate,
    "accept": _accept,
    "reclaim": _reclaim,
    "merge": _merge,
    "split": _split,
    "alias": _alias,
}


# --- running a write three ways ---------------------------------------------------------


@contextmanager
def undone(session: Session) -> Iterator[None]:
    """Whatever happens inside is rolled back: a savepoint of the test's connection, around
    the session's own (each request commits the session's savepoint, not this one)."""
    session.commit()
    savepoint = session.bind.begin_nested()  # type: ignore[union-attr]
    try:
        yield
    finally:
        session.rollback()
        savepoint.rollback()
        session.expire_all()


def _plain(value: Any, drop: set[str] = VARYING) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v, drop) for k, v in value.items() if k not in drop}
    if isinstance(value, list):
        return [_plain(v, drop) for v in value]
    return value


def public(ctx: Ctx, w: Write, head: int | None = None) -> dict[str, Any]:
    """Everything public the write may change: the items, the feed after ``head``, the
    regions' digests, the entry, the last version's record of each item."""
    out: dict[str, Any] = {}
    for code in w.watched:
        resp = ctx.call("GET", f"{API}/items/{code}")
        out[code] = (resp.status_code, _plain(resp.json()) if resp.status_code == 200 else None)
        versions = ctx.call("GET", f"{API}/items/{code}/versions")
        if versions.status_code == 200:
            out[f"{code}/versions"] = _plain(versions.json()["items"], VARYING_META)
    changes = ctx.call("GET", f"{API}/changes", params={"after": head or 0, "limit": 1000}).json()
    out["head_seq"] = changes["head_seq"]
    if head is not None:
        out["changes"] = _plain(changes["changes"], VARYING_META)
    for region in w.regions:
        out[f"digest/{region}"] = ctx.call(
            "GET", f"{API}/sync/digest", params={"region": region}
        ).json()
    if w.entry:
        out["entry"] = _plain(ctx.call("GET", f"{API}/catalogue-entries/{w.entry}").json())
    return out


def direct(ctx: Ctx, w: Write) -> Any:
    resp = ctx.call(w.method, w.url, json=w.body, headers=ctx.admin)
    assert resp.status_code in (200, 201), resp.text
    return resp


def as_request(w: Write) -> dict[str, Any]:
    """The write as the body of POST /change-requests."""
    if w.request is not None:
        return w.request
    note = w.body.get("change_note")
    if w.kind == "create":
        return {"kind": "create", "body": w.body, "note": note}
    if w.kind == "edit":
        return {"item": w.item, "kind": "edit", w.method == "PUT" and "body" or "patch": w.body,
                "note": note}  # fmt: skip
    return {"item": w.item, "kind": w.kind, "body": w.body}


def through_review(ctx: Ctx, w: Write, decision: str, *, drafted: bool) -> dict[str, Any]:
    """The editor proposes the write (``drafted``: a draft made with POST /change-requests
    and submitted; else the editor's direct write, which becomes a submitted request), the
    reviewer decides; the request is read by both at each step (its diff computed)."""
    editor = ctx.keys.editor(*w.departments)
    ctx.editor_secret = editor["Authorization"]
    if not drafted and w.request is None:
        proposed = ctx.call(w.method, w.url, json=w.body, headers=editor)
        assert proposed.status_code == 202, proposed.text
        assert proposed.json()["status"] == "submitted"
    else:
        proposed = ctx.call("POST", f"{API}/change-requests", json=as_request(w), headers=editor)
        assert proposed.status_code == 201, proposed.text
        url = f"{API}/change-requests/{proposed.json()['id']}"
        assert ctx.call("POST", f"{url}/submit", headers=editor).status_code == 200
    cr = proposed.json()
    assert cr["kind"] == w.kind
    url = f"{API}/change-requests/{cr['id']}"
    for headers in (editor, ctx.reviewer):
        read = ctx.call("GET", url, headers=headers)
        assert read.status_code == 200, read.text
        assert all(c["label"] for c in read.json()["diff"])
    ctx.call("GET", f"{API}/change-requests", params={"status": "submitted"}, headers=ctx.reviewer)
    body = {"reason": "请补充依据"} if decision == "reject" else {}
    decided = ctx.call("POST", f"{url}/{decision}", json=body, headers=ctx.reviewer)
    assert decided.status_code == 200, decided.text
    out = decided.json()
    assert out["status"] == decision + "d" if decision == "approve" else "rejected"
    for headers in (editor, ctx.reviewer):
        assert ctx.call("GET", url, headers=headers).status_code == 200
    return out


@pytest.mark.parametrize("case", list(CASES))
def test_review_publishes_what_a_direct_write_publishes(
    case: str, client: TestClient, session: Session, keys: Keys
) -> None:
    province = get_settings().province
    ctx = Ctx(client, session, keys.admin(), keys.make("reviewer", region=province), keys)
    w = CASES[case](ctx)
    before = public(ctx, w)
    head = before["head_seq"]

    with undone(session):
        resp = direct(ctx, w)
        created = resp.json().get("created") or []
        w.watched += [c for c in created if c not in w.watched]
        by_admin = public(ctx, w, head)
        assert by_admin["head_seq"] > head
    assert public(ctx, w) == public_before(before, ctx, w)  # the direct write is undone

    with undone(session):
        rejected = through_review(ctx, w, "reject", drafted=False)
        assert rejected["published"] is None
        assert public(ctx, w) == public_before(before, ctx, w)
        # the author corrects it (a draft again), submits it once more, then withdraws it
        url = f"{API}/change-requests/{rejected['id']}"
        author = {"Authorization": ctx.editor_secret}
        fix = {k: v for k, v in as_request(w).items() if k in ("body", "patch")}
        edited = ctx.call("PATCH", url, json={**fix, "note": "已补充依据"}, headers=author)
        assert edited.status_code == 200 and edited.json()["status"] == "draft", edited.text
        for action in ("submit", "withdraw"):
            assert ctx.call("POST", f"{url}/{action}", headers=author).status_code == 200
        assert ctx.call("GET", url, headers=ctx.reviewer).json()["diff"] == []
        assert public(ctx, w) == public_before(before, ctx, w)

    with undone(session):
        approved = through_review(ctx, w, "approve", drafted=True)
        assert approved["published"] is not None
        if w.kind in ("create", "edit", "alias"):
            assert approved["diff"], "an approved request shows what it published"
        by_review = public(ctx, w, head)
        # the digests hash the stored representations, which carry who and when
        assert _plain(by_review, {"hash"}) == _plain(by_admin, {"hash"})
        if w.kind != "alias":
            code = approved["published"]["code"]
            meta = ctx.call("GET", f"{API}/items/{code}/versions").json()["items"]
            mine = [m for m in meta if m.get("change_request") == approved["id"]]
            assert mine and all(m["channel"] == "review" for m in mine)
            assert all(m["approved_by"] == approved["decided_by"] for m in mine)
            version = approved["published"]["version"]
            if version > 1:
                diff = ctx.call(
                    "GET", f"{API}/items/{code}/diff", params={"from": version - 1, "to": version}
                )
                assert diff.status_code == 200
                assert all(c["label"] for c in diff.json()["changes"])

    assert all(status < 500 for _, _, status in ctx.seen)


def public_before(before: dict[str, Any], ctx: Ctx, w: Write) -> dict[str, Any]:
    """``before`` with the items the direct write created (absent then and now)."""
    out = dict(before)
    for code in w.watched:
        if code not in out:
            resp = ctx.call("GET", f"{API}/items/{code}")
            out[code] = (resp.status_code, None)
    return out


#: a cancelled item takes no other write while its reinstatement waits
OVERTAKEN = [c for c in CASES if c not in ("create", "alias", "reinstate")]


@pytest.mark.parametrize("case", OVERTAKEN)
def test_a_request_overtaken_by_another_write_is_rebased_then_approved(
    case: str, client: TestClient, session: Session, keys: Keys
) -> None:
    """Another version of the item is published while the request waits: approval answers
    409 change-request-stale, the author's rebase brings the request onto it (or answers a
    conflict by its paths), and then it is approved. No 500 on the way."""
    province = get_settings().province
    ctx = Ctx(client, session, keys.admin(), keys.make("reviewer", region=province), keys)
    w = CASES[case](ctx)
    editor = keys.editor(*w.departments)
    proposed = ctx.call("POST", f"{API}/change-requests", json=as_request(w), headers=editor)
    assert proposed.status_code == 201, proposed.text
    url = f"{API}/change-requests/{proposed.json()['id']}"
    assert ctx.call("POST", f"{url}/submit", headers=editor).status_code == 200

    other = ctx.call(
        "PATCH", f"{API}/items/{w.item}", json={"local_code": "HRB-0001"}, headers=ctx.admin
    )
    assert other.status_code == 200, other.text
    stale = ctx.call("POST", f"{url}/approve", headers=ctx.reviewer)
    assert stale.status_code == 409 and stale.json()["type"].endswith("change-request-stale")
    assert ctx.call("GET", url, headers=ctx.reviewer).status_code == 200

    rebased = ctx.call("POST", f"{url}/rebase", headers=editor)
    assert rebased.status_code == 200, rebased.text
    assert rebased.json()["base_version"] == other.json()["version"]
    approved = ctx.call("POST", f"{url}/approve", headers=ctx.reviewer)
    assert approved.status_code == 200, approved.text
    assert client.get(f"{API}/items/{w.item}").json()["local_code"] == "HRB-0001"


def test_a_request_and_a_later_version_changing_the_same_field_conflict(
    client: TestClient, session: Session, keys: Keys
) -> None:
    """Rebase refuses a field both changed (409 rebase-conflict at its path), not a 500."""
    province = get_settings().province
    ctx = Ctx(client, session, keys.admin(), keys.make("reviewer", region=province), keys)
    w = CASES["edit-change-window"](ctx)
    editor = keys.editor(*w.departments)
    proposed = ctx.call("POST", f"{API}/change-requests", json=as_request(w), headers=editor)
    url = f"{API}/change-requests/{proposed.json()['id']}"
    guide = writable(client, w.item)["guide"]
    guide["windows"][0]["phone"] = "0451-82304069"
    other = ctx.call("PATCH", f"{API}/items/{w.item}", json={"guide": guide}, headers=ctx.admin)
    assert other.status_code == 200, other.text
    conflict = ctx.call("POST", f"{url}/rebase", headers=editor)
    assert conflict.status_code == 409 and conflict.json()["type"].endswith("rebase-conflict")
    assert ["body", "guide", "windows"] in [e["loc"] for e in conflict.json()["errors"]]
