"""The architecture, checked: no module of qa imports from a layer above its own, and no modules
import each other in a circle. Reads the source with `ast` (nothing is imported, no model loads):

    pytest tests/test_layers.py

Every import counts, also those inside functions and under TYPE_CHECKING: a lazy import is still a
dependency. A new module falls in the layer of its folder; one at the top of qa/ must be added to
LAYERS below.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

QA = Path(__file__).resolve().parent.parent / "qa"

#: Bottom to top: layer -> (the modules in it, by name or package prefix; the layers below it that
#: it may import). A module may always import modules of its own layer, unless that makes a circle.
LAYERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # typed exceptions and text utilities: everything may use them
    "base": (("qa.errors", "qa.text"), ()),
    # storage: SQLite, migrations, file formats
    "kb": (("qa.kb",), ("base",)),
    # pure functions over numpy arrays: nothing else from qa
    "retrieval": (("qa.retrieval",), ("base",)),
    # models; word_vectors tokenises like BM25, reference embeds retrieval's reference questions
    "encoders": (("qa.encoders",), ("base", "retrieval")),
    # the library: answering, loading and indexing a KB, curation, evaluation; `qa` itself is the
    # public API (Bot, Answer, KnowledgeBase, errors), imported lazily
    "app": (
        (
            "qa",
            "qa.answer",
            "qa.bot",
            "qa.curate",
            "qa.evaluate",
            "qa.importing",
            "qa.learned",
            "qa.indexing",
            "qa.loader",
            "qa.query_embedder",
            "qa.reloader",
            "qa.tuning",
        ),
        ("base", "kb", "retrieval", "encoders"),
    ),
    # front ends: the CLI (with the chat REPL) and the HTTP server
    "front": (("qa.__main__", "qa.cli", "qa.server"), ("base", "kb", "retrieval", "encoders", "app")),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(QA.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(QA.rglob("*.py"))}


def layer_of(module: str) -> str:
    """The layer whose longest module name or package prefix matches `module`."""
    best, best_len = None, -1
    for layer, (names, _) in LAYERS.items():
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > best_len:
                # "qa" names the package's own __init__ only, not everything under it
                if name == "qa" and module != "qa":
                    continue
                best, best_len = layer, len(name)
    if best is None:
        raise KeyError(f"{module} is in no layer: add it to LAYERS in {__file__}")
    return best


def imports(module: str) -> set[str]:
    """The qa modules `module` imports (a `from package import name` counts as the submodule
    package.name when there is one)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for a in node.names:
                sub = f"{base}.{a.name}"
                found.add(sub if sub in MODULES else base)
    return {m for m in found if m in MODULES and m != module}


GRAPH = {m: imports(m) for m in MODULES}


def test_every_module_has_a_layer():
    for m in MODULES:
        layer_of(m)  # raises KeyError naming the module


def test_the_layer_map_only_points_down():
    order = list(LAYERS)
    for layer, (_, below) in LAYERS.items():
        for other in below:
            assert order.index(other) < order.index(layer), f"{layer} may import {other}, which is not below it"


def test_no_module_imports_from_a_layer_above_or_beside_it():
    bad = []
    for m, targets in GRAPH.items():
        layer = layer_of(m)
        allowed = {layer, *LAYERS[layer][1]}
        bad += [f"{m} ({layer}) imports {t} ({layer_of(t)})" for t in sorted(targets) if layer_of(t) not in allowed]
    assert not bad, "\n".join(bad)


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_circles():
    assert circles(GRAPH) == []


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b"}, "b": {"a"}, "c": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, [["a", "b", "c"]]),
    ],
)
def test_circles_finds_them(graph, expected):
    assert circles(graph) == expected


def test_imports_resolve_submodules_and_functions():
    assert "qa.cli.common" in GRAPH["qa.cli.ask_cmds"]
    assert "qa.indexing" in GRAPH["qa.bot"]  # from qa import indexing, loader
    assert "qa.kb.formats" in GRAPH["qa.evaluate"]  # from qa.kb.formats import jsonl_records (a function)
    assert layer_of("qa.retrieval.index") == "retrieval"
    assert layer_of("qa") == "app" and layer_of("qa.cli") == "front"
