"""Every public name has a docstring: the API reference is built from them."""

from __future__ import annotations

import ast
import inspect
import types
from pathlib import Path
from typing import Any

import pytest

import stac_asset

ROOT = Path(__file__).resolve().parents[2]


def _attribute_docstrings() -> dict[str, str]:
    """Module-level ``NAME = ...`` followed by a string, in every stac_asset module."""
    found: dict[str, str] = {}
    for path in (ROOT / "stac_asset").rglob("*.py"):
        body = ast.parse(path.read_text()).body
        for node, following in zip(body, body[1:], strict=False):
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else [node.target]
                if isinstance(node, ast.AnnAssign)
                else []
            )
            if (
                isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
            ):
                for target in targets:
                    if isinstance(target, ast.Name):
                        found[target.id] = following.value.value
    return found


def _own_doc(obj: Any) -> str | None:
    """The docstring written on ``obj`` itself (not inherited)."""
    if isinstance(obj, (classmethod, staticmethod)):
        obj = obj.__func__
    if isinstance(obj, property):
        obj = obj.fget
    return obj.__doc__ if isinstance(obj.__doc__, str) and obj.__doc__.strip() else None


def _public_methods(cls: type) -> list[tuple[str, Any]]:
    """Public methods and properties defined by ``cls`` or its stac_asset bases."""
    members: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        if not klass.__module__.startswith("stac_asset"):
            continue
        for name, value in vars(klass).items():
            if name.startswith("_"):
                continue
            if isinstance(value, (types.FunctionType, classmethod, staticmethod, property)):
                members[name] = value
    return sorted(members.items())


def _public_names() -> list[str]:
    return sorted(stac_asset.__all__)


@pytest.mark.parametrize("name", _public_names())
def test_public_name_has_a_docstring(name: str) -> None:
    obj = getattr(stac_asset, name)
    if inspect.isclass(obj) or inspect.isfunction(obj) or inspect.ismodule(obj):
        assert _own_doc(obj), f"stac_asset.{name} has no docstring"
    else:
        # A constant or a type alias: its docstring is the string after its assignment.
        assert _attribute_docstrings().get(name), f"stac_asset.{name} has no docstring"


@pytest.mark.parametrize(
    "name", [n for n in _public_names() if inspect.isclass(getattr(stac_asset, n))]
)
def test_public_methods_have_docstrings(name: str) -> None:
    cls = getattr(stac_asset, name)
    missing = [method for method, value in _public_methods(cls) if not _own_doc(value)]
    assert not missing, f"stac_asset.{name}: public methods without a docstring: {missing}"


def test_blocking_functions_have_docstrings() -> None:
    from stac_asset import blocking

    # The face is a package: its public functions are those it exports.
    functions = [name for name in blocking.__all__ if inspect.isfunction(getattr(blocking, name))]
    assert functions
    assert not [name for name in functions if not _own_doc(getattr(blocking, name))]
