"""Every module that logs has its own logger, and the Logging page says what it logs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def logging_modules() -> dict[str, str]:
    found = {}
    for path in (ROOT / "stac_asset").rglob("*.py"):
        text = path.read_text()
        if re.search(r"\blogger\.(debug|info|warning|error|exception)\(", text):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[module] = text
    return found


def test_each_module_that_logs_has_a_logger_of_its_own() -> None:
    modules = logging_modules()
    assert len(modules) > 10
    for module, text in modules.items():
        assert "logger = logging.getLogger(__name__)" in text, module


def test_the_logging_page_names_every_logger() -> None:
    page = (ROOT / "docs" / "logging.rst").read_text()
    missing = [m for m in logging_modules() if m.rpartition(".")[2] not in page]
    assert not missing
