"""A resection written out: ``camera.json`` (the record) and ``camera.geojson`` (for a map)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from shapely.geometry import mapping

from geoverify._io import write_atomic
from geoverify._output import staged_dir, write_manifest
from geoverify.geodesy import destination
from geoverify.models import LatLon
from geoverify.resection._model import CameraFix, finite_or_none

__all__ = ["camera_geojson", "save_camera_fix"]

_FILES = ("camera.json", "camera.geojson")


def _point(p: LatLon) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [p.lon, p.lat]}


def _line(*points: LatLon) -> dict[str, Any]:
    return {"type": "LineString", "coordinates": [[p.lon, p.lat] for p in points]}


def _feature(geometry: dict[str, Any], **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def camera_geojson(fix: CameraFix) -> dict[str, Any]:
    """Draw the camera, its 90 % region, its field of view and a ray to each point, as GeoJSON.

    The viewing cone is the heading plus and minus half the horizontal field of view, drawn as
    far as the farthest point; coordinates are longitude, latitude (RFC 7946).
    """
    reach_m = max((p.distance_m for p in fix.points), default=100.0) * 1.2
    half = fix.hfov_deg / 2.0
    left = destination(fix.camera, fix.heading_deg - half, reach_m)
    right = destination(fix.camera, fix.heading_deg + half, reach_m)
    features = [
        _feature(
            _point(fix.camera),
            role="camera",
            mode=fix.mode,
            heading_deg=fix.heading_deg,
            radius_m_90=finite_or_none(fix.uncertainty.radius_m_90),  # JSON has no infinity
            ambiguous=fix.ambiguous,
        ),
        _feature(_line(left, fix.camera, right), role="field of view", hfov_deg=fix.hfov_deg),
    ]
    if not fix.uncertainty.region_90.is_empty:
        features.append(_feature(mapping(fix.uncertainty.region_90), role="90 % region"))
    if fix.alternative is not None:
        features.append(
            _feature(
                _point(fix.alternative), role="alternative camera", rms_px=fix.alternative_rms_px
            )
        )
    for p in fix.points:
        features.append(
            _feature(
                _line(fix.camera, p.position),
                role="ray",
                point=p.label,
                residual_px=p.residual_px,
                outlier=p.outlier,
            )
        )
    return {"type": "FeatureCollection", "features": features}


def save_camera_fix(
    fix: CameraFix,
    out: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    inputs: Iterable[str | os.PathLike[str]] = (),
) -> Path:
    """Write ``camera.json`` and ``camera.geojson`` into the folder ``out`` (the output rule).

    ``inputs`` (the image, the points file, the registry) may not be, hold or lie in ``out``.
    """
    with staged_dir(out, overwrite=overwrite, inputs=tuple(inputs), will_write=_FILES) as folder:
        for name, doc in (("camera.json", fix.to_dict()), ("camera.geojson", camera_geojson(fix))):
            text = json.dumps(doc, ensure_ascii=False, allow_nan=False, indent=2)
            write_atomic(folder / name, text.encode("utf-8"))
        write_manifest(folder, extra={"written_by": "geoverify locate"})
    return Path(os.path.abspath(os.fspath(out)))
