"""environment.yml: valid conda match specs, from conda-forge, agreeing with pyproject.toml."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement

from .project import (
    ROOT,
    match_specs,
    minimum_python,
    pyproject,
    requirements,
    runtime_requirements,
)

rattler = pytest.importorskip("rattler")


@pytest.fixture(scope="module")
def environment() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "environment.yml").read_text())
    return data


def conda_entries(environment: dict[str, Any]) -> list[str]:
    return [entry for entry in environment["dependencies"] if isinstance(entry, str)]


def pip_entries(environment: dict[str, Any]) -> list[str]:
    sections = [e["pip"] for e in environment["dependencies"] if isinstance(e, dict)]
    assert len(sections) <= 1
    return sections[0] if sections else []


def test_channels_are_conda_forge(environment: dict[str, Any]) -> None:
    assert environment["channels"][0] == "conda-forge"
    assert set(environment["channels"]) <= {"conda-forge", "nodefaults"}
    assert environment["name"]


def test_every_entry_is_a_match_spec(environment: dict[str, Any]) -> None:
    entries = conda_entries(environment)
    assert entries
    for entry in entries:
        rattler.MatchSpec(entry)  # raises on anything that is not a match spec
    match_specs(entries)  # and no package twice


def test_a_bad_entry_would_fail() -> None:
    with pytest.raises(Exception, match="version"):
        rattler.MatchSpec("rasterio >=<1.4")


def test_runtime_dependencies_agree_with_pyproject(environment: dict[str, Any]) -> None:
    specs = match_specs(conda_entries(environment))
    for name, clauses in runtime_requirements().items():
        assert name in specs, f"environment.yml lacks runtime dependency {name}"
        assert specs[name] == clauses, f"{name}: {specs[name]} here, {clauses} in pyproject"


def test_python_and_optional_extras_agree(environment: dict[str, Any]) -> None:
    specs = match_specs(conda_entries(environment))
    assert specs["python"] == {f">={minimum_python()}"}
    extras = pyproject()["project"]["optional-dependencies"]
    for extra in ("gcs", "azure"):
        for name, clauses in requirements(extras[extra]).items():
            assert specs[name] == clauses, f"{extra}: {name}"


def test_installs_the_project_with_its_test_and_docs_extras(environment: dict[str, Any]) -> None:
    editable = [e for e in pip_entries(environment) if e.startswith("-e ")]
    assert len(editable) == 1
    requirement = Requirement("stac-asset" + editable[0][len("-e .") :])
    extras = pyproject()["project"]["optional-dependencies"]
    assert requirement.extras == {"test", "docs"}
    assert requirement.extras <= set(extras)


def test_the_test_extra_can_build_the_docs() -> None:
    extras = pyproject()["project"]["optional-dependencies"]
    assert requirements(extras["docs"]).items() <= requirements(extras["test"]).items()
