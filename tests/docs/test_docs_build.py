"""The Sphinx site builds with -W (warnings are errors) and documents every public name."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

import stac_asset

from ..test_readme import quick_start_commands

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

pytest.importorskip("sphinx")
pytest.importorskip("furo")
pytest.importorskip("sphinx_click")

CLIENT_PAGES = [
    "filesystem",
    "http",
    "s3",
    "azure",
    "planetary-computer",
    "earthdata",
    "usgs-eros",
    "gcs",
    "oauth2",
]


def sphinx_command(out: Path) -> list[str]:
    return ["-W", "--keep-going", "-q", "-b", "html", str(DOCS), str(out)]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built once with warnings as errors."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    out = tmp_path_factory.mktemp("site")
    child = subprocess.run(
        [sys.executable, "-m", "sphinx", *sphinx_command(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == 0, f"sphinx-build -W failed:\n{child.stdout}\n{child.stderr}"
    assert "WARNING" not in child.stderr, child.stderr
    return out


def inventory(out: Path) -> set[str]:
    """The Python objects the site documents (from objects.inv)."""
    data = (out / "objects.inv").read_bytes()
    body = zlib.decompress(data.split(b"\n", 4)[4]).decode()
    return {line.split(" ", 1)[0] for line in body.splitlines() if " py:" in line}


def text(out: Path, page: str) -> str:
    return re.sub(r"<[^>]+>", "", (out / page).read_text())


def test_every_public_name_is_in_the_api_reference(built: Path) -> None:
    documented = inventory(built)
    missing = [name for name in stac_asset.__all__ if f"stac_asset.{name}" not in documented]
    assert not missing


def test_one_page_per_client(built: Path) -> None:
    for page in CLIENT_PAGES:
        assert (built / "clients" / f"{page}.html").is_file(), page
    index = text(built, "clients/index.html")
    assert index.count("Client") >= len(CLIENT_PAGES)


def test_cli_reference_is_generated_from_click(built: Path) -> None:
    from stac_asset.cli import cli

    page = text(built, "cli.html")
    for name, command in cli.commands.items():
        assert f"stac-asset {name}" in page
        for param in command.params:
            for option in param.opts:
                if option.startswith("--"):
                    assert option in page, f"{name} {option}"


def test_getting_started_has_the_readme_commands() -> None:
    page = (DOCS / "getting-started.rst").read_text()
    for command in quick_start_commands():
        assert f"   {command}\n" in page


def test_readme_says_how_to_build_the_docs() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Documentation", 1)[1].split("\n## ", 1)[0]
    assert "sphinx-build -W" in section and ".[docs]" in section
