"""Small geometry helpers for clipping items to a bounding box (no shapely needed)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Point = tuple[float, float]
BBox = tuple[float, float, float, float]


def intersect_bbox(a: Sequence[float], b: Sequence[float]) -> BBox | None:
    """The intersection of two 2D bboxes ``(west, south, east, north)``, or None."""
    west, south = max(a[0], b[0]), max(a[1], b[1])
    east, north = min(a[2], b[2]), min(a[3], b[3])
    if west >= east or south >= north:
        return None
    return (west, south, east, north)


def _clip_ring(ring: Sequence[Sequence[float]], bbox: BBox) -> list[Point]:
    """Sutherland-Hodgman: the part of a closed ring inside an axis-aligned box."""
    points: list[Point] = [(float(p[0]), float(p[1])) for p in ring[:-1]]
    # Each edge of the box: (axis, boundary, whether the inside is above it).
    for axis, bound, above in (
        (0, bbox[0], True),
        (0, bbox[2], False),
        (1, bbox[1], True),
        (1, bbox[3], False),
    ):

        def inside(p: Point, axis: int = axis, bound: float = bound, above: bool = above) -> bool:
            return p[axis] >= bound if above else p[axis] <= bound

        def crossing(p: Point, q: Point, axis: int = axis, bound: float = bound) -> Point:
            t = (bound - p[axis]) / (q[axis] - p[axis])
            x, y = p[0] + (q[0] - p[0]) * t, p[1] + (q[1] - p[1]) * t
            return (bound, y) if axis == 0 else (x, bound)

        result: list[Point] = []
        previous = points[-1] if points else (0.0, 0.0)
        for point in points:
            if inside(point):
                if not inside(previous):
                    result.append(crossing(previous, point))
                result.append(point)
            elif inside(previous):
                result.append(crossing(previous, point))
            previous = point
        points = result
    return [*points, points[0]] if len(points) >= 3 else []


def clip_geometry(geometry: dict[str, Any], bbox: BBox) -> dict[str, Any] | None:
    """A Polygon or MultiPolygon clipped to ``bbox`` (holes kept when they survive).

    Other geometry types come back as the bbox's polygon, which contains the
    clipped data; None when nothing is left.
    """
    kind = geometry.get("type")
    if kind == "Polygon":
        polygons = [geometry["coordinates"]]
    elif kind == "MultiPolygon":
        polygons = geometry["coordinates"]
    else:
        return box(bbox)
    clipped = []
    for polygon in polygons:
        outer = _clip_ring(polygon[0], bbox)
        if outer:
            holes = [hole for ring in polygon[1:] if (hole := _clip_ring(ring, bbox))]
            clipped.append([outer, *holes])
    if not clipped:
        return None
    if len(clipped) == 1:
        return {"type": "Polygon", "coordinates": _lists(clipped[0])}
    return {"type": "MultiPolygon", "coordinates": [_lists(p) for p in clipped]}


def _lists(polygon: list[list[Point]]) -> list[list[list[float]]]:
    return [[[x, y] for x, y in ring] for ring in polygon]


def box(bbox: BBox) -> dict[str, Any]:
    """The polygon of a bbox."""
    west, south, east, north = bbox
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}
