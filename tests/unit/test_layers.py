"""The layers hold: ``shared/`` is a library that imports nothing above it (no service, not the
composition root), a service imports no other service and not the composition root, and nothing
but the composition root and the tests imports ``sopdesk``. Read from the source (every import
statement, at module level or inside a function), not from what happens to be loaded."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("intake", "assignment", "notify", "procurement")


def _imports(path: Path, package: str | None = None) -> list[tuple[int, str]]:
    """(line, module) of every import in a file, relative imports resolved against its package
    (by default the folder it is in); ``from a import b`` gives both ``a`` and ``a.b``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    if package is None:
        package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found += [(node.lineno, module)] + [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def _product_files(folder: str) -> list[Path]:
    """The folder's Python files, its tests left out (a test may reach anywhere)."""
    return [p for p in sorted((ROOT / folder).rglob("*.py"))
            if "tests" not in p.relative_to(ROOT).parts and "migrations" not in p.relative_to(ROOT).parts]


def _breaches(files: list[Path], forbidden) -> list[str]:
    return [f"{path.relative_to(ROOT)}:{line} imports {module}"
            for path in files for line, module in _imports(path) if forbidden(path, module)]


def _is(module: str, top: str) -> bool:
    return module == top or module.startswith(top + ".")


def test_the_reader_finds_imports_at_every_depth(tmp_path):
    """The walker itself: module level, inside a function, relative, and `from package import module`."""
    sample = tmp_path / "sample.py"
    sample.write_text("import os\nfrom services.intake import views\n\n\ndef f():\n"
                      "    from sopdesk import gateway\n    from . import db\n", encoding="utf-8")
    found = {module for _, module in _imports(sample, package="shared")}
    assert {"os", "services.intake", "sopdesk", "sopdesk.gateway", "shared.db"} <= found


def test_shared_imports_nothing_above_it():
    breaches = _breaches(_product_files("shared"),
                         lambda path, module: _is(module, "services") or _is(module, "sopdesk"))
    assert breaches == [], "shared/ is a library: move the wiring to sopdesk/\n" + "\n".join(breaches)


def test_a_service_imports_no_other_service_and_not_the_root():
    def forbidden(path: Path, module: str) -> bool:
        own = path.relative_to(ROOT).parts[1]
        if _is(module, "sopdesk"):
            return True
        return any(_is(module, f"services.{other}") for other in SERVICES if other != own)

    breaches = _breaches([p for s in SERVICES for p in _product_files(f"services/{s}")], forbidden)
    assert breaches == [], "a service learns from events, and the root wires it:\n" + "\n".join(breaches)


def _module_of(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_the_cycle_finder_finds_a_loop_through_three_modules():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    """No two modules of the product import each other, however far round and wherever the
    import stands (a lazy import inside a function is still a tie)."""
    files = [p for folder in ("shared", "services", "sopdesk") for p in _product_files(folder)]
    modules = {_module_of(p): p for p in files}
    graph = {}
    for module, path in modules.items():
        graph[module] = {imported for _, imported in _imports(path) if imported in modules and imported != module}
    assert _cycles(graph) == [], "modules that import each other: give the shared concern one home"


OUTSIDE_PARTS = ("flask", "werkzeug", "sqlalchemy", "alembic", "celery", "kombu", "redis", "psycopg", "marshmallow")


def test_a_domain_imports_no_outside_part_and_nothing_of_its_service_but_its_domain():
    """A service's rules (``services/<service>/domain/``) run without a web framework, a database
    or a broker: pure Python, tested without any of them."""
    def forbidden(path: Path, module: str) -> bool:
        own = ".".join(path.relative_to(ROOT).parts[:2])
        return (any(_is(module, part) for part in OUTSIDE_PARTS) or _is(module, "sopdesk")
                or (_is(module, "services") and not _is(module, f"{own}.domain") and module not in ("services", own)))

    domains = [p for s in SERVICES for p in _product_files(f"services/{s}/domain")]
    assert domains, "no service has a domain/ yet"
    breaches = _breaches(domains, forbidden)
    assert breaches == [], "a domain is pure rules:\n" + "\n".join(breaches)
