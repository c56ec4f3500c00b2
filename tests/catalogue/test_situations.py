"""Situations (情形引导) and the one-time checklist (一次告知).

The seed's converted items are checked exhaustively against an evaluator written here from
the contract (api.md: a material tied to no option is always required; one tied to several
appears when any is chosen; ``when`` is all / any / not over option ids), not the app's.
"""

from __future__ import annotations

import copy
import csv
import itertools
from datetime import timedelta
from typing import Any

import httpx
import openpyxl
import orjson
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app import clock
from app.catalogue.models import Implementation
from app.catalogue.reads import SessionSnapshots, get_item_json
from app.versionlog import ChangeLog, RecordVersion
from tests.conftest import Keys, build_database
from tests.helpers import API, error_at, problem, run_cli, writable

ID_CARD_FIRST = "000701001001"  # 居民身份证首次申领
PLAIN = "000702001003"  # 补领婚姻登记证: no situations in the seed


def _code(session: Session, basic_code: str) -> str:
    return session.execute(
        select(Implementation.code)
        .where(Implementation.basic_code == basic_code)
        .order_by(Implementation.code)
        .limit(1)
    ).scalar_one()


# --- an evaluator of the contract, independent of app.catalogue.situations ----------


def _holds(cond: Any, chosen: set[str]) -> bool:
    if cond is None:
        return True
    if isinstance(cond, str):
        return cond in chosen
    ((op, arg),) = cond.items()
    if op == "all":
        return all(_holds(c, chosen) for c in arg)
    if op == "any":
        return any(_holds(c, chosen) for c in arg)
    assert op == "not", cond
    return not _holds(arg, chosen)


def _expected(doc: dict[str, Any], chosen: set[str]) -> list[str]:
    return [
        m["code"]
        for m in doc["materials"]
        if (not m.get("options") or chosen & set(m["options"])) and _holds(m.get("when"), chosen)
    ]


def _all_answers(questions: list[dict[str, Any]]) -> list[dict[str, list[str]]]:
    """Every answer set a citizen can give: roots first, follow-ups when revealed."""
    by_id = {q["id"]: q for q in questions}
    revealed = {r for q in questions for o in q["options"] for r in o.get("reveals", [])}

    def picks(q: dict[str, Any]) -> list[list[str]]:
        ids = [o["id"] for o in q["options"]]
        if q.get("multiple"):
            out = [list(c) for n in range(1, len(ids) + 1) for c in itertools.combinations(ids, n)]
        else:
            out = [[i] for i in ids]
        return out if q.get("required", True) else [[], *out]

    def walk(todo: list[str], done: dict[str, list[str]]) -> list[dict[str, list[str]]]:
        if not todo:
            return [done]
        q = by_id[todo[0]]
        results = []
        for pick in picks(q):
            more = [
                r
                for o in q["options"]
                if o["id"] in pick
                for r in o.get("reveals", [])
                if r not in done and r not in todo
            ]
            results += walk(todo[1:] + more, {**done, q["id"]: pick})
        return results

    return walk([q["id"] for q in questions if q["id"] not in revealed], {})


# --- the seed --------------------------------------------------------------------------


def test_id_card_under_sixteen_adds_the_guardians_id(session: Session, client: TestClient) -> None:
    code = _code(session, ID_CARD_FIRST)
    questions = client.get(f"{API}/items/{code}/situations").json()["situations"]
    age = next(q for q in questions if "十六周岁" in q["question"])
    under = next(o["id"] for o in age["options"] if "未满" in o["label"])
    over = next(o["id"] for o in age["options"] if o["id"] != under)
    others = {q["id"]: [q["options"][0]["id"]] for q in questions if q is not age and q["required"]}

    def names(option: str) -> list[str]:
        resp = client.post(
            f"{API}/items/{code}/checklist", json={"answers": {**others, age["id"]: [option]}}
        )
        assert resp.status_code == 200, resp.text
        return [m["name"] for m in resp.json()["materials"]]

    assert "监护人居民身份证" in names(under)
    assert "监护人居民身份证" not in names(over)
    body = problem(client.post(f"{API}/items/{code}/checklist", json={"answers": others}), 422)
    assert error_at(body, ["body", "answers", age["id"]])["type"] == "situation.unanswered"


