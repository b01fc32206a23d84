"""The Sphinx site builds with -W (warnings are errors), documents every public name, and
builds whether or not OAuth2Client (written on another branch) exists."""

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

# Runs sphinx-build in a child, after adding a stand-in OAuth2Client to stac_asset.
WITH_OAUTH2 = """
import sys
import stac_asset
from sphinx.cmd.build import main

class OAuth2Client(stac_asset.HttpClient):
    '''A stand-in for the OAuth2 client of another branch.'''

stac_asset.OAuth2Client = OAuth2Client
stac_asset.__all__.append("OAuth2Client")
sys.exit(main(sys.argv[1:]))
"""

CLIENT_PAGES = [
    "filesystem",
    "http",
    "s3",
    "azure",
    "planetary-computer",
    "earthdata",
    "usgs-eros",
    "gcs",
]


def sphinx_command(out: Path) -> list[str]:
    return ["-W", "--keep-going", "-q", "-b", "html", str(DOCS), str(out)]


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Build the site as it is and with a stand-in OAuth2Client, both at once."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    outs = {name: tmp_path_factory.mktemp(name) for name in ("plain", "oauth2")}
    children = {
        "plain": subprocess.Popen(
            [sys.executable, "-m", "sphinx", *sphinx_command(outs["plain"])],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ),
        "oauth2": subprocess.Popen(
            [sys.executable, "-c", WITH_OAUTH2, *sphinx_command(outs["oauth2"])],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ),
    }
    for name, child in children.items():
        stdout, stderr = child.communicate(timeout=300)
        assert child.returncode == 0, f"sphinx-build -W failed ({name}):\n{stdout}\n{stderr}"
        assert "WARNING" not in stderr, stderr
    return outs


def inventory(out: Path) -> set[str]:
    """The Python objects the site documents (from objects.inv)."""
    data = (out / "objects.inv").read_bytes()
    body = zlib.decompress(data.split(b"\n", 4)[4]).decode()
    return {line.split(" ", 1)[0] for line in body.splitlines() if " py:" in line}


def text(out: Path, page: str) -> str:
    return re.sub(r"<[^>]+>", "", (out / page).read_text())


def test_every_public_name_is_in_the_api_reference(builds: dict[str, Path]) -> None:
    documented = inventory(builds["plain"])
    missing = [name for name in stac_asset.__all__ if f"stac_asset.{name}" not in documented]
    assert not missing


def test_one_page_per_client(builds: dict[str, Path]) -> None:
    for page in CLIENT_PAGES:
        assert (builds["plain"] / "clients" / f"{page}.html").is_file(), page
    index = text(builds["plain"], "clients/index.html")
    assert index.count("Client") >= len(CLIENT_PAGES)


def test_oauth2_page_only_when_the_class_exists(builds: dict[str, Path]) -> None:
    page = Path("clients") / "oauth2.html"
    assert (builds["plain"] / page).is_file() == hasattr(stac_asset, "OAuth2Client")
    assert (builds["oauth2"] / page).is_file()
    assert "stac_asset.OAuth2Client" in inventory(builds["oauth2"])
    assert "oauth2" in (builds["oauth2"] / "clients" / "index.html").read_text()


def test_cli_reference_is_generated_from_click(builds: dict[str, Path]) -> None:
    from stac_asset.cli import cli

    page = text(builds["plain"], "cli.html")
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
