"""Browser tests: the app served by uvicorn over a seeded temporary database, driven by
headless Chromium (Debian's ``chromium`` and ``chromium-driver``) through Selenium 4.

Without the browser the tests are skipped with the reason, unless
``CATALOGUE_TEST_REQUIRE_BROWSER=1`` (``.ci/run`` sets it): then they fail. Screenshots of
every page type at 1280 and 375 px and the axe-core results of every page are written to
``CATALOGUE_SCREENSHOTS`` (default ``var/screenshots/``); the path is printed.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import build_database

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CATALOGUE_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CATALOGUE_CHROMEDRIVER", "/usr/bin/chromedriver")
SHOTS = Path(os.environ.get("CATALOGUE_SCREENSHOTS", ROOT / "var" / "screenshots"))
WIDTHS = (1280, 375)
PASSPORT = "000115001000"  # 普通护照签发
HARBIN = "230100"


def _missing() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (Path(path).exists() or shutil.which(path)):
            return f"{path} is not installed (apt-get install chromium chromium-driver)"
    try:
        import axe_playwright_python  # noqa: F401  (only its axe.min.js is used)
        import selenium  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not installed (pip install -e '.[dev]')"
    return None


@pytest.fixture(scope="session")
def browser_available() -> None:
    reason = _missing()
    if reason:
        if os.environ.get("CATALOGUE_TEST_REQUIRE_BROWSER") == "1":
            pytest.fail(f"CATALOGUE_TEST_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(f"browser tests need Chromium: {reason}")


def _env(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "CATALOGUE_DATABASE_URL": url,
        "CATALOGUE_LOG_LEVEL": "WARNING",
        "CATALOGUE_SEARCH_INDEXER": "true",  # edits reach the index, as in `catalogue serve`
        "CATALOGUE_REVIEW_EDITORS": "true",  # the default: editors' changes are reviewed
        "CATALOGUE_CORRECTIONS_RATE": "100/minute",
    }


def _cli(url: str, *args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env=_env(url),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, f"catalogue {' '.join(args)} failed: {out.stderr[-3000:]}"
    return out.stdout + out.stderr


def _keys(url: str, **made: dict[str, Any]) -> dict[str, str]:
    """The secrets of keys made as `catalogue keys create` makes them, by their use."""
    from sqlmodel import Session

    from app.db import make_engine
    from app.security import create_key

    engine = make_engine(url)
    with Session(engine) as session:
        secrets = {use: create_key(session, **key) for use, key in made.items()}
        session.commit()
    engine.dispose()
    return secrets


def _secret(output: str) -> str:
    found = re.search(r"sc_[0-9a-f]{8}_[A-Za-z0-9_-]{20,}", output)
    assert found, f"no key in: {output}"
    return found.group(0)


@dataclass
class Site:
    base: str
    url: str
    passport: str
    keys: dict[str, str] = field(default_factory=dict)

    def get_json(self, path: str) -> Any:
        with urllib.request.urlopen(self.base + path, timeout=10) as resp:
            return json.load(resp)


@pytest.fixture(scope="session")
def site(browser_available: None) -> Iterator[Site]:
    from bench.common import free_port

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/catalogue.db"
        # the seeded template's copy and the keys made in-process (each CLI start costs
        # seconds of imports); the index is built by `catalogue reindex`, as an operator does
        build_database(url).dispose()
        _cli(url, "reindex")
        import sqlite3

        with sqlite3.connect(f"{tmp}/catalogue.db") as db:
            passport = db.execute(
                "SELECT code FROM implementation WHERE basic_code = ? AND region_code = ?",
                (PASSPORT, HARBIN),
            ).fetchone()[0]
        keys = _keys(
            url,
            editor=dict(name="harbin-psb", role="editor", departments=[passport[:18]]),
            reviewer=dict(name="harbin-review", role="reviewer", region=HARBIN),
            admin=dict(name="ops", role="admin"),
        )
        port = free_port()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.main:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=_env(url),
        )
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(150):
                try:
                    urllib.request.urlopen(base + "/healthz", timeout=1)
                    break
                except OSError:
                    time.sleep(0.2)
            site = Site(base, url, passport, keys)
            _with_situations(site)
            yield site
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _with_situations(site: Site) -> None:
    """The Harbin passport item asks its questions (the seed's own when it has them)."""
    doc = site.get_json(f"/api/v1/items/{site.passport}")
    if doc["guide"].get("situations"):
        return
    from app.catalogue.documents import item_input

    body = item_input(doc)
    body["guide"]["situations"] = [
        {
            "id": "kind",
            "question": "申请类型",
            "options": [
                {"id": "first", "label": "首次申请"},
                {"id": "reissue", "label": "补发", "reveals": ["why"]},
            ],
        },
        {
            "id": "why",
            "question": "补发原因",
            "options": [{"id": "lost", "label": "遗失"}, {"id": "damaged", "label": "损毁"}],
        },
    ]
    first = body["materials"][0]
    body["materials"] += [
        {**first, "code": None, "name": "报失声明", "options": ["lost"]},
        {**first, "code": None, "name": "损毁的护照", "options": ["damaged"]},
    ]
    request = urllib.request.Request(
        f"{site.base}/api/v1/items/{site.passport}",
        data=json.dumps(body).encode(),
        method="PUT",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {site.keys['admin']}",
        },
    )
    urllib.request.urlopen(request, timeout=30).read()