def test_every_answer_of_every_converted_seed_item(session: Session, client: TestClient) -> None:
    """The checklist is exactly the materials whose condition holds, and never empty."""
    codes = session.execute(
        select(Implementation.code, Implementation.basic_code, Implementation.guide)
    ).all()
    converted = {b: c for c, b, g in codes if g and g.get("situations")}
    assert len(converted) >= 30, f"{len(converted)} entries with situations in the seed"
    checked = 0
    for code in converted.values():
        doc = client.get(f"{API}/items/{code}").json()
        for answers in _all_answers(doc["guide"]["situations"]):
            resp = client.post(f"{API}/items/{code}/checklist", json={"answers": answers})
            assert resp.status_code == 200, (code, answers, resp.text)
            got = [m["code"] for m in resp.json()["materials"]]
            chosen = {o for picked in answers.values() for o in picked}
            assert got == _expected(doc, chosen), (code, answers)
            assert got, (code, answers)
            checked += 1
    assert checked >= 60


# --- a situation written in the test ---------------------------------------------------


def _with_situations(body: dict[str, Any]) -> dict[str, Any]:
    """A 补领/换领 item's questions: kind (补发 reveals why), age; a fee for one kind."""
    body = copy.deepcopy(body)
    body["guide"]["situations"] = [
        {
            "id": "kind",
            "question": "申领类型",
            "options": [
                {"id": "first", "label": "首次申领"},
                {"id": "renew", "label": "换领"},
                {"id": "reissue", "label": "补领", "reveals": ["why"]},
            ],
        },
        {
            "id": "why",
            "question": "补领原因",
            "options": [
                {"id": "lost", "label": "遗失"},
                {"id": "stolen", "label": "被盗"},
                {"id": "damaged", "label": "损毁"},
            ],
        },
        {
            "id": "age",
            "question": "是否年满十六周岁",
            "options": [{"id": "adult", "label": "已满"}, {"id": "minor", "label": "未满"}],
        },
    ]
    body["guide"]["common_situations"] = [
        {
            "name": "成年人遗失补领",
            "answers": {"kind": ["reissue"], "why": ["lost"], "age": ["adult"]},
        }
    ]
    first = body["materials"][0]
    body["materials"] = [
        first,
        {**first, "code": None, "name": "原证", "when": {"any": ["renew", "damaged"]}},
        {**first, "code": None, "name": "报失声明", "options": ["lost", "stolen"]},
        {
            **first,
            "code": None,
            "name": "监护人委托书",
            "when": {"all": ["minor", {"not": "first"}]},
        },
    ]
    body["guide"]["charges_fee"] = True
    body["fees"] = [
        {
            "name": "工本费",
            "standard": "40元",
            "legal_basis": "价格主管部门通知",
            "amount": 40,
            "when": "reissue",
        },
    ]
    return body


@pytest.fixture
def item(session: Session, client: TestClient, keys: Keys) -> tuple[str, dict[str, str]]:
    code = _code(session, PLAIN)
    admin = keys.admin()
    resp = client.put(
        f"{API}/items/{code}", json=_with_situations(writable(client, code)), headers=admin
    )
    assert resp.status_code == 200, resp.text
    return code, admin


