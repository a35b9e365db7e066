"""No import runs back up the layers: the contexts' imports of each other form no cycle.

A context may use another's exported services, but never the other way round as well
(procurement once built orders' split input while orders called procurement). The graph
is read by grimp, the library under import-linter, so function-level and
`TYPE_CHECKING` imports count too.
"""

from __future__ import annotations

import graphlib
from collections import defaultdict

import grimp

CONTEXTS = (
    "accounts",
    "listings",
    "orders",
    "consignment",
    "procurement",
    "ledger",
    "payments",
    "webhooks",
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
