"""The choices and defaults of the options the CLI exposes, in one light module.

``MatchOptions`` and ``FrameOptions`` take their ``Literal`` types and defaults from here, and
the CLI types its options with the same ``Literal``s (a bad choice is a usage error, exit 2)
without importing OpenCV or PyAV to show ``--help``.
"""

from __future__ import annotations

from typing import Literal

Detector = Literal["sift", "rootsift", "orb"]
GeometryModel = Literal["homography", "fundamental"]
AffineMode = Literal["off", "auto", "on"]
FeatureSet = Literal["classic", "xfeat", "aliked", "disk"]
SecondPass = Literal["auto", "learned", "affine", "off"]
SceneScan = Literal["auto", "full"]
ImageFormat = Literal["png", "jpeg"]

DEFAULT_DETECTOR: Detector = "sift"
DEFAULT_MODEL: GeometryModel = "homography"
DEFAULT_AFFINE: AffineMode = "auto"
DEFAULT_FEATURES: FeatureSet = "classic"
DEFAULT_SECOND_PASS: SecondPass = "affine"
BackgroundMode = Literal["auto", "off"]
DEFAULT_BACKGROUND: BackgroundMode = "auto"
DEFAULT_SCENE_SCAN: SceneScan = "auto"
DEFAULT_IMAGE_FORMAT: ImageFormat = "png"
