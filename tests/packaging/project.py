"""What pyproject.toml and stac_asset/_version.py declare, read without importing the package."""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]


def pyproject() -> dict[str, Any]:
    """The parsed pyproject.toml."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)


def version() -> str:
    """``__version__`` as written in stac_asset/_version.py (the version's one source)."""
    tree = ast.parse((ROOT / "stac_asset" / "_version.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__version__" for t in node.targets
        ):
            value = ast.literal_eval(node.value)
            assert isinstance(value, str)
            return value
    raise AssertionError("stac_asset/_version.py sets no __version__")


def constraints(specifier: SpecifierSet | str) -> set[str]:
    """A version constraint as a set of clauses, e.g. ``{">=1.4"}``, comparable across formats."""
    return {str(clause).replace(" ", "") for clause in SpecifierSet(str(specifier))}


def conda_constraints(version: str | None) -> set[str]:
    """A conda version spec (``>=1.4``, ``>=1,<2``, ``3.10.*``) as PEP 440 clauses."""
    if not version:
        return set()
    clauses = [c.strip() for c in version.split(",")]
    return constraints(", ".join(c if c[0] in "<>=!~" else f"=={c}" for c in clauses))


def match_specs(specs: list[str]) -> dict[str, set[str]]:
    """Conda match specs, parsed by rattler, as ``{name: constraint clauses}``."""
    import rattler

    result: dict[str, set[str]] = {}
    for text in specs:
        spec = rattler.MatchSpec(text)
        name = spec.name.normalized
        assert name not in result, f"{name} is listed twice"
        result[name] = conda_constraints(spec.version)
    return result


def requirements(lines: list[str]) -> dict[str, set[str]]:
    """PEP 508 requirements as ``{normalized name: constraint clauses}`` (extras dropped)."""
    result: dict[str, set[str]] = {}
    for line in lines:
        requirement = Requirement(line)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        result[conda_name(requirement.name)] = constraints(requirement.specifier)
    return result


def runtime_requirements() -> dict[str, set[str]]:
    """pyproject's ``[project] dependencies``."""
    return requirements(pyproject()["project"]["dependencies"])


def minimum_python() -> str:
    """The ``X.Y`` of ``requires-python = ">=X.Y"``."""
    clauses = constraints(pyproject()["project"]["requires-python"])
    assert len(clauses) == 1 and next(iter(clauses)).startswith(">="), clauses
    return next(iter(clauses))[2:]


# PyPI names whose conda-forge package is named differently (none so far).
PYPI_TO_CONDA: dict[str, str] = {}


def conda_name(pypi_name: str) -> str:
    """The conda-forge package name of a PyPI distribution."""
    normalized = pypi_name.lower().replace("_", "-").replace(".", "-")
    return PYPI_TO_CONDA.get(normalized, normalized)