def _checklist(client: TestClient, code: str, answers: dict[str, list[str]]) -> dict[str, Any]:
    resp = client.post(f"{API}/items/{code}/checklist", json={"answers": answers})
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_follow_up_questions_fees_and_conditions(client: TestClient, item: tuple) -> None:
    code, _ = item
    lost = _checklist(client, code, {"kind": ["reissue"], "why": ["lost"], "age": ["minor"]})
    assert [m["name"] for m in lost["materials"]][1:] == ["报失声明", "监护人委托书"]
    assert next(m for m in lost["materials"] if m["name"] == "报失声明")["because"] == ["遗失"]
    assert [f["amount"] for f in lost["fees"]] == [40] and lost["fee_total"] == 40
    assert [s["question"] for s in lost["situation"]] == [
        "申领类型",
        "是否年满十六周岁",
        "补领原因",
    ]

    damaged = _checklist(client, code, {"kind": ["reissue"], "why": ["damaged"], "age": ["adult"]})
    assert [m["name"] for m in damaged["materials"]][1:] == ["原证"]
    first = _checklist(client, code, {"kind": ["first"], "age": ["minor"]})
    assert len(first["materials"]) == 1 and first["fees"] == [] and first["fee_total"] == 0

    # a follow-up answered without the option that reveals it, and one left out
    body = problem(
        client.post(
            f"{API}/items/{code}/checklist",
            json={"answers": {"kind": ["first"], "why": ["lost"], "age": ["minor", "adult"]}},
        ),
        422,
    )
    assert error_at(body, ["body", "answers", "why"])["type"] == "situation.not_asked"
    assert error_at(body, ["body", "answers", "age"])["type"] == "situation.single_choice"
    body = problem(
        client.post(f"{API}/items/{code}/checklist", json={"answers": {"kind": ["reissue"]}}), 422
    )
    assert {tuple(e["loc"]) for e in body["errors"]} == {
        ("body", "answers", "why"),
        ("body", "answers", "age"),
    }


def test_situations_are_versioned_and_in_the_feed(
    session: Session, client: TestClient, item: tuple
) -> None:
    code, _ = item
    current = client.get(f"{API}/items/{code}").json()
    assert current["guide"]["situations"][0]["id"] == "kind"
    previous = client.get(f"{API}/items/{code}/versions/{current['version'] - 1}").json()
    assert "situations" not in previous["item"]["guide"]
    diff = client.get(
        f"{API}/items/{code}/diff",
        params={"from": current["version"] - 1, "to": current["version"]},
    ).json()
    assert ["guide", "situations"] in [c["path"][:2] for c in diff["changes"]]
    changes = client.get(f"{API}/changes", params={"after": 0, "limit": 1000})
    last = changes.json()
    while last["changes"]:
        page = last
        last = client.get(
            f"{API}/changes", params={"after": page["last_seq"], "limit": 1000}
        ).json()
    fed = [c for c in page["changes"] if c["code"] == code][-1]["item"]
    assert fed["guide"]["situations"] == current["guide"]["situations"]
    assert fed["materials"][1]["when"] == {"any": ["renew", "damaged"]}
    # as_of a day before the item existed in this form: yesterday's questions (none)
    yesterday = (clock.today() - timedelta(days=1)).isoformat()
    resp = client.get(f"{API}/items/{code}/situations", params={"as_of": yesterday})
    if resp.status_code == 200:  # the seed item existed yesterday
        assert resp.json()["situations"] == []


def test_what_get_returns_is_written_back_unchanged(
    session: Session, client: TestClient, item: tuple, keys: Keys
) -> None:
    code, admin = item
    doc = client.get(f"{API}/items/{code}").json()
    resp = client.post(f"{API}/sync/items", json=[doc], headers=keys.sync("23"))
    assert resp.status_code == 200, resp.text
    assert resp.json()["items"][0]["result"] == "unchanged", resp.text


def test_an_item_without_situations_answers_its_whole_list(
    session: Session, client: TestClient
) -> None:
    code = _code(session, PLAIN)
    doc = client.get(f"{API}/items/{code}").json()
    assert not doc["guide"].get("situations")
    got = _checklist(client, code, {})
    assert [m["code"] for m in got["materials"]] == [m["code"] for m in doc["materials"]]
    body = problem(
        client.post(f"{API}/items/{code}/checklist", json={"answers": {"age": ["x"]}}), 422
    )
    assert error_at(body, ["body", "answers", "age"])["type"] == "situation.unknown_question"


