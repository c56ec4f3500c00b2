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


def imported_modules(path: Path, *, load_time: bool = False) -> set[str]:
    """Every module a file imports (absolute), at any depth of the file; with ``load_time``
    only those its body imports when it is loaded (not inside a function, not under
    ``if TYPE_CHECKING``)."""
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in tree.body if load_time else ast.walk(tree):
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
ENTRY_POINTS = ("main", "cli", "cli_common", "cli_transfer", "cli_situations", "doctor", "duties",
                "models", "schemas_export", "seed", "state_metrics")  # fmt: skip
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


def test_the_picture_of_the_packages_matches_the_folders():
    text = DOC.read_text()
    drawn = text[text.index(BEGIN) + len(BEGIN) : text.index(END)].strip()
    assert drawn == picture(), (
        "docs/architecture.md's picture of the packages is not the code's: redraw it with "
        "`.venv/bin/python tests/unit/test_layers.py`"
    )


def module_cycles(package: Path = APP) -> list[list[str]]:
    """Groups of a package's modules that import each other when loaded (strongly connected
    components of more than one module)."""
    modules = {
        ".".join(p.relative_to(package.parent).with_suffix("").parts).removesuffix(".__init__"): p
        for p in package.rglob("*.py")
    }
    graph = {
        m: sorted((imported_modules(p, load_time=True) & modules.keys()) - {m})
        for m, p in modules.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_module_of_the_app_imports_itself_back_when_loaded():
    assert module_cycles() == []


def test_a_cycle_through_a_third_module_is_seen_and_a_lazy_import_is_not(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg.b import x\n")
    (pkg / "b.py").write_text("from pkg import c\n")
    (pkg / "c.py").write_text("import pkg.a\n")
    (pkg / "d.py").write_text("import pkg.a\ndef f():\n    import pkg.d\n")
    assert module_cycles(pkg) == [["pkg.a", "pkg.b", "pkg.c"]]


def reexported(path: Path) -> set[str]:
    """Names a module imports only to hand on (in ``__all__``, or kept by ``noqa: F401``)."""
    source = path.read_text()
    tree = ast.parse(source, str(path))
    lines = source.splitlines()
    imported = {
        alias.asname or alias.name: "noqa: F401" in lines[node.lineno - 1]
        for node in tree.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    listed = {
        element.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
        and isinstance(node.value, (ast.List, ast.Tuple))
        for element in node.value.elts
        if isinstance(element, ast.Constant)
    }
    return {name for name, kept in imported.items() if kept or name in listed}


def test_no_module_is_a_facade_that_hands_on_what_others_define():
    facades = {
        f"{path.relative_to(APP.parent)}: {sorted(names)[:5]}"
        for path in sorted(APP.rglob("*.py"))
        if (names := reexported(path))
    }
    assert not facades, sorted(facades)


def test_the_facade_check_sees_a_reexport(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("from a import b, c  # noqa: F401\nfrom d import e\n__all__ = ['e']\n")
    assert reexported(module) == {"b", "c", "e"}


if __name__ == "__main__":
    print(picture())
