"""The text stage's values: options, a pixel box, a region of text, its script and names."""

from __future__ import annotations

import dataclasses

from geoverify.models import TEXT_LANG, TEXT_MAX_FRAMES

DEFAULT_LANG = TEXT_LANG


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TextOptions:
    """How text is read from a frame.

    Attributes
    ----------
    lang
        Tesseract languages joined by ``+`` (``ukr+rus+eng``); each needs its data installed.
    min_confidence
        Tesseract's word confidence (0-100) a word needs to be kept.
    sure_confidence
        A word read by only one preprocessing variant is kept only at or above this; words
        read by two variants need ``min_confidence``.
    target_side_px
        Frames are upscaled (by 1, 2 or 3) towards this long side before reading: Tesseract
        reads letters best at about 20-40 px high.
    max_side_px
        No variant is read at a long side above this (the upscaling is capped).
    time_budget_s
        Seconds per frame: once spent, no further variant is started (the one running ends).
    max_skew_deg
        Text tilted by up to this is deskewed: the angle is estimated by the projection
        profile of the binarised frame, and variants rotated by it are read too (0: never).
    clean_edge_fraction
        A frame with at most this fraction of edge pixels (Canny) is "clean" (a sign, a
        screenshot) and is also read binarised by a local (adaptive) threshold in both
        polarities; on a busy scene that threshold turns foliage into letters and is slow.
    min_match_score
        The fuzzy score (0-1) a registry name or alias needs to be reported as matched.
    max_frames
        Frames of a video read at most (the sharpest ones); a photo is one frame.
    workers
        Frames read at the same time (one Tesseract process each, one thread per process).
    """

    lang: str = DEFAULT_LANG
    min_confidence: float = 60.0
    sure_confidence: float = 85.0
    target_side_px: int = 2200
    max_side_px: int = 2400
    time_budget_s: float = 20.0
    max_skew_deg: float = 12.0
    clean_edge_fraction: float = 0.035
    min_match_score: float = 0.85
    max_frames: int = TEXT_MAX_FRAMES
    workers: int = 2


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PixelBox:
    """An axis-aligned box in the frame's pixels (origin top left, x right, y down)."""

    left_px: int
    top_px: int
    width_px: int
    height_px: int

    @property
    def right_px(self) -> int:
        """Return the first column right of the box."""
        return self.left_px + self.width_px

    @property
    def bottom_px(self) -> int:
        """Return the first row below the box."""
        return self.top_px + self.height_px

    def iou(self, other: PixelBox) -> float:
        """Intersection over union of two boxes (0 when apart)."""
        w = min(self.right_px, other.right_px) - max(self.left_px, other.left_px)
        h = min(self.bottom_px, other.bottom_px) - max(self.top_px, other.top_px)
        if w <= 0 or h <= 0:
            return 0.0
        inter = w * h
        union = self.width_px * self.height_px + other.width_px * other.height_px - inter
        return inter / union if union > 0 else 0.0

    def union(self, other: PixelBox) -> PixelBox:
        """Return the smallest box holding both."""
        left, top = min(self.left_px, other.left_px), min(self.top_px, other.top_px)
        right, bottom = max(self.right_px, other.right_px), max(self.bottom_px, other.bottom_px)
        return PixelBox(left_px=left, top_px=top, width_px=right - left, height_px=bottom - top)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ScriptGuess:
    """The script and language of a piece of text, and what decided them.

    ``script`` is ``Cyrillic``, ``Latin``, ``mixed`` (both, neither dominant) or ``none`` (no
    letters: digits, signs). ``language`` is an ISO 639-3 code (``ukr``, ``rus``, ``bel``,
    ``deu``, ``eng``, ``fra``, ``pol``) or ``und`` (undetermined: the text has nothing that
    tells the languages of its script apart). ``evidence`` lists the letters and words that
    decided it.
    """

    script: str
    language: str
    evidence: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class NameMatch:
    """A registry name or alias the text matches, with its fuzzy score.

    ``score`` is 1.0 for the same letters (case and punctuation aside), else difflib's ratio
    (0-1) of the two after transliteration to Latin (``method``: ``exact``,
    ``transliterated`` or ``fuzzy``). ``matched_text`` is the part of the text compared.
    """

    landmark_id: str
    name: str
    matched_text: str
    score: float
    method: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TextRegion:
    """One line of text found in a frame.

    Attributes
    ----------
    box
        Where it is, in the frame's pixels.
    text
        The words read, left to right.
    confidence
        Mean Tesseract word confidence, 0-100.
    script
        Its script and language (``classify_script``).
    matches
        Registry names and aliases it matches, best first (empty without a registry).
    variants
        The preprocessing variants that read it (``grey@2``, ``otsu@2``, ``adaptive-inv@1``;
        ``/-8.5`` when rotated by -8.5 degrees to deskew).
    """

    box: PixelBox
    text: str
    confidence: float
    script: ScriptGuess
    matches: tuple[NameMatch, ...] = ()
    variants: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FrameText:
    """The text read in one frame: its regions, the variants run and the time spent."""

    frame_number: int
    t_s: float
    regions: tuple[TextRegion, ...]
    variants_run: tuple[str, ...]
    seconds: float
    budget_hit: bool = False
