"""Windowed copies: only the tiles that intersect are read; the output is a true COG."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pystac
import pytest
import rasterio
import rasterio.shutil
from affine import Affine
from click.testing import CliRunner
from rasterio.enums import ColorInterp
from rasterio.warp import transform_bounds
from rasterio.windows import Window, from_bounds

import stac_asset
from stac_asset import blocking
from stac_asset.cli import cli
from tests.conftest import make_item
from tests.peers.http_peer import HttpPeer

UTM = "EPSG:32632"


@pytest.fixture(scope="module")
def meta_cog(http_root: Path) -> Path:
    """A 2-band COG with descriptions, scales, offsets, colour interpretation and nodata."""
    path = http_root / "meta" / "meta.tif"
    path.parent.mkdir(parents=True, exist_ok=True)
    plain = path.with_suffix(".plain.tif")
    rng = np.random.default_rng(5)
    data = rng.integers(1, 10000, size=(2, 1024, 1024), dtype="uint16")
    profile = {
        "driver": "GTiff",
        "width": 1024,
        "height": 1024,
        "count": 2,
        "dtype": "uint16",
        "crs": UTM,
        "transform": Affine(10, 0, 500000, 0, -10, 5000000),
        "nodata": 0,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "compress": "deflate",
    }
    with rasterio.open(plain, "w", **profile) as dst:
        dst.write(data)
        dst.descriptions = ("red", "nir")
        dst.scales = (0.0001, 0.0002)
        dst.offsets = (-0.1, -0.2)
        dst.colorinterp = (ColorInterp.red, ColorInterp.undefined)
    rasterio.shutil.copy(plain, path, driver="COG", COMPRESS="DEFLATE", BLOCKSIZE="256")
    plain.unlink()
    return path


def utm_box(west: float, south: float, size: float) -> tuple[float, float, float, float]:
    return (west, south, west + size, south + size)


def pixels_footprint(path: Path) -> tuple[float, float, float, float]:
    """The extent of a raster file's pixels in EPSG:4326."""
    with rasterio.open(path) as dataset:
        west, south, east, north = transform_bounds(dataset.crs, "EPSG:4326", *dataset.bounds)
    return (west, south, east, north)


def covers(outer: Sequence[float], inner: Sequence[float], slack: float = 0.0) -> bool:
    """Whether bbox ``outer`` contains bbox ``inner``, and is at most ``slack`` larger."""
    return all(0 <= o <= slack for o in (inner[0] - outer[0], inner[1] - outer[1])) and all(
        0 <= o <= slack for o in (outer[2] - inner[2], outer[3] - inner[3])
    )


def test_clip_pixels_metadata_and_cog_layout(
    http: HttpPeer, meta_cog: Path, tmp_path: Path
) -> None:
    bbox = utm_box(501000, 4992000, 2000)
    asset = pystac.Asset(http.url_for("meta/meta.tif"), media_type=pystac.MediaType.COG)
    out = blocking.clip_asset("meta", asset, tmp_path / "clip.tif", bbox=bbox, bbox_crs=UTM)
    with rasterio.open(meta_cog) as src, rasterio.open(tmp_path / "clip.tif") as clip:
        expected = src.read(window=from_bounds(*bbox, transform=src.transform))
        assert np.array_equal(clip.read(), expected)
        assert clip.bounds == pytest.approx(bbox)
        assert clip.dtypes == src.dtypes and clip.nodata == src.nodata
        assert clip.descriptions == ("red", "nir")
        assert clip.scales == pytest.approx(src.scales) and clip.offsets == pytest.approx(
            src.offsets
        )
        assert clip.colorinterp == src.colorinterp
        assert clip.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert clip.profile["tiled"] and clip.compression == src.compression
    assert out.extra_fields["proj:shape"] == [200, 200]
    assert out.extra_fields["proj:bbox"] == pytest.approx(list(bbox))
    assert out.extra_fields["proj:transform"] == pytest.approx([10, 0, 501000, 0, -10, 4994000])
    assert out.extra_fields["file:size"] == (tmp_path / "clip.tif").stat().st_size


