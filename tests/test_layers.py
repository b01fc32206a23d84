"""The package reads from the bottom up: no import circle, and the layers import only downwards.

Counted from the source (top-level and function-level ``import`` / ``from ...
import``), so a lazy import cannot hide a circle. ``from . import x`` of a
submodule counts as importing ``x`` alone. Imports under ``if TYPE_CHECKING:``
never run and are left out: a module may name a type from above in an
annotation.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "stac_asset"

# Bottom to top; a module may import only from its own layer or those below.
LAYERS: list[tuple[str, set[str]]] = [
    (
        "foundations",
        {
            "_secrets", "_version", "access", "errors", "paths", "trust", "config",
            "clip_spec", "strategy", "retry", "checksum", "geometry", "messages",
            "storage", "layout", "kept",
        },
    ),
    ("gdal", {"gdal", "gdal_paths"}),
    ("clients", {"clients"}),
    ("resolver", {"resolver"}),
    (
        "engine",
        {
            "transfer", "items", "workers", "destination", "opening", "clip", "plan",
            "execute", "executors", "jobs", "express", "express_attempt",
            "express_offload", "rewrite", "engine",
            "ranged", "spans", "host_limits", "slow_start",
        },
    ),
    ("faces", {"compat", "blocking", "coroutines", "datacube", "cli", "__init__", "__main__"}),
]  # fmt: skip


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports(name: str) -> Iterator[tuple[str, bool]]:
    """The package modules ``name`` imports, and whether each import is inside a function."""
    for target, nested in runtime_imports(name):
        if target in MODULES and target != name:
            yield target, nested


def runtime_imports(name: str) -> Iterator[tuple[str, bool]]:
    """Every module ``name`` imports when it runs, and whether inside a function."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    nested = {
        id(node)
        for function in ast.walk(tree)
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
        for node in ast.walk(function)
    }
    typing_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and ast.unparse(block.test).endswith("TYPE_CHECKING")
        for statement in block.body
        for node in ast.walk(statement)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            subs = [f"{module}.{a.name}" for a in node.names if f"{module}.{a.name}" in MODULES]
            found = subs if len(subs) == len(node.names) else [module, *subs]
        elif isinstance(node, ast.Import):
            found = [alias.name for alias in node.names]
        else:
            continue
        if id(node) in typing_only:
            continue
        for target in found:
            yield target, id(node) in nested


GRAPH = {name: {target for target, _ in imports(name)} for name in MODULES}


def cycles() -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in GRAPH[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    return found


def layer_of(name: str) -> int:
    short = name.removeprefix("stac_asset").lstrip(".") or "__init__"
    top = short.split(".")[0]
    for rank, (_, members) in enumerate(LAYERS):
        if top in members:
            return rank
    raise AssertionError(f"{name} is in no layer of tests/test_layers.py")


def test_no_import_circle() -> None:
    assert cycles() == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_point_down(name: str) -> None:
    upward = [t for t in GRAPH[name] if layer_of(t) > layer_of(name)]
    assert not upward, f"{name} ({LAYERS[layer_of(name)][0]}) imports {upward} from above"


# The one function-level import of a package module, and why: the dask worker
# plugin subclasses distributed's WorkerPlugin, and dask.distributed is optional.
# (Optional third-party libraries such as Authlib or google-auth load lazily too.)
ALLOWED_LAZY = [("stac_asset.datacube.cube", "stac_asset.datacube.dask_plugin")]


def test_at_most_one_function_level_import_of_the_package() -> None:
    lazy = sorted({(name, t) for name in MODULES for t, inner in imports(name) if inner})
    assert lazy in ([], ALLOWED_LAZY)


def test_every_module_the_architecture_page_names_exists() -> None:
    page = (PACKAGE.parent / "docs" / "architecture.rst").read_text()
    named = set(re.findall(r":mod:`(stac_asset[\w.]*)`", page))
    named |= {m.rpartition(".")[0] for m in re.findall(r":func:`(stac_asset[\w.]+)`", page)}
    named |= {m.rpartition(".")[0] for m in re.findall(r":class:`(stac_asset\.[\w.]+)`", page)}
    assert len(named) > 20
    missing = sorted(name for name in named if name not in MODULES)
    assert not missing


def test_foundations_need_no_rasterio() -> None:
    foundations = [name for name in MODULES if layer_of(name) == 0]
    assert len(foundations) > 10
    for name in foundations:
        used = {target.split(".")[0] for target, _ in runtime_imports(name)}
        assert "rasterio" not in used, name


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_over_400_lines(name: str) -> None:
    lines = MODULES[name].read_text().count("\n")
    assert lines <= 400, f"{name}: {lines} lines; split it by what its parts do"
