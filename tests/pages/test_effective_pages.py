"""The effective day on the citizens' pages. A decision still to take effect is announced at
the top of the item and checklist pages, with its day, its decision and the offices that
take over; on the day (the clock moved, never slept) the page shows the new state and who
handles the item since; ``?as_of`` shows the item as it stood in force that day, under a
notice; a receiving item not accepted yet (待承接), a merged or a cancelled one says it
cannot be applied for here; a malformed ``as_of`` is a 422 page in Chinese naming it."""

from __future__ import annotations

import html as htmllib
import re
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app import clock
from app.catalogue.models import Implementation
from app.catalogue.statuses import ItemStatus
from tests.conftest import Keys
from tests.helpers import API, writable
from tests.pages.test_pages import HARBIN, _html

DECISION = {
    "number": "黑政规〔2026〕9号",
    "title": "关于取消和下放一批政务服务事项的决定",
    "url": "https://www.hlj.gov.cn/zwgk/decisions/9",
}
BY_DECISION = f"依据《{DECISION['title']}》（{DECISION['number']}）。"
DAOLI_POLICE = "11230102MBNXPN263U"  # 哈尔滨市公安局道里分局, a county body in Harbin
DAOLI = "230102"


def zh_day(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def text(html: str) -> str:
    """The page as read: tags dropped, entities decoded, white space collapsed."""
    return re.sub(r"\s+", " ", htmllib.unescape(re.sub(r"<[^>]+>", "", html)))


def top(html: str) -> str:
    """What a citizen reads before the guide begins (its table of contents, or the
    checklist's first section)."""
    main = html.split('<main id="main"', 1)[1]
    head = re.split(r'<nav class="toc"|<section', main, maxsplit=1)[0]
    return text(head)


def page(client: TestClient, path: str, status: int = 200, **params: str) -> str:
    return _html(client.get(path, params=params), status)


def decide(client: TestClient, keys: Keys, code: str, event: str, day: date, **extra: Any) -> Any:
    body = {"decision": DECISION, "reason": "机构改革", "effective_date": day.isoformat(), **extra}
    resp = client.post(f"{API}/items/{code}/{event}", json=body, headers=keys.admin())
    assert resp.status_code == 200, resp.text
    return resp.json()


def named(client: TestClient, code: str) -> tuple[str, str, str]:
    """The item's name, department and region names, as the API reads them."""
    doc = client.get(f"{API}/items/{code}").json()
    return doc["name"], doc["department"]["name"], doc["region"]["name"]


def checklist(client: TestClient, code: str, **params: str) -> str:
    """The checklist page, every question answered with its first option."""
    questions = {
        q["id"]: q for q in client.get(f"{API}/items/{code}/situations").json()["situations"]
    }
    answers: dict[str, str] = {}
    for _ in range(len(questions) + 1):
        resp = client.get(f"/items/{code}/checklist", params={**params, **answers})
        if resp.status_code == 200:
            return _html(resp)
        unanswered = re.findall(r'id="err-([^"]+)"', _html(resp, 422))
        assert unanswered, "a 422 checklist names its unanswered questions"
        for key in unanswered:
            answers[f"a.{key}"] = questions[key]["options"][0]["id"]
    raise AssertionError("the questions never ended")


def test_a_scheduled_cancellation_is_announced_then_in_force_on_its_day(
    client: TestClient, keys: Keys, passport: str
) -> None:
    day = clock.today() + timedelta(days=40)
    decide(client, keys, passport, "cancel", day)

    html = page(client, f"/items/{passport}")
    announced = f"本事项将于 {zh_day(day)} 取消，{BY_DECISION}"
    assert announced in top(html)  # at the top, not only in 调整记录 at the bottom
    assert "在用" in top(html) and "去网上办理" in html  # in use until then
    assert f'<a href="{DECISION["url"]}" rel="noopener noreferrer"' in html
    assert announced in top(checklist(client, passport))

    with clock.frozen(day - timedelta(days=1)):
        assert announced in top(page(client, f"/items/{passport}"))  # not a day early
    with clock.frozen(day):
        html = page(client, f"/items/{passport}")
        head = top(html)
        assert (
            "已取消，不再办理" in head and f"本事项已于 {zh_day(day)} 取消，{BY_DECISION}" in head
        )
        assert "将于" not in head and "在用" not in head
        assert "去网上办理" not in html and "暂不可办理（已取消，不再办理）" in text(html)
        assert "已取消，不再办理" in top(checklist(client, passport))

    hant = top(page(client, f"/items/{passport}", lang="zh-Hant"))
    assert f"本事項將於 {zh_day(day)} 取消" in hant
    english = top(page(client, f"/items/{passport}", lang="en"))
    months = "January February March April May June July August September October November December"
    assert (
        f"This item will be cancelled on {day.day} {months.split()[day.month - 1]} {day.year}"
        in (english)
    )


@pytest.mark.parametrize("mode, word", [("delegate", "下放"), ("entrust", "委托")])
def test_a_scheduled_delegation_names_the_offices_that_take_over(
    client: TestClient, keys: Keys, passport: str, mode: str, word: str
) -> None:
    handover = clock.today() + timedelta(days=20)
    created = decide(
        client,
        keys,
        passport,
        "delegate",
        clock.today() + timedelta(days=10),
        mode=mode,
        handover_date=handover.isoformat(),
        to=[{"department": DAOLI_POLICE, "region": DAOLI}],
    )["created"]
    [receiving] = created
    _, harbin_office, harbin = named(client, passport)
    _, daoli_office, daoli = named(client, receiving)

    html = page(client, f"/items/{passport}")
    takes_over = f"「{daoli_office}」（{daoli}）办理。"
    assert (
        f"本事项将于 {zh_day(handover)} {word}，{BY_DECISION}将于 {zh_day(handover)} 起由"
        f"{takes_over}" in top(html)
    )
    assert f'<a href="/items/{receiving}" lang="zh-Hans">{daoli_office}</a>' in html

    # the receiving item exists at once, pending acceptance: not offered as a working guide
    pending = page(client, f"/items/{receiving}")
    head = top(pending)
    assert "尚未承接，暂不可办理" in head and "待承接" in head
    assert (
        f"本事项由「{harbin_office}」（{harbin}）{word}，自 {zh_day(handover)} 起交接，"
        f"{BY_DECISION}承接部门完成承接后方可在此办理。" in head
    )
    assert f"目前请到「{harbin_office}」（{harbin}）办理。" in head
    assert f'<a href="/items/{passport}" lang="zh-Hans">{harbin_office}</a>' in pending
    assert "去网上办理" not in pending and "暂不可办理（尚未承接，暂不可办理）" in text(pending)
    assert "尚未承接，暂不可办理" in top(checklist(client, receiving))

    with clock.frozen(handover):
        head = top(page(client, f"/items/{passport}"))
        assert "已下放，本单位不再受理" in head
        assert (
            f"本事项已于 {zh_day(handover)} {word}，{BY_DECISION}自 {zh_day(handover)} 起由"
            f"{takes_over}" in head
        )
        still = top(page(client, f"/items/{receiving}"))
        assert "尚未承接，暂不可办理" in still
        assert "目前请到" not in still  # the delegating office no longer takes it either


def test_as_of_shows_the_item_in_force_that_day_under_a_notice(
    client: TestClient, keys: Keys, passport: str
) -> None:
    day = clock.today() + timedelta(days=40)
    decide(client, keys, passport, "cancel", day)

    html = page(client, f"/items/{passport}", as_of=day.isoformat())
    head = top(html)
    assert f"以下为 {zh_day(day)} 有效的办事指南（查看现行版本 →）" in head
    assert f'<a href="/items/{passport}">查看现行版本 →</a>' in html
    assert (
        client.get(f"{API}/items/{passport}", params={"as_of": day.isoformat()}).json()["status"]
        == ItemStatus.CANCELLED
    )  # the API's answer for that day, which the page shows
    assert "已取消，不再办理" in head and f"本事项已于 {zh_day(day)} 取消" in head
    # the questions and the checklist stay on that day
    assert f'<input type="hidden" name="as_of" value="{day.isoformat()}">' in html
    listed = checklist(client, passport, as_of=day.isoformat())
    assert f"以下为 {zh_day(day)} 有效的办事指南" in top(listed)
    assert "已取消，不再办理" in top(listed)

    before = top(page(client, f"/items/{passport}", as_of=(day - timedelta(days=1)).isoformat()))
    assert f"以下为 {zh_day(day - timedelta(days=1))} 有效的办事指南" in before
    assert f"本事项将于 {zh_day(day)} 取消" in before and "在用" in before

    assert "以下为" not in top(page(client, f"/items/{passport}"))  # the current one: no notice
    gone = page(client, f"/items/{passport}", 404, as_of="2000-01-01")  # not yet set up
    assert '<html lang="zh-Hans">' in gone and "以下为" not in gone


def test_as_of_shows_the_content_recorded_by_that_day(
    client: TestClient, keys: Keys, passport: str
) -> None:
    later = clock.today() + timedelta(days=30)
    body = writable(client, passport)
    old_phone = body["guide"]["windows"][0]["phone"]
    body["guide"]["windows"][0]["phone"] = "0451-99998888"
    with clock.frozen(later):  # an edit recorded on a later day
        resp = client.put(f"{API}/items/{passport}", json=body, headers=keys.admin())
        assert resp.status_code == 200, resp.text
        assert "0451-99998888" in page(client, f"/items/{passport}")
    before = page(client, f"/items/{passport}", as_of=(later - timedelta(days=1)).isoformat())
    assert old_phone in before and "0451-99998888" not in before


@pytest.mark.parametrize("value", ["2026-13-01", "tomorrow", "", "20261201", "2026-02-30"])
def test_a_malformed_as_of_is_a_422_page_in_chinese(
    client: TestClient, passport: str, value: str
) -> None:
    for path in (f"/items/{passport}", f"/items/{passport}/checklist"):
        html = page(client, path, 422, as_of=value)
        assert '<html lang="zh-Hans">' in html
        said = text(html)
        assert "查看日期" in said, said  # the field, by its label
        assert "日期" in said and "2026-12-01" in said  # what a day looks like
    assert client.get(f"{API}/items/{passport}", params={"as_of": value}).status_code == 422


def test_as_of_out_of_range_and_in_english(client: TestClient, passport: str) -> None:
    said = text(page(client, f"/items/{passport}", 422, as_of="0999-01-01"))
    assert "查看日期" in said and "1900-01-01" in said and "2999-12-31" in said, said
    english = text(page(client, f"/items/{passport}", 422, as_of="soon", lang="en"))
    assert "day to view" in english.lower() and "2026-12-01" in english, english


def test_a_merged_item_points_to_the_survivor_and_a_cancelled_one_is_closed(
    client: TestClient, keys: Keys, session: Session, passport: str
) -> None:
    survivor, cancelled = session.exec(
        select(Implementation.code)
        .where(
            Implementation.department_code == passport[:18],
            Implementation.region_code == HARBIN,
            Implementation.code != passport,
            Implementation.status == ItemStatus.ACTIVE,
        )
        .order_by(Implementation.code)
        .limit(2)
    ).all()
    today = clock.today()
    decide(client, keys, passport, "merge", today, into=survivor)
    name, office, region = named(client, survivor)
    html = page(client, f"/items/{passport}")
    head = top(html)
    assert "已合并，不再单独办理" in head
    assert (
        f"本事项已于 {zh_day(today)} 合并，{BY_DECISION}自 {zh_day(today)} 起由"
        f"「{name}」（{office} · {region}）办理。" in head
    )
    assert f'<a href="/items/{survivor}" lang="zh-Hans">{name}</a>' in html
    assert "去网上办理" not in html

    decide(client, keys, cancelled, "cancel", today)
    closed = page(client, f"/items/{cancelled}")
    assert "已取消，不再办理" in top(closed) and "去网上办理" not in closed
    assert "在用" in top(page(client, f"/items/{survivor}"))  # the survivor reads as working
