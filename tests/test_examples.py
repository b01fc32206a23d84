"""The bundled example runs as the README says."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import pystac
import rasterio
from rasterio.warp import transform

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


EXAMPLE = ROOT / "examples" / "sentinel-2" / "item.json"


def inside(point: tuple[float, float], ring: list[list[float]]) -> bool:
    """Whether ``point`` is inside a closed ring (ray casting)."""
    x, y = point
    hits = False
    for (x1, y1), (x2, y2) in itertools.pairwise(ring):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            hits = not hits
    return hits


def test_the_example_footprint_contains_every_raster() -> None:
    item = pystac.Item.from_file(str(EXAMPLE))
    assert item.bbox is not None and item.geometry is not None
    west, south, east, north = item.bbox
    [ring] = item.geometry["coordinates"]
    for key, asset in item.assets.items():
        with rasterio.open(asset.get_absolute_href()) as dataset:
            # The raster's outline, in EPSG:4326, with points along each edge.
            left, bottom, right, top = dataset.bounds
            steps = [i / 20 for i in range(21)]
            xs = [left + (right - left) * t for t in steps] * 2 + [left] * 21 + [right] * 21
            ys = [bottom] * 21 + [top] * 21 + [bottom + (top - bottom) * t for t in steps] * 2
            lons, lats = transform(dataset.crs, "EPSG:4326", xs, ys)
            assert dataset.crs.to_string() == item.properties["proj:code"]
        for point in zip(lons, lats, strict=True):
            assert west <= point[0] <= east and south <= point[1] <= north, (key, point)
            assert inside(point, ring), (key, point)


def test_the_example_properties_agree_with_its_id() -> None:
    item = pystac.Item.from_file(str(EXAMPLE))
    # S2B_32TMR_20240601_...: Sentinel-2B, UTM zone 32 north, 1 June 2024.
    mission, tile, date, _ = item.id.split("_", 3)
    assert item.properties["platform"] == f"sentinel-2{mission[-1].lower()}"
    assert item.properties["proj:code"] == f"EPSG:326{tile[:2]}"
    assert item.datetime is not None and item.datetime.strftime("%Y%m%d") == date