def test_pixel_window(http: HttpPeer, meta_cog: Path, tmp_path: Path) -> None:
    asset = pystac.Asset(http.url_for("meta/meta.tif"))
    blocking.clip_asset("m", asset, tmp_path / "w.tif", window=((100, 300), (50, 650)))
    with rasterio.open(meta_cog) as src, rasterio.open(tmp_path / "w.tif") as clip:
        assert clip.shape == (200, 600)
        assert np.array_equal(clip.read(), src.read(window=Window(50, 100, 600, 200)))


def test_bbox_across_the_edge_gives_the_intersection(
    http: HttpPeer, meta_cog: Path, tmp_path: Path
) -> None:
    asset = pystac.Asset(http.url_for("meta/meta.tif"))
    out = blocking.clip_asset(
        "m", asset, tmp_path / "e.tif", bbox=utm_box(509000, 4989000, 5000), bbox_crs=UTM
    )
    assert out.extra_fields["proj:bbox"] == pytest.approx([509000, 4989760, 510240, 4994000])


def test_bbox_that_misses_names_asset_and_extents(
    http: HttpPeer, meta_cog: Path, tmp_path: Path
) -> None:
    item = make_item("MISS", {"meta": http.url_for("meta/meta.tif")})
    with pytest.raises(
        stac_asset.DownloadError, match=r"MISS/meta.*misses the raster, whose extent is \(9, 45\.06"
    ):
        blocking.download_item(item, tmp_path, bbox=(20, 20, 21, 21))
    assert not list(tmp_path.glob("*.tif")) and not list(tmp_path.glob(".*"))


def test_item_is_rewritten_true(http: HttpPeer, meta_cog: Path, tmp_path: Path) -> None:
    (http.root / "meta" / "info.json").write_text('{"hello": "world"}')
    item = make_item(
        "CLIP",
        {"meta": http.url_for("meta/meta.tif"), "info": http.url_for("meta/info.json")},
    )
    raster = item.assets["meta"]
    raster.extra_fields["file:size"] = meta_cog.stat().st_size
    raster.extra_fields["file:checksum"] = (
        "1220" + hashlib.sha256(meta_cog.read_bytes()).hexdigest()
    )
    raster.extra_fields["raster:bands"] = [
        {"nodata": 0, "statistics": {"mean": 5000}, "proj:shape": [1024, 1024]} for _ in range(2)
    ]
    item.assets["info"].media_type = pystac.MediaType.JSON
    with rasterio.open(meta_cog) as src:
        raster_bbox = transform_bounds(src.crs, "EPSG:4326", *src.bounds)
        item.bbox = list(raster_bbox)
        west, south, east, north = raster_bbox
        item.geometry = {
            "type": "Polygon",
            "coordinates": [
                [[west, south], [east, south], [east, north], [west, north], [west, south]]
            ],
        }
    clip_bbox = transform_bounds(UTM, "EPSG:4326", *utm_box(501000, 4992000, 2000))

    out = blocking.download_item(item, tmp_path, bbox=clip_bbox)
    written = json.loads((tmp_path / "CLIP.json").read_text())
    meta = written["assets"]["meta"]
    clip_file = tmp_path / "meta.tif"
    with rasterio.open(clip_file) as clip:
        assert meta["proj:shape"] == [clip.height, clip.width]
        assert meta["proj:transform"] == pytest.approx(list(clip.transform)[:6])
        assert meta["proj:bbox"] == pytest.approx(list(clip.bounds))
    assert meta["file:size"] == clip_file.stat().st_size
    assert meta["file:checksum"] == "1220" + hashlib.sha256(clip_file.read_bytes()).hexdigest()
    assert all("statistics" not in band for band in meta["raster:bands"])
    assert all(band["proj:shape"] == meta["proj:shape"] for band in meta["raster:bands"])
    # The footprint is that of the pixels written: the clip, snapped out to whole pixels.
    assert written["bbox"] == pytest.approx(list(pixels_footprint(clip_file)))
    assert covers(written["bbox"], clip_bbox, slack=1e-3)
    ring = written["geometry"]["coordinates"][0]
    assert min(p[0] for p in ring) == pytest.approx(written["bbox"][0])
    # Non-raster assets are copied whole by default, or skipped on request.
    assert (tmp_path / "info.json").read_text() == '{"hello": "world"}'
    skipped = blocking.download_item(item, tmp_path / "skip", bbox=clip_bbox, non_raster="skip")
    assert list(skipped.assets) == ["meta"]
    assert out.assets["meta"].media_type == pystac.MediaType.COG