@pytest.fixture(scope="session")
def driver(browser_available: None) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        "--lang=zh-CN",
        "--disable-extensions",
        # no downloads of components or on-device models: one such service kept a core
        # busy for twenty minutes of a run on two cores
        "--disable-component-update",
        "--disable-background-networking",
        "--disable-features=OptimizationGuideModelDownloading,OptimizationHints,"
        "OnDeviceModelService,OnDeviceModelPerformanceParams,Translate",
    ):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"intl.accept_languages": "zh-CN,zh"})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # CSP reports
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    browser.set_page_load_timeout(30)
    browser.set_script_timeout(60)
    try:
        yield browser
    finally:
        browser.quit()


class Pages:
    """Screenshots at both widths and axe-core's verdict, per page type."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver
        self.folder = SHOTS
        self.folder.mkdir(parents=True, exist_ok=True)

    def check(self, name: str, *, axe: bool = True) -> None:
        refused = [
            e["message"]
            for e in self.driver.get_log("browser")
            if "Content Security Policy" in e["message"]
            or (e["level"] == "SEVERE" and "Failed to load resource" not in e["message"])
        ]
        assert not refused, f"{name}: the browser reported {refused}"  # CSP, script errors
        for width in WIDTHS:
            self.screenshot(f"{name}-{width}", width)
        self.resize(1280)
        if axe:
            self.axe(name)

    def resize(self, width: int) -> None:
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 500},
        )

    def screenshot(self, name: str, width: int) -> Path:
        self.resize(width)
        height = self.driver.execute_script(
            "return Math.max(document.documentElement.scrollHeight, document.body.scrollHeight)"
        )
        overflow = self.driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        if overflow > 1:
            wide = self.driver.execute_script(
                "return [...document.querySelectorAll('body *')]"
                ".filter(e => e.getBoundingClientRect().right > arguments[0] + 1)"
                ".slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + "
                "e.textContent.slice(0, 40))",
                width,
            )
            raise AssertionError(f"{name}: the page is {overflow}px wider than {width}px: {wide}")
        shot = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": width, "height": min(height, 6000), "scale": 1},
            },
        )
        path = self.folder / f"{name}.png"
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def axe(self, name: str) -> None:
        """axe-core over the page as shown: 0 serious or critical violations."""
        import axe_playwright_python

        script = Path(axe_playwright_python.__file__).with_name("axe.min.js").read_text()
        self.driver.execute_script(script)
        results = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document).then(done, e => done({error: String(e)}));"
        )
        assert "error" not in results, results
        (self.folder / f"{name}.axe.json").write_text(
            json.dumps(
                {
                    "url": results.get("url"),
                    "axe": results.get("testEngine", {}).get("version"),
                    "violations": results["violations"],
                    "passes": len(results["passes"]),
                    "incomplete": len(results["incomplete"]),
                },
                ensure_ascii=False,
                indent=1,
            )
        )
        bad = [v for v in results["violations"] if v.get("impact") in ("serious", "critical")]
        assert not bad, f"{name}: " + "; ".join(
            f"{v['id']} ({v['impact']}): {v['help']} at "
            + ", ".join(str(n["target"]) for n in v["nodes"][:5])
            for v in bad
        )


@pytest.fixture(scope="session")
def pages(driver: Any) -> Iterator[Pages]:
    found = Pages(driver)
    yield found
    print(f"\nscreenshots and axe results: {found.folder}")
