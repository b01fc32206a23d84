"""Download the bundled example item into ./out, then read band B04 in place with rasterio."""

from __future__ import annotations

from pathlib import Path

import stac_asset
from stac_asset import blocking

HERE = Path(__file__).resolve().parent
ITEM = HERE / "sentinel-2" / "item.json"


def main() -> None:
    """Run the example."""
    item = blocking.download_item_from_href(str(ITEM), "out")
    print(f"downloaded {item.id} to {item.get_self_href()}")
    for key, asset in item.assets.items():
        origin = asset.extra_fields["alternate"]["origin"]["href"]
        print(f"  {key}: {asset.href}  (from {origin})")

    with stac_asset.open(item, "B04") as ds:
        band = ds.read(1, masked=True)
    print(
        f"B04: shape={band.shape} dtype={band.dtype} min={band.min()} max={band.max()} "
        f"mean={band.mean():.1f}"
    )


if __name__ == "__main__":
    main()
