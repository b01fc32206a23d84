"""Sphinx configuration for the stac-asset documentation (built with ``-W`` in the tests)."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # document the working tree, not an installed copy

import stac_asset  # noqa: E402

project = "stac-asset"
author = "stac-asset developers"
copyright = "stac-asset developers"  # noqa: A001 - the name Sphinx reads
version = release = stac_asset.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.intersphinx",
    "sphinx_click",
]

root_doc = "index"
exclude_patterns = ["_build"]
html_theme = "furo"
html_title = f"stac-asset {release}"

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
napoleon_google_docstring = True
napoleon_numpy_docstring = False

# Links to other projects' docs are resolved only when their inventories can be
# fetched; the build never needs the network (no intersphinx_mapping by default).
intersphinx_mapping: dict[str, tuple[str, Any]] = {}

# A directive that documents a name of stac_asset: ".. autoclass:: stac_asset.Access",
# ".. automodule:: stac_asset.blocking", or ".. py:data:: Message" (with ":module: stac_asset").
_DOCUMENTED = re.compile(r"^\.\. (?:auto\w+|py:\w+):: (?:stac_asset\.)?(\w+)\s*$", re.MULTILINE)


def _document_remaining_names(app: Any, docname: str, source: list[str]) -> None:
    """Append to the API page every name of ``stac_asset.__all__`` it does not document yet.

    New public names (a client merged from another branch, say) then appear in
    the API reference without a docs change, and no name is left out.
    """
    if docname != "api":
        return
    documented = set(_DOCUMENTED.findall(source[0]))
    missing = [name for name in stac_asset.__all__ if name not in documented]
    if not missing:
        return
    lines = ["", "Other names", "-----------", ""]
    for name in missing:
        obj = getattr(stac_asset, name)
        if isinstance(obj, type):
            lines += [f".. autoclass:: stac_asset.{name}", "   :members:", ""]
        elif callable(obj):
            lines += [f".. autofunction:: stac_asset.{name}", ""]
        else:
            lines += [f".. py:data:: {name}", "   :module: stac_asset", ""]
    source[0] += "\n".join(lines) + "\n"


def setup(app: Any) -> None:
    """Register the source hooks."""
    app.connect("source-read", _document_remaining_names)
