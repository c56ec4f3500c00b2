"""The layers of the app: the HTTP layer (``app.http``, ``app.pages``, ``app.main``) sits
beside the domain packages and calls them; no domain package imports it, nor the web
framework (services flush, never commit, never import FastAPI)."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"
DOMAINS = ("catalogue", "codes", "corrections", "directory", "exports", "files", "legal",
           "push", "quality", "review", "search", "sync")  # fmt: skip
HTTP_LAYER = ("app.http", "app.pages", "app.main")
FRAMEWORKS = ("fastapi", "starlette")


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports (absolute), at any depth of the file."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_no_domain_package_imports_the_http_layer_or_the_framework():
    offending = {
        f"{path.relative_to(APP.parent)} imports {name}"
        for domain in DOMAINS
        for path in sorted((APP / domain).rglob("*.py"))
        for name in imported_modules(path)
        if _under(name, HTTP_LAYER + FRAMEWORKS)
    }
    assert not offending, sorted(offending)


def test_every_router_lives_in_the_http_layer():
    routers = {
        str(path.relative_to(APP.parent))
        for domain in DOMAINS
        for path in (APP / domain).rglob("*.py")
        if "APIRouter" in path.read_text()
    }
    assert not routers, sorted(routers)


def test_the_check_sees_an_import_of_the_http_layer(tmp_path):
    # the walk must find imports inside functions too, where a cycle hides
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from app.http.deps import Caller\n")
    assert "app.http.deps" in imported_modules(module)
