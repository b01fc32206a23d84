"""GeoJSON for bounding boxes (no shapely needed)."""

from __future__ import annotations

from typing import Any

BBox = tuple[float, float, float, float]


def box(bbox: BBox) -> dict[str, Any]:
    """The polygon of a bbox ``(west, south, east, north)``."""
    west, south, east, north = bbox
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}
