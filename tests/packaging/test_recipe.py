"""conda/recipe.yaml renders offline and agrees with pyproject.toml and stac_asset/_version.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.version import Version

from .project import (
    ROOT,
    match_specs,
    minimum_python,
    pyproject,
    requirements,
    runtime_requirements,
    version,
)

rattler_build = pytest.importorskip("rattler_build")
rattler = pytest.importorskip("rattler")

RECIPE = ROOT / "conda" / "recipe.yaml"


@pytest.fixture(scope="module")
def rendered() -> dict[str, Any]:
    """The recipe rendered (Jinja evaluated) for its one noarch variant, as a dict."""
    from rattler_build.stage0 import Stage0Recipe

    variants = Stage0Recipe.from_file(RECIPE).render()
    assert len(variants) == 1, "a noarch: python recipe renders one variant"
    recipe: dict[str, Any] = variants[0].recipe.to_dict()
    return recipe


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(RECIPE.read_text())
    return data


def test_v1_format_noarch_python(raw: dict[str, Any], rendered: dict[str, Any]) -> None:
    assert raw["schema_version"] == 1
    assert rendered["build"]["noarch"] == "python"
    assert rendered["build"]["number"] == 0
    assert (
        "--no-deps" in raw["build"]["script"] and "--no-build-isolation" in raw["build"]["script"]
    )


def test_name_and_version_agree_with_the_project(rendered: dict[str, Any]) -> None:
    assert rendered["package"]["name"] == pyproject()["project"]["name"]
    assert rendered["package"]["version"] == version()


def test_the_version_has_one_source() -> None:
    project = pyproject()
    assert "version" in project["project"]["dynamic"]
    assert "version" not in project["project"]
    attr = project["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    assert attr == "stac_asset._version.__version__"
    import stac_asset

    assert stac_asset.__version__ == version()


def test_the_version_sorts_after_stac_asset_0_4() -> None:
    # Else `pip install -U stac-asset` would replace this package with 0.4.x.
    assert Version(version()) > Version("0.4.8")


def test_python_min_is_requires_python(raw: dict[str, Any], rendered: dict[str, Any]) -> None:
    python_min = minimum_python()
    assert str(raw["context"]["python_min"]) == python_min
    assert f"python {python_min}.*" in rendered["requirements"]["host"]
    assert f"python >={python_min}" in rendered["requirements"]["run"]


def test_run_requirements_are_pyprojects(rendered: dict[str, Any]) -> None:
    run = match_specs(rendered["requirements"]["run"])
    run.pop("python")
    assert run == runtime_requirements()


def test_optional_extras_are_run_constraints(rendered: dict[str, Any]) -> None:
    extras = pyproject()["project"]["optional-dependencies"]
    optional = {**requirements(extras["gcs"]), **requirements(extras["azure"])}
    assert match_specs(rendered["requirements"].get("run_constraints", [])) == optional


def test_host_requirements_build_the_wheel(rendered: dict[str, Any]) -> None:
    host = match_specs(rendered["requirements"]["host"])
    assert "pip" in host
    assert host.items() >= requirements(pyproject()["build-system"]["requires"]).items()


def test_entry_points_are_pyprojects(rendered: dict[str, Any]) -> None:
    scripts = pyproject()["project"]["scripts"]
    expected = sorted(f"{name} = {target}" for name, target in scripts.items())
    assert sorted(rendered["build"]["python"]["entry_points"]) == expected


def test_tests_import_check_pip_and_run_the_cli(
    raw: dict[str, Any], rendered: dict[str, Any]
) -> None:
    python_tests = [t["python"] for t in raw["tests"] if "python" in t]
    assert python_tests and python_tests[0]["pip_check"] is True
    rendered_python = [t["python"] for t in rendered["tests"] if "python" in t][0]
    assert "stac_asset" in rendered_python["imports"]
    assert f"{minimum_python()}.*" in rendered_python["python_version"]
    scripts = [line for t in rendered["tests"] for line in t.get("script", [])]
    assert "stac-asset --help" in scripts


def test_about_and_maintainers(rendered: dict[str, Any]) -> None:
    about = rendered["about"]
    project = pyproject()["project"]
    assert about["license"] == project["license"]["text"]
    for name in about["license_file"]:
        assert (ROOT / name).is_file(), f"license file {name} is missing"
    assert about["summary"] == project["description"]
    assert about["homepage"] == project["urls"]["Homepage"]
    assert rendered["extra"]["recipe-maintainers"]


def test_recipe_source_is_this_checkout(raw: dict[str, Any]) -> None:
    source = raw["source"]
    assert (RECIPE.parent / source["path"]).resolve() == ROOT
    assert Path(ROOT / "pyproject.toml").is_file()
