"""Every problem a page can show is said in zh-Hans, zh-Hant and English, naming the field by
its label (app/wording/problems.py): the catalogue is checked against every rule and problem
type found in app/ (and every pydantic error the input models can raise), every message
that carries values is read for them, and real refusals read in Chinese on the pages."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

import app.main  # noqa: F401 (every module, so every DomainError subclass, is imported)
from app.catalogue.lifecycle import EVENT_MODELS
from app.catalogue.models import Implementation
from app.catalogue.schemas import ImplementationIn
from app.catalogue.statuses import STATUS_LABELS_EN
from app.corrections.schemas import CorrectionIn, ReplyIn, ToChangeRequestIn
from app.directory.models import Department, Region
from app.errors import DomainError
from app.fields import RULES as TEXT_RULES
from app.http.rate_limits import RateLimiter
from app.pages.conditions import parse
from app.review.models import AliasProposal
from app.wording import i18n, problems
from app.wording.i18n import Lang
from app.wording.problems import Problem
from tests.conftest import Keys
from tests.pages.test_pages import _html, csrf_of, sign_in

APP = Path(__file__).resolve().parents[2] / "app"
CJK = re.compile(r"[\u4e00-\u9fff]")
#: what the pages submit: the models whose pydantic errors a page can show
INPUT_MODELS = (
    ImplementationIn,
    *EVENT_MODELS.values(),
    AliasProposal,
    CorrectionIn,
    ReplyIn,
    ToChangeRequestIn,
)
#: calls that name a rule by their first argument (codes, webhook addresses, import files)
RULE_FIRST = {"CodeError", "AddressRefused", "FileRefused", "PydanticCustomError"}
#: a placeholder for a value in a message: digits satisfy every reading pattern's class
VALUE = "230103"


def _domain_errors() -> dict[str, type[DomainError]]:
    found, todo = {}, [DomainError]
    while todo:
        cls = todo.pop()
        found[cls.__name__] = cls
        todo += cls.__subclasses__()
    return found


ERRORS = _domain_errors()


def _const(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _sample(node: ast.AST) -> str | None:
    """The message a call site writes, its values replaced by :data:`VALUE`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for v in node.values:
            if isinstance(v, ast.Constant):
                parts.append(str(v.value))
            else:
                parts.append(repr(VALUE) if v.conversion == ord("r") else VALUE)
        return "".join(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _sample(node.left), _sample(node.right)
        return left + right if left is not None and right is not None else None
    return None


def _type_of(node: ast.AST) -> str | None:
    """A problem's ``type=``: a constant, or a prefix and a variable part (``item-…``)."""
    if isinstance(node, ast.BinOp) and _const(node.left):
        return f"{_const(node.left)}{VALUE}"
    return _sample(node)


def scanned() -> tuple[set[str], list[tuple[str, str, str]]]:
    """Every rule and problem type app/ names, and (rule, message, where) of each call site
    whose message can be read."""
    rules: set[str] = set()
    messages: list[tuple[str, str, str]] = []
    for path in sorted(APP.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            where = f"{path.relative_to(APP.parent)}:{node.lineno}"
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            rule = msg = None
            if name in ("field", "field_error") and len(node.args) >= 3:
                rule, msg = _const(node.args[2]), node.args[1]
            elif name in RULE_FIRST and node.args:
                rule, msg = _const(node.args[0]), node.args[1] if len(node.args) > 1 else None
            elif name == "Problem" and _const(node.args[0] if node.args else None):
                rule = _const(node.args[0])  # a page's own problem (405)
            elif name == "ImportLimit" and _const(node.args[0] if node.args else None):
                rule = f"import.{_const(node.args[0])}"
            elif name == "_row_error" and len(node.args) >= 4:
                rule, msg = f"situation_sheet.{_const(node.args[2])}", node.args[3]
            elif name == "check" and len(node.args) == 4 and _const(node.args[2]):
                rule = f"code_list.{_const(node.args[2])}"  # CodeLists.check(errors, loc, list)
            elif name in ERRORS:
                kind = next((_type_of(k.value) for k in node.keywords if k.arg == "type"), None)
                cls = ERRORS[name]
                rule = kind or problems.problem_type(cls.__new__(cls))
                if name == "PageProblem" and node.args:
                    rule = f"http.{node.args[0].value}"  # type: ignore[attr-defined]
                msg = node.args[1] if name == "PageProblem" and len(node.args) > 1 else None
                msg = msg or (node.args[0] if node.args else None)
            for k in node.keywords:
                if k.arg == "custom_error_type" and _const(k.value):
                    rules.add(str(_const(k.value)))
            if rule:
                rules.add(rule)
                sample = _sample(msg) if msg is not None else None
                if sample is not None and name == "PydanticCustomError":
                    sample = re.sub(r"\{\w+\}", VALUE, sample)  # pydantic fills its ctx in
                if sample is not None:
                    messages.append((rule, sample, where))
        for node in ast.walk(ast.parse(path.read_text())):  # {"loc": …, "type": "…"} entries
            if isinstance(node, ast.Dict):
                keys = [_const(k) for k in node.keys]
                if "loc" in keys and "type" in keys and _const(node.values[keys.index("type")]):
                    rules.add(str(_const(node.values[keys.index("type")])))
    rules |= set(TEXT_RULES) | {f"item-{s}" for s in STATUS_LABELS_EN.values()}
    rules |= {f"http.{c.status}" for c in ERRORS.values() if c.type == "about:blank"}
    rules -= {"rule", "about:blank"}  # a variable's name, DomainError's own default
    return rules, messages


_CORE = {
    "str": ("string_type", "string_unicode"),
    "int": ("int_type", "int_parsing", "int_from_float", "int_parsing_size"),
    "float": ("float_type", "float_parsing"),
    "bool": ("bool_type", "bool_parsing"),
    "date": ("date_type", "date_parsing", "date_from_datetime_parsing"),
    "datetime": ("datetime_type", "datetime_parsing", "datetime_from_date_parsing"),
    "list": ("list_type",),
    "dict": ("dict_type",),
    "literal": ("literal_error",),
    "enum": ("enum",),
    "model": ("model_type",),
    "model-fields": ("model_attributes_type", "missing"),
    "typed-dict": ("dict_type", "missing"),
    "tagged-union": ("union_tag_invalid", "union_tag_not_found"),
    "function-after": ("value_error", "assertion_error"),
    "function-before": ("value_error", "assertion_error"),
    "function-wrap": ("value_error", "assertion_error"),
    "decimal": ("decimal_type", "decimal_parsing"),
}
_LIMITS = {
    "max_length": "too_long",
    "min_length": "too_short",
    "pattern": "string_pattern_mismatch",
    "gt": "greater_than",
    "ge": "greater_than_equal",
    "lt": "less_than",
    "le": "less_than_equal",
    "multiple_of": "multiple_of",
}


def pydantic_types(schema: Any, found: set[str]) -> set[str]:
    """The error types pydantic can raise validating ``schema`` (a core schema)."""
    if isinstance(schema, list):
        for s in schema:
            pydantic_types(s, found)
    if not isinstance(schema, dict):
        return found
    kind = schema.get("type") if isinstance(schema.get("type"), str) else None
    found.update(_CORE.get(kind or "", ()))
    for key, error in _LIMITS.items():
        if key in schema and kind in ("str", "int", "float", "list", "decimal"):
            found.add(f"string_{error}" if kind == "str" and error.startswith("too") else error)
    if (
        schema.get("extra_behavior") == "forbid"
        or (schema.get("config") or {}).get("extra_fields_behavior") == "forbid"
    ):
        found.add("extra_forbidden")
    for key, value in schema.items():
        if key not in ("metadata", "serialization"):
            pydantic_types(value, found)
    return found


RULES, MESSAGES = scanned()
PYDANTIC = set().union(*(pydantic_types(m.__pydantic_core_schema__, set()) for m in INPUT_MODELS))


def test_the_scan_finds_what_the_pages_show() -> None:
    """The enumeration itself: the rules of the issue's examples are among those found."""
    for rule in (
        "guide.charges_fee",
        "implementation.region",
        "situation.unanswered",
        "rate-limited",
        "situation.condition",
        "code_list.levels",
        "credit_code.check_digit",
        "four-same",
        "change-request-state",
        "http.413",
        "http.405",
        "item-cancelled",
        "text.bidi",
    ):
        assert rule in RULES, rule
    assert {"missing", "string_too_long", "literal_error", "greater_than_equal"} <= PYDANTIC
    assert len(MESSAGES) > 150


@pytest.mark.parametrize("rule", sorted(RULES | PYDANTIC))
def test_every_problem_type_has_its_words_in_three_languages(rule: str) -> None:
    assert problems.known(rule), f"no wording for {rule!r} in app/pages/problem_*.py"
    wording = problems.wording(rule)[:-1]  # less the generic fallback
    last = wording[-1]
    assert last.read is None, f"{rule}: its last wording must read nothing (always said)"
    for say in wording:
        assert CJK.search(say.hans) and not CJK.search(say.en.replace("{field}", "")), say
        for text in (say.hans, say.en):  # only the parameters its reading or ctx give
            names = set(re.findall(r"\{(\w+)\}", text)) - {"field"}
            given = set(say.read.groupindex) if say.read else set()
            extra = {"minutes"} if rule == "rate-limited" else set()  # from its retry_after
            assert names <= given | extra, f"{rule}: {text} needs what it does not read"
    at = ["body", "guide", "charges_fee"]
    for problem in (Problem(rule, "", at), Problem(rule, "", ())):
        hans, hant, en = (problem.text(lang) for lang in (Lang.HANS, Lang.HANT, Lang.EN))
        assert CJK.search(hans) and CJK.search(hant) and en, rule
        assert not CJK.search(en), f"{rule}: the English says {en!r}"
        assert hant == i18n.to_traditional(hans)


#: the call sites whose message carries a value
VALUED = [m for m in MESSAGES if VALUE in m[1]]


@pytest.mark.parametrize(("rule", "msg", "where"), VALUED, ids=[m[2] for m in VALUED])
def test_a_message_that_carries_values_is_read(rule: str, msg: str, where: str) -> None:
    """A message naming a value (a department, a region, a limit, a question) is read by its
    rule's wording, so that the page says the value, unless the value is listed as one a
    reader does not need (:data:`UNREAD`)."""
    read = any(say.read.search(msg) for say in problems.wording(rule) if say.read is not None)
    exempt = rule in UNREAD and (UNREAD[rule] is None or msg.startswith(UNREAD[rule]))
    assert read or exempt, f"{where}: {rule} does not read {msg!r}"


#: values a reader does not need (what was typed, key names, a parser's words) and the
#: refusals only the API meets (no page shows them): said without their values
UNREAD: dict[str, tuple[str, ...] | None] = {
    "credit_code.format": None,
    "credit_code.check_digit": None,
    "credit_code.organisation_check_digit": None,
    "basic_code.layout": None,
    "region_code.layout": None,
    "implementation_code.level": ("level digit",),
    "correction.field": None,
    "correction-no-suggestion": None,
    "change_request.item": None,
    "url.invalid": None,
    "search-unavailable": None,
    "validation": None,
    "read_only": None,  # the value is the field's name, said by its label
    "not-found": ("no code list", "no shared material", "no subscription", "no key", "no import"),
    "out-of-scope": ("key ", "role "),
    # the API's own: keys, bulk writes, imports
    "role": None,
    "scope": None,
    "unique": None,
    "idempotency-key-reused": None,
    "json": None,
    "import-finished": None,
    "rate-limited": ("this key has",),  # an import's: its wait is read from retry_after
    **{
        r: None
        for r in ("import.media_type", "import.sheet", "import.zip", "import.xml", "import.csv")
    },
    **{r: None for r in ("import.encoding", "import.profile", "import.format")},
}


# --- pages --------------------------------------------------------------------------------

ID_CARD = "000701001001"  # 居民身份证首次申领: the seed's questions age and photo
NANGANG_POLICE = "11230103MBUYEQ7D4B"  # 哈尔滨市公安局南岗分局
DAOLI = "230102"


def _item(session: Session, basic_code: str, region: str) -> str:
    return session.execute(
        select(Implementation.code).where(
            Implementation.basic_code == basic_code, Implementation.region_code == region
        )
    ).scalar_one()


def _form_post(client: TestClient, path: str, pairs: list[tuple[str, str]]) -> Any:
    return client.post(
        path,
        content=urlencode(pairs),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )


def _edit_form(client: TestClient, code: str) -> list[tuple[str, str]]:
    from tests.pages.test_edit_situations import form_of

    return form_of(_html(client.get(f"/editor/items/{code}/edit")))


def _with(pairs: list[tuple[str, str]], **replace: list[str]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in pairs if k not in replace] + [
        (k, v) for k, values in replace.items() for v in values
    ]


def test_charges_fee_is_said_by_its_label_in_each_language(
    client: TestClient, keys: Keys, session: Session, passport: str
) -> None:
    sign_in(client, keys.editor(passport[:18]))
    pairs = _edit_form(client, passport)
    assert ("guide.charges_fee", "on") in pairs  # the passport lists fees
    unticked = [(k, v) for k, v in pairs if k != "guide.charges_fee"]
    page = _html(_form_post(client, f"/editor/items/{passport}/edit", unticked), 422)
    assert "「是否收费」应为“是”：本事项列有收费项目" in page
    assert "charges_fee must be true" not in page and "guide.charges_fee：" not in page
    english = client.post(
        f"/editor/items/{passport}/edit?lang=en",
        content=urlencode(unticked),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert "“Charges a fee” must be yes: the item lists fees" in _html(english, 422)


def test_department_outside_the_region_is_named_with_both_names(
    client: TestClient, keys: Keys, session: Session, passport: str
) -> None:
    sign_in(client, keys.editor(passport[:18]))
    page = _html(client.get(f"/editor/items/{passport}/lifecycle", params={"kind": "delegate"}))
    form = {
        "csrf": csrf_of(page),
        "kind": "delegate",
        "decision.number": "哈政〔2031〕1号",
        "decision.title": "关于调整政务服务事项的决定",
        "reason": "机构改革",
        "effective_date": "2031-01-01",
        "mode": "delegate",
        "handover_date": "2031-01-01",
        "to.0.department": NANGANG_POLICE,
        "to.0.region": DAOLI,
    }
    resp = client.post(f"/editor/items/{passport}/lifecycle", data=form, follow_redirects=False)
    html = _html(resp, 422)
    name = session.get(Department, NANGANG_POLICE).name  # type: ignore[union-attr]
    region = session.get(Region, NANGANG_POLICE[2:8]).name  # type: ignore[union-attr]
    assert (name, region) == ("哈尔滨市公安局南岗分局", "南岗区")
    assert f"部门「{name}」属于{region}，与所选区划不符" in html
    assert f"is in {NANGANG_POLICE[2:8]}" not in html
    assert 'id="err-to-0-region"' in html


def test_unanswered_question_is_asked_by_its_own_text(client: TestClient, session: Session) -> None:
    code = _item(session, ID_CARD, "230100")
    question = "申请人是否年满十六周岁？"
    hans = _html(client.get(f"/items/{code}/checklist"), 422)
    assert f"请回答「{question}」" in hans and "unanswered" not in hans
    hant = _html(client.get(f"/items/{code}/checklist?lang=zh-Hant"), 422)
    assert f"請回答「{i18n.to_traditional(question)}」" in hant
    english = _html(client.get(f"/items/{code}/checklist?lang=en"), 422)
    assert f"Please answer “{question}”" in english


def test_too_many_corrections_say_when_to_try_again(
    client: TestClient, session: Session, passport: str
) -> None:
    client.app.state.correction_limiter = RateLimiter([(1, 3600.0)])  # type: ignore[attr-defined]

    def report() -> Any:
        token = csrf_of(_html(client.get(f"/items/{passport}/correction")))
        data = {"csrf": token, "text": "电话打不通"}
        return client.post(f"/items/{passport}/correction", data=data, follow_redirects=False)

    assert report().status_code == 303
    refused = report()
    html = _html(refused, 429)
    assert "提交过于频繁，请稍后再试（约60分钟后）" in html and "too many" not in html
    assert refused.headers["retry-after"] == "3600"


def test_correction_form_limits_said_in_chinese(
    client: TestClient, session: Session, passport: str
) -> None:
    token = csrf_of(_html(client.get(f"/items/{passport}/correction")))
    data = {"csrf": token, "text": "长" * 2001}
    html = _html(client.post(f"/items/{passport}/correction", data=data), 422)
    assert "「问题描述」最多 2000 个字符" in html and "String should" not in html


def test_a_stale_form_says_so_in_chinese(client: TestClient, passport: str) -> None:
    _html(client.get(f"/items/{passport}/correction"))
    resp = client.post(f"/items/{passport}/correction", data={"csrf": "x", "text": "错了"})
    assert "页面已过期，请刷新页面后重新提交" in _html(resp, 403)


def test_the_condition_help_example_holds_for_its_item(
    client: TestClient, keys: Keys, session: Session
) -> None:
    """The help's example names real options: set on the item it names, it is saved."""
    help_text = i18n.MESSAGES["editor.when.help"][0]
    found = re.search(r"如(.+?)的 ([a-z0-9_ ()]+)；", help_text)
    assert found, help_text
    item_name, example = found.groups()
    assert parse(example) is not None
    code = _item(session, ID_CARD, "230100")
    assert client.get(f"/api/v1/items/{code}").json()["name"] == item_name
    sign_in(client, keys.editor(code[:18]))
    pairs = _edit_form(client, code)
    resp = _form_post(
        client, f"/editor/items/{code}/edit", _with(pairs, **{"materials.0.when": [example]})
    )
    assert resp.status_code == 303, re.findall(r'class="field-error"[^>]*>([^<]+)', resp.text)


def test_a_refused_review_is_said_on_the_request_page(
    client: TestClient, keys: Keys, session: Session, passport: str
) -> None:
    from tests.pages.test_decisions import propose, proposed

    sign_in(client, keys.editor(passport[:18]))
    cr = proposed(session, propose(client, passport, "suspend", {}))
    client.cookies.clear()  # signed out: the reviewer signs in
    sign_in(client, keys.make("reviewer", region="230100"))
    page = _html(client.get(f"/editor/requests/{cr.id}"))
    data = {"csrf": csrf_of(page), "reason": ""}
    resp = client.post(f"/editor/requests/{cr.id}/reject", data=data, follow_redirects=False)
    html = _html(resp, 422)
    assert "请填写「理由」" in html and "a rejection says why" not in html


LABEL = re.compile(r"<label[^>]*>(.*?)</label>", re.S)


def test_every_form_label_of_the_editor_is_chinese(
    client: TestClient, keys: Keys, passport: str
) -> None:
    """No English labels (value, unit, note, paper size, amount) on the edit and decision
    forms: each label holds Chinese (an option id may stand beside it)."""
    sign_in(client, keys.editor(passport[:18]))
    pages = [f"/editor/items/{passport}/edit"] + [
        f"/editor/items/{passport}/lifecycle?kind={k}" for k in ("delegate", "accept", "split")
    ]
    for path in pages:
        labels = [re.sub(r"<[^>]+>", "", x).strip() for x in LABEL.findall(_html(client.get(path)))]
        assert labels, path
        english = [x for x in labels if x and not CJK.search(x)]
        assert not english, f"{path}: {english}"


def test_an_alias_for_no_item_and_a_known_name_are_said_in_chinese(
    client: TestClient, keys: Keys, passport: str
) -> None:
    sign_in(client, keys.editor(passport[:18]))
    gaps = _html(client.get("/editor/gaps"))

    def propose(alias: str, code: str) -> Any:
        data = {"csrf": csrf_of(gaps), "query": "", "alias": alias, "code": code}
        return client.post("/editor/gaps/alias", data=data, follow_redirects=False)

    unknown = "9" * 31
    assert f"没有实施编码为 {unknown} 的事项" in _html(propose("出国证件", unknown), 404)
    known = _html(propose("普通护照签发", passport), 422)
    assert "事项「普通护照签发」已有这些名称：普通护照签发" in known, known
