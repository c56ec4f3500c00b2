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


# -- the picture of the packages in docs/architecture.md ------------------------------------

DOC = APP.parent / "docs" / "architecture.md"
#: the modules at the top of app/ that start a process or assemble the app: they may import
#: anything; every other top-level module is the core the packages stand on
ENTRY_POINTS = ("main", "cli", "cli_common", "cli_transfer", "doctor", "models",
                "schemas_export", "seed", "state_metrics")  # fmt: skip
BEGIN, END = "<!-- packages: begin -->", "<!-- packages: end -->"


def box_of(module: str) -> str | None:
    """The box a module of the app is drawn in: its package, ``core`` or ``entry points``."""
    parts = module.split(".")
    if parts[0] != "app" or len(parts) < 2:
        return None
    if (APP / parts[1]).is_dir():
        return parts[1]
    return "entry points" if parts[1] in ENTRY_POINTS else "core"


def package_imports() -> dict[tuple[str, str], int]:
    """Imports between boxes, counted by importing module and imported module."""
    edges: dict[tuple[str, str], int] = {}
    for path in sorted(APP.rglob("*.py")):
        rel = path.relative_to(APP.parent).with_suffix("")
        source = box_of(".".join(p for p in rel.parts if p != "__init__"))
        targets = {box_of(m) for m in imported_modules(path)} - {None, source}
        for target in targets:
            if source is not None and target is not None:
                edges[(source, target)] = edges.get((source, target), 0) + 1
    return edges


def picture() -> str:
    """The mermaid flowchart of the boxes and their imports (arrows into core left out:
    every package stands on it)."""
    edges = package_imports()
    lines = ["```mermaid", "flowchart TD"]
    for source, target in sorted(edges):
        if target != "core":
            lines.append(f"    {_node(source)} --> {_node(target)}")
    lines.append("```")
    return "\n".join(lines)


def _node(box: str) -> str:
    ident = box.replace(" ", "_")
    return f'{ident}["{box}"]' if " " in box else ident


def cycles(edges: dict[tuple[str, str], int]) -> list[tuple[str, str]]:
    """Pairs of boxes that import each other, directly or through others."""
    graph: dict[str, set[str]] = {}
    for source, target in edges:
        graph.setdefault(source, set()).add(target)

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            node = todo.pop()
            if node == goal:
                return True
            if node not in seen:
                seen.add(node)
                todo.extend(graph.get(node, ()))
        return False

    return sorted((a, b) for a, b in edges if reaches(b, a))


def test_the_picture_of_the_packages_matches_the_folders():
    text = DOC.read_text()
    drawn = text[text.index(BEGIN) + len(BEGIN) : text.index(END)].strip()
    assert drawn == picture(), (
        "docs/architecture.md's picture of the packages is not the code's: redraw it with "
        "`.venv/bin/python tests/unit/test_layers.py`"
    )


def test_a_cycle_through_a_third_package_is_seen():
    assert cycles({("a", "b"): 1, ("b", "c"): 1, ("c", "a"): 1, ("c", "d"): 1}) == [
        ("a", "b"),
        ("b", "c"),
        ("c", "a"),
    ]


if __name__ == "__main__":
    print(picture())