def _refused(client: TestClient, session: Session, code: str, body: dict, headers: dict) -> dict:
    before = (
        session.execute(select(func.count()).select_from(RecordVersion)).scalar_one(),
        session.execute(select(func.count()).select_from(ChangeLog)).scalar_one(),
        client.get(f"{API}/items/{code}").content,
    )
    answer = problem(client.put(f"{API}/items/{code}", json=body, headers=headers), 422)
    after = (
        session.execute(select(func.count()).select_from(RecordVersion)).scalar_one(),
        session.execute(select(func.count()).select_from(ChangeLog)).scalar_one(),
        client.get(f"{API}/items/{code}").content,
    )
    assert before == after, "a refused write changed something"
    return answer


def test_bad_situations_are_refused_with_paths(
    session: Session, client: TestClient, item: tuple
) -> None:
    code, admin = item
    good = _with_situations(writable(client, code))

    bad = copy.deepcopy(good)
    bad["materials"][2]["options"] = ["lost", "missing"]
    bad["materials"][1]["when"] = {"any": ["renew", {"not": "nowhere"}]}
    bad["guide"]["situations"][0]["options"][2]["reveals"] = ["why", "kind"]
    body = _refused(client, session, code, bad, admin)
    assert error_at(body, ["body", "materials", 2, "options", 1])["type"] == (
        "situation.unknown_option"
    )
    assert error_at(body, ["body", "materials", 1, "when", "any", 1, "not"])["type"] == (
        "situation.unknown_option"
    )
    assert (
        error_at(body, ["body", "guide", "situations", 0, "options", 2, "reveals", 1])["type"]
        == "situation.reveals_own"
    )

    empty = copy.deepcopy(good)
    empty["materials"][0]["options"] = ["renew"]  # 首次申领 then needs nothing at all
    body = _refused(client, session, code, empty, admin)
    assert error_at(body, ["body", "materials"])["type"] == "situation.empty_checklist"

    many = copy.deepcopy(good)
    many["guide"]["situations"].append(
        {
            "id": "who",
            "question": "申请人身份（可多选）",
            "multiple": True,
            "options": [{"id": f"who{i}", "label": f"身份{i}"} for i in range(7)],
        }
    )  # 7 (kind, why) × 2 (age) × 127 (who) > 256
    many["materials"].append({**good["materials"][0], "name": "身份证明", "options": ["who0"]})
    body = _refused(client, session, code, many, admin)
    assert error_at(body, ["body", "guide", "situations"])["type"] == (
        "situation.too_many_combinations"
    )

    orphan = copy.deepcopy(good)
    orphan["guide"]["situations"].append(
        {
            "id": "lonely",
            "question": "无关问题",
            "options": [{"id": "l1", "label": "甲"}, {"id": "l2", "label": "乙"}],
        }
    )
    orphan["guide"]["common_situations"][0]["answers"]["kind"] = ["nothing"]
    body = _refused(client, session, code, orphan, admin)
    assert error_at(body, ["body", "guide", "situations", 3])["type"] == "situation.orphan"
    assert (
        error_at(body, ["body", "guide", "common_situations", 0, "answers", "kind", 0])["type"]
        == "situation.unknown_option"
    )

    malformed = copy.deepcopy(good)
    malformed["materials"][1]["when"] = {"either": ["renew"]}
    body = _refused(client, session, code, malformed, admin)
    assert body["errors"][0]["loc"][:4] == ["body", "materials", 1, "when"]


def test_bulk_writes_check_situations_too(
    session: Session, client: TestClient, item: tuple, keys: Keys
) -> None:
    code, _ = item
    doc = client.get(f"{API}/items/{code}").json()
    doc["materials"][2]["options"] = ["missing"]
    resp = client.post(f"{API}/sync/items", json=[doc], headers=keys.sync("23"))
    result = resp.json()["items"][0]
    assert result["result"] == "rejected", result
    assert ["materials", 2, "options", 0] in [e["loc"][-4:] for e in result["errors"]]


# --- the flat sheet (Excel) and the draft from applies_when ---------------------------