@pytest.mark.parametrize("cut", ["bbox", "window"])
def test_footprint_comes_from_the_pixels_written(
    http: HttpPeer, meta_cog: Path, tmp_path: Path, cut: str
) -> None:
    # The source item says it is somewhere else entirely (the footprint is wrong).
    item = make_item("WRONG", {"meta": http.url_for("meta/meta.tif")})
    item.bbox = [100.0, -10.0, 100.1, -9.9]
    item.geometry = box_geometry(item.bbox)
    if cut == "bbox":
        clip_bbox = transform_bounds(UTM, "EPSG:4326", *utm_box(501000, 4992000, 2000))
        out = blocking.download_item(item, tmp_path, bbox=clip_bbox)
    else:
        out = blocking.download_item(item, tmp_path, window=((100, 300), (50, 650)))
    footprint = pixels_footprint(tmp_path / "meta.tif")
    written = json.loads((tmp_path / "WRONG.json").read_text())
    for result in (written, out.to_dict()):
        assert result["bbox"] == pytest.approx(list(footprint))
        assert result["geometry"] == box_geometry(result["bbox"])
    if cut == "bbox":
        assert covers(footprint, clip_bbox, slack=1e-3)
    else:
        with rasterio.open(meta_cog) as src:
            left, top = src.transform @ (50, 100)
            right, bottom = src.transform @ (650, 300)
        utm = transform_bounds("EPSG:4326", UTM, *footprint)
        assert utm == pytest.approx((left, bottom, right, top), abs=5)


def box_geometry(bbox: Sequence[float]) -> dict[str, object]:
    west, south, east, north = bbox
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def test_reads_only_intersecting_tiles(http: HttpPeer, big_cog: Path, tmp_path: Path) -> None:
    bbox = utm_box(505000, 4980000, 1000)  # 1 km2, 100 x 100 px: within one or few tiles
    with rasterio.open(big_cog) as src:
        window = from_bounds(*bbox, transform=src.transform)
        cols = range(int(window.col_off) // 512, int(window.col_off + window.width - 1) // 512 + 1)
        rows = range(int(window.row_off) // 512, int(window.row_off + window.height - 1) // 512 + 1)
        tiles = sum(
            int(src.get_tag_item(f"BLOCK_SIZE_{c}_{r}", "TIFF", bidx=1)) for c in cols for r in rows
        )
    asset = pystac.Asset(http.url_for("big/big.tif"))
    http.reset()
    blocking.clip_asset("big", asset, tmp_path / "km2.tif", bbox=bbox, bbox_crs=UTM)
    fetched = sum(r["bytes_sent"] for r in http.log())
    assert fetched <= 1.5 * tiles + 64 * 1024, (fetched, tiles)  # + the header read
    assert fetched < big_cog.stat().st_size / 20


def test_cli_bbox(http: HttpPeer, meta_cog: Path, tmp_path: Path) -> None:
    item = make_item("CLI", {"meta": http.url_for("meta/meta.tif")})
    source = tmp_path / "item.json"
    source.write_text(json.dumps(item.to_dict()))
    bbox = ",".join(map(str, utm_box(501000, 4992000, 2000)))
    result = CliRunner().invoke(
        cli, ["download", str(source), str(tmp_path / "out"), "--bbox", bbox, "--bbox-crs", UTM]
    )
    assert result.exit_code == 0, result.output
    with rasterio.open(tmp_path / "out" / "meta.tif") as clip:
        assert clip.shape == (200, 200)
