"""The bundled example runs as the README says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quickstart_downloads_and_reads_b04(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "B04: shape=(256, 256) dtype=uint16" in result.stdout
    for band in ("B02", "B03", "B04"):
        source = ROOT / "examples" / "sentinel-2" / f"{band}.tif"
        assert (tmp_path / "out" / f"{band}.tif").read_bytes() == source.read_bytes()
    assert (tmp_path / "out" / "S2B_32TMR_20240601_EXAMPLE.json").is_file()
