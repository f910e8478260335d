"""The text line: registry names read in the frames (signs, street names) against the place.

Text naming the claimed place, or a landmark within the claimed distance of it (``within_m``;
``NEAR_M`` when the hypothesis states none), supports weakly. Text naming only registry places
more than ``FAR_M`` beyond that contradicts weakly: a road sign names distant towns, a sign
can be moved and a name can repeat. No readable text, or text naming no registry place, is
``no_evidence``; a step that was not run is ``not_tested``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from geoverify.evidence._model import (
    EvidenceLine,
    Outcome,
    claimed_targets,
    distance_to,
    fmt_m,
)
from geoverify.text import crop_name

if TYPE_CHECKING:
    from geoverify.claims import ClaimSet, Hypothesis
    from geoverify.registry import Registry
    from geoverify.text import FrameText

NEAR_M = 2_000.0  # a landmark this close to the claimed place counts as naming it
FAR_M = 20_000.0  # beyond the near distance by this much, a named place is "far"
CROPS_DIR = "text"  # the folder of the output holding each region's crop (save_verification)


def _read(
    texts: Sequence[FrameText],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, int]]:
    """Return the regions read (with their crops' names), the (region, name) pairs, languages."""
    regions, pairs = [], []
    languages: dict[str, int] = {}
    for ft in texts:
        for k, region in enumerate(ft.regions):
            lang = region.script.language
            languages[lang] = languages.get(lang, 0) + 1
            b = region.box
            regions.append({
                "frame_number": ft.frame_number,
                "t_s": ft.t_s,
                "text": region.text,
                "confidence": region.confidence,
                "box_px": [b.left_px, b.top_px, b.width_px, b.height_px],
                "script": region.script.script,
                "language": lang,
                "language_evidence": list(region.script.evidence),
                "crop": f"{CROPS_DIR}/{crop_name(ft.frame_number, k)}",
                "names": [{"landmark_id": m.landmark_id, "name": m.name, "score": m.score,
                           "method": m.method} for m in region.matches],
            })  # fmt: skip
            for m in region.matches:
                pairs.append({"t_s": ft.t_s, "text": region.text, "landmark_id": m.landmark_id,
                              "name": m.name, "score": m.score})  # fmt: skip
    return regions, pairs, languages


def _place(
    pairs: list[dict[str, Any]],
    hyp: Hypothesis,
    registry: Registry,
    claims: ClaimSet,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Split the names read into near the claimed place, far from it, and unplaced."""
    targets, _ = claimed_targets(hyp, registry, claims)
    claimed_ids = {t for t, _ in targets} | set(claims.candidates(hyp.filmed_at or ""))
    near_m = hyp.within_m if hyp.within_m is not None else NEAR_M
    near, far, unplaced = [], [], []
    for pair in pairs:
        lm = registry.get(pair["landmark_id"])
        if lm.id in claimed_ids:
            near.append({**pair, "distance_m": 0.0})
            continue
        pos = lm.anchor
        if pos is None or not targets:
            unplaced.append(pair)
            continue
        dist = min(distance_to(pos, t)[0] for _, t in targets)
        slack = lm.uncertainty_m or 0.0
        record = {**pair, "distance_m": round(dist, 1)}
        if dist - slack <= near_m:
            near.append(record)
        elif dist - slack > near_m + FAR_M:
            far.append(record)
        else:
            unplaced.append(record)
    return near, far, unplaced


def text_line(
    hyp: Hypothesis | None,
    registry: Registry,
    claims: ClaimSet,
    texts: Sequence[FrameText] | None,
) -> EvidenceLine:
    """Weigh the registry names read in the frames against the claimed place.

    ``texts`` are ``read_frames_text``'s results (with the registry's names matched);
    ``None``: the text step did not run.
    """
    if texts is None:
        return EvidenceLine(
            line="text",
            outcome=Outcome.NOT_TESTED,
            summary="The frames' text was not read.",
            would_decide=("the text in the frames, read (verify reads it unless --text off)",),
        )
    read, pairs, languages = _read(texts)
    regions = len(read)
    numbers: dict[str, Any] = {
        "frames_read": len(texts),
        "regions": regions,
        "languages": dict(sorted(languages.items())),
        "regions_read": read,
        "names_read": pairs,
    }
    if not regions:
        return EvidenceLine(
            line="text",
            outcome=Outcome.NO_EVIDENCE,
            numbers=numbers,
            summary=f"No readable text in the {len(texts)} frame(s) read.",
            would_decide=("a frame showing a sign or a street name",),
        )
    if hyp is None or (hyp.filmed_at is None and hyp.filmed_at_point is None):
        return EvidenceLine(
            line="text",
            outcome=Outcome.NOT_TESTED,
            numbers=numbers,
            summary=f"{regions} line(s) of text read; the hypothesis names no place.",
            would_decide=("say where it was filmed: footage.filmed_at",),
        )
    near, far, unplaced = _place(pairs, hyp, registry, claims)
    numbers |= {"near": len(near), "far": len(far), "unplaced": len(unplaced)}
    return _decided(near, far, regions, numbers)


def _decided(
    near: list[dict[str, Any]], far: list[dict[str, Any]], regions: int, numbers: dict[str, Any]
) -> EvidenceLine:
    """Return the line once the names read are placed: near supports, far alone contradicts."""
    if near:
        best = max(near, key=lambda p: p["score"])
        summary = (
            f"The frames read {best['text']!r}, naming {best['landmark_id']!r} "
            f"(score {best['score']:.2f}) at or near the claimed place"
        )
        if far:
            summary += f"; {len(far)} name(s) of places far from it were read too"
        return EvidenceLine(
            line="text",
            outcome=Outcome.SUPPORTS,
            strength="weak",
            summary=summary + ".",
            numbers=numbers,
            notes=("a sign names a place; it does not prove where it stands",),
        )
    if far:
        worst = max(far, key=lambda p: p["distance_m"])
        return EvidenceLine(
            line="text",
            outcome=Outcome.CONTRADICTS,
            strength="weak",
            summary=(
                f"The frames read {worst['text']!r}, naming {worst['landmark_id']!r}, "
                f"{fmt_m(worst['distance_m'])} from the claimed place, and no name near it "
                "(weak: a road sign names distant places, a sign can be moved)."
            ),
            numbers=numbers,
        )
    return EvidenceLine(
        line="text",
        outcome=Outcome.NO_EVIDENCE,
        summary=f"{regions} line(s) of text read; none names a registry place near or far "
        "from the claimed one.",
        numbers=numbers,
        would_decide=("the names on the signs seen, as registry aliases",),
    )
