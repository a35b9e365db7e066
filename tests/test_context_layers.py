"""No import runs back up the layers: the contexts' imports of each other form no cycle.

A context may use another's exported services, but never the other way round as well
(procurement once built orders' split input while orders called procurement). The graph
is read by grimp, the library under import-linter, so function-level and
`TYPE_CHECKING` imports count too.
"""

from __future__ import annotations

import ast
import graphlib
import importlib
import re
from collections import defaultdict
from pathlib import Path

import grimp

import marketplace

CONTEXTS = (
    "accounts",
    "listings",
    "orders",
    "consignment",
    "procurement",
    "ledger",
    "payments",
    "webhooks",
    "documents",
    "reports",
    "web",
)


def context_of(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) >= 2 and parts[0] == "marketplace" and parts[1] in CONTEXTS:
        return parts[1]
    return None


def context_imports() -> dict[str, dict[str, set[tuple[str, str]]]]:
    """importer context → imported context → the (importer, imported) module pairs."""
    graph = grimp.build_graph("marketplace")
    found: dict[str, dict[str, set[tuple[str, str]]]] = defaultdict(lambda: defaultdict(set))
    for module in graph.modules:
        source = context_of(module)
        if source is None:
            continue
        for imported in graph.find_modules_directly_imported_by(module):
            target = context_of(imported)
            if target is not None and target != source:
                found[source][target].add((module, imported))
    return found


def test_every_context_is_a_known_one() -> None:
    graph = grimp.build_graph("marketplace")
    packages = {m.split(".")[1] for m in graph.modules if m.count(".") == 1}
    contexts = {p for p in packages if graph.find_children(f"marketplace.{p}")}
    # A new context must be added to CONTEXTS, so its imports are checked too.
    assert contexts - {"migrations"} <= set(CONTEXTS)


def test_no_two_contexts_import_each_other() -> None:
    imports = context_imports()
    both_ways = {
        (a, b): sorted(imports[a][b]) + sorted(imports[b][a])
        for a in imports
        for b in imports[a]
        if a < b and a in imports.get(b, {})
    }
    assert both_ways == {}


def test_the_contexts_import_each_other_without_a_cycle() -> None:
    imports = context_imports()
    sorter = graphlib.TopologicalSorter({c: set(imports.get(c, {})) for c in CONTEXTS})
    try:
        sorter.prepare()
    except graphlib.CycleError as cycle:
        raise AssertionError(f"contexts import each other in a cycle: {cycle.args[1]}") from None


# --- another context is used only through what it exports --------------------------------

SOURCE = Path(marketplace.__file__).parent


def surface(module: str, context: str) -> set[str] | None:
    """The names another context may import from `module` of `context`, or None if it may
    import nothing from it. Public are the package itself (its services and the types they
    take) and its pure vocabulary: a `domain` package (the context's, or one of its rooms')
    and its `events` module, whose pure modules of other contexts may use without I/O. Each
    exports what its `__all__` names."""
    public = re.fullmatch(rf"marketplace\.{context}(\.\w+)?\.domain(\.events)?", module)
    if module != f"marketplace.{context}" and public is None:
        return None
    return set(getattr(importlib.import_module(module), "__all__", ()))


def imports_of(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, module, names) of every import statement, `import x.y` as (x.y, [])."""
    found: list[tuple[int, str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, a.name, []) for a in node.names)
    return found


def test_another_context_is_imported_only_through_its_exports() -> None:
    breaches = []
    for path in sorted(SOURCE.rglob("*.py")):
        module_name = ".".join(("marketplace", *path.relative_to(SOURCE).parts))
        # The pages sit on the contexts' declared faces like any context does.
        importer = "web" if module_name.startswith("marketplace.web.") else context_of(module_name)
        if importer is None:
            continue  # the composition roots (app, worker, CLI, demo, schema) wire everything
        for line, module, names in imports_of(path):
            target = context_of(module)
            if target is None or target == importer:
                continue
            exported = surface(module, target)
            where = f"{path.relative_to(SOURCE)}:{line}"
            if exported is None:
                breaches.append(f"{where} imports {module}, which is not public")
            elif not names:
                breaches.append(f"{where} imports the module {module}: import its names")
            else:
                breaches.extend(
                    f"{where} imports {module}.{n}, which is not in its __all__"
                    for n in names
                    if n not in exported
                )
    assert breaches == []