def test_the_flat_sheet_proposes_imports_and_exports(own_engine: Any, tmp_path: Any) -> None:
    url = own_engine.url.render_as_string(hide_password=False)
    with Session(own_engine) as session:
        code = _code(session, "000104001000")  # 企业投资项目核准: two applies_when texts
    draft = tmp_path / "draft.csv"
    out = run_cli(url, "situations", "propose", "--code", code, "--out", str(draft))
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(draft.open(encoding="utf-8-sig")))
    with Session(own_engine) as session:
        doc = orjson.loads(get_item_json(SessionSnapshots(session), code)[1])
    texts = {m["applies_when"] for m in doc["materials"] if m.get("applies_when")}
    assert len({r["问题编号"] for r in rows}) == len(texts) >= 2  # equal texts: one question
    for text in texts:
        yes = next(r for r in rows if r["问题"].endswith(text) and r["选项"] == "是")
        wanted = {m["name"] for m in doc["materials"] if m.get("applies_when") == text}
        assert set(yes["所需材料"].split("、")) == wanted

    out = run_cli(url, "situations", "import", str(draft))
    assert out.returncode == 0, out.stdout + out.stderr
    with Session(own_engine) as session:
        after = orjson.loads(get_item_json(SessionSnapshots(session), code)[1])
    assert after["version"] == doc["version"] + 1
    assert [q["id"] for q in after["guide"]["situations"]] == list(
        dict.fromkeys(r["问题编号"] for r in rows)
    )
    again = run_cli(url, "situations", "import", str(draft))
    assert again.returncode == 0 and "changed 0" in again.stdout, again.stdout

    exported = tmp_path / "out.xlsx"
    out = run_cli(url, "situations", "export", "--code", code, "--out", str(exported))
    assert out.returncode == 0, out.stderr
    book = openpyxl.load_workbook(exported)
    sheet_rows = [list(r) for r in book.active.iter_rows(values_only=True)]
    assert sheet_rows[1:] == [[c or None for c in r.values()] for r in rows]

    sheet_rows[1][9] = "不存在的材料"  # 所需材料 of the first option
    book.active.cell(row=2, column=10, value="不存在的材料")
    book.save(exported)
    out = run_cli(url, "situations", "import", str(exported))
    assert out.returncode == 2 and "row 2" in out.stdout and "material.unknown" in out.stdout
    with Session(own_engine) as session:
        assert orjson.loads(get_item_json(SessionSnapshots(session), code)[1]) == after


def test_the_served_checklist_answers_as_the_route_does(tmp_path: Any) -> None:
    """A real server answers the plain checklist before the router (app/catalogue/
    checklist_path.py): the same bytes as the route (reached here with ``as_of`` today),
    and every error still the route's."""
    from bench.common import server

    url = f"sqlite:///{tmp_path}/served.db"
    build_database(url).dispose()  # the seeded template's copy: not the CLI's seed
    with server(url) as port, httpx.Client(base_url=f"http://127.0.0.1:{port}{API}") as c:
        code = c.get("/items", params={"basic_code": ID_CARD_FIRST, "limit": 1}).json()["items"][0][
            "code"
        ]
        questions = c.get(f"/items/{code}/situations").json()["situations"]
        for answers in _all_answers(questions):
            fast = c.post(f"/items/{code}/checklist", json={"answers": answers})
            routed = c.post(
                f"/items/{code}/checklist",
                params={"as_of": clock.today().isoformat()},
                json={"answers": answers},
            )
            assert fast.status_code == routed.status_code == 200
            assert fast.json() == routed.json() and fast.headers["etag"] == routed.headers["etag"]
        bad = c.post(f"/items/{code}/checklist", json={"answers": {}})
        assert bad.status_code == 422 and bad.json()["errors"][0]["type"] == "situation.unanswered"
        assert c.post(f"/items/{code[:-1]}X/checklist", json={}).status_code == 404
        assert (
            c.post(
                f"/items/{code}/checklist",
                content=b"{",
                headers={"content-type": "application/json"},
            ).status_code
            == 422
        )
