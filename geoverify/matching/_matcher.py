"""The matching loop for one frame: retrieval, then the passes in turn, then one verdict.

Retrieval (one FLANN index over every reference's plain descriptors, Lowe's ratio test) ranks
the references and proposes candidate landmarks (``frame_query``). With learned features the
learned pass alone decides. Otherwise the plain pass runs first; a frame where it finds fewer
than ``min_inliers`` consistent points gets the second passes ``second_pass`` asks for
(``second_passes``: the affine pass by default; the learned pass, XFeat + LighterGlue; or
both, learned first), each of whose results
replaces the current one only when its verdict is better, with notes saying which pass ran,
why, and what each found (``second_pass``). Each pass is a ``MatchPass``
(``geoverify.matching._passes``).
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from geoverify._images import Image
from geoverify.matching import _models
from geoverify.matching._affine import AffinePass
from geoverify.matching._decision import RANK, ImageMatch
from geoverify.matching._features import Points, cached_features, scaled_gray
from geoverify.matching._index import MatchIndex
from geoverify.matching._learned import SECOND_PASS_KIND, LearnedPass
from geoverify.matching._passes import FrameQuery, MatchPass, PassRecord
from geoverify.matching._plain import PlainPass

AffineDecision = Literal["not_needed", "off", "skipped", "run"]


def match_one(image: Image, index: MatchIndex) -> ImageMatch:
    """Match one image (BGR or grey) to the index: the passes it needs, and their verdict."""
    opts = index.options
    frame = frame_query(image, index)
    candidates = sorted(frame.candidate_landmarks)
    if opts.features != "classic":
        return sole_pass(LearnedPass(index).run(frame, candidates), affine_decision="off")
    plain = PlainPass(index).run(frame, candidates) if opts.affine != "on" else None
    first = plain.result if plain is not None else None
    if first is not None:
        enough = first.best is not None and first.best.inliers >= opts.min_inliers
        if enough or opts.affine == "off" or opts.second_pass == "off":
            # with enough inliers, an ambiguous or uncertain result is not a viewpoint problem
            return dataclasses.replace(first, affine_decision="not_needed" if enough else "off")
    return run_second_passes(index, frame, plain)


def run_second_passes(index: MatchIndex, frame: FrameQuery, plain: PassRecord | None) -> ImageMatch:
    """Run the second passes in turn (``second_passes``) until one has a match.

    Each is given the most promising landmarks of the plain pass, then by retrieval votes; a
    later pass's result replaces the current one only when its verdict is better.
    """
    order = promising_landmarks(index, frame, plain)
    current = plain.result if plain is not None else None
    earlier = "plain"
    for later in second_passes(index, screen=current is not None):
        record = later.run(frame, order)
        found = record.result
        if current is None:
            current = sole_pass(record, affine_decision="run")
        else:
            won = found is not None and RANK[found.verdict] > RANK[current.verdict]
            current = second_pass(current, record, earlier=earlier)
            earlier = record.name if won else earlier
        if current.verdict == "match":
            break
    if current is None:  # second_passes always gives a pass; kept for the type checker
        msg = "no matcher pass ran"
        raise ValueError(msg)
    return current


def second_passes(index: MatchIndex, *, screen: bool) -> list[MatchPass]:
    """Return the second passes ``second_pass`` asks for, in order, each saying why it runs.

    ``affine="on"`` or ``second_pass="affine"``: the affine pass (ASIFT). ``learned``: XFeat +
    LighterGlue (without the extra, an error). ``auto``: the learned pass, then the affine pass
    for a frame it does not match (views beyond XFeat's reach, such as the steep aerial pair,
    stay matched), or the affine pass alone when torch, kornia or the weights are missing.
    """
    opts = index.options
    if opts.affine == "on" or opts.second_pass == "affine":
        why = "affine='on'" if opts.affine == "on" else "second_pass='affine'"
        return [AffinePass(index, screen=screen, reason=f"second pass: affine ({why})")]
    if opts.second_pass == "learned":
        _models.weight_files(SECOND_PASS_KIND)
        _models.import_torch()
        reason = "second pass: learned (second_pass='learned')"
        return [LearnedPass(index, screen=screen, reason=reason)]
    missing = _learned_missing()
    if missing is None:
        reason = (
            "second pass: learned, then affine if it finds no match (second_pass='auto', "
            "the learned extra is installed)"
        )
        return [LearnedPass(index, screen=screen, reason=reason), AffinePass(index, screen=screen)]
    reason = f"second pass: affine (second_pass='auto'; the learned pass cannot run: {missing})"
    return [AffinePass(index, screen=screen, reason=reason)]


_availability: dict[str, str | None] = {}


def _learned_missing() -> str | None:
    """Why the learned second pass cannot run here (checked once per process), or ``None``."""
    if SECOND_PASS_KIND not in _availability:
        _availability[SECOND_PASS_KIND] = _models.available(SECOND_PASS_KIND)
    return _availability[SECOND_PASS_KIND]


def frame_query(image: Image, index: MatchIndex) -> FrameQuery:
    """Scale the frame, extract its plain features and rank the references by retrieval votes."""
    opts = index.options
    gray, scale = scaled_gray(image, opts.max_side_px)
    pts, desc = cached_features(gray, opts, kind="plain")
    votes = _votes(desc, index)
    refs = index.references
    return FrameQuery(
        gray=gray,
        scale=scale,
        plain_features=(pts, desc),
        control_order=tuple(sorted(range(len(refs)), key=lambda i: (-votes.get(i, 0), i))),
        candidate_landmarks=_candidate_landmarks(votes, index),
    )


def _votes(desc: Points, index: MatchIndex) -> dict[int, int]:
    """Count retrieval votes per reference: descriptors whose nearest passes Lowe's ratio test."""
    votes: dict[int, int] = {}
    upright = index.upright_references
    if len(desc) < 2 or not upright:
        return votes
    ratio = index.options.ratio
    for pair in index.retrieval_index.knnMatch(desc, k=2):
        if len(pair) == 2 and pair[0].distance < ratio * pair[1].distance:
            ref_i = upright[pair[0].imgIdx]  # imgIdx: which trained reference
            votes[ref_i] = votes.get(ref_i, 0) + 1
    return votes


def _candidate_landmarks(votes: dict[int, int], index: MatchIndex) -> frozenset[str]:
    """Landmarks of the references with most votes, topped up to ``candidates`` references.

    Background photographs are controls, never candidates.
    """
    refs = index.references
    n = index.options.candidates
    ranked = [i for i in sorted(votes, key=lambda i: -votes[i]) if not refs[i].background][:n]
    ranked += [i for i in index.upright_references if i not in votes and not refs[i].background][
        : max(0, n - len(ranked))
    ]
    return frozenset(refs[i].landmark_id for i in ranked)


def promising_landmarks(
    index: MatchIndex, frame: FrameQuery, earlier: PassRecord | None
) -> list[str]:
    """Landmarks by the best inliers an earlier pass found, then by retrieval votes."""
    refs = index.references
    best = earlier.best_inliers if earlier is not None else {}
    order = list(
        dict.fromkeys(refs[i].landmark_id for i in frame.control_order if not refs[i].background)
    )
    order.sort(key=lambda lid: -best.get(lid, 0))  # stable: ties keep the vote order
    return order


def sole_pass(record: PassRecord, *, affine_decision: AffineDecision) -> ImageMatch:
    """Return the result of the only pass run on a frame, with its account of itself first."""
    result = record.result
    if result is None:  # only a screened pass scores nothing, and only a second pass screens
        msg = f"the {record.name} pass scored nothing, and no earlier pass ran"
        raise ValueError(msg)
    notes = (
        f"scores from {record.method}; the controls were scored the same way",
        *record.findings,
        *result.notes,
    )
    return dataclasses.replace(
        result, notes=notes, affine=record.name == "affine", affine_decision=affine_decision
    )


def second_pass(first: ImageMatch, record: PassRecord, *, earlier: str = "plain") -> ImageMatch:
    """Weigh a second pass's result against the first's: the better verdict, both accounted.

    The second pass's result is kept only when its verdict is better; then the chance that
    either pass produces a false match is up to the sum of their false-match rates, and the
    notes say so.
    """
    result = record.result
    if result is None:  # the pass chose to score nothing: its findings say why
        notes = (*first.notes, *record.findings)
        return dataclasses.replace(first, notes=notes, affine_decision="skipped")
    if RANK[result.verdict] > RANK[first.verdict]:
        inliers = first.best.inliers if first.best else 0
        notes = (
            f"scores from {record.method}; the controls were scored the same way",
            *record.findings,
            f"the {earlier} pass gave {first.verdict} ({inliers} inliers); a second pass was "
            "run, so the chance that either pass produces a false match is up to the sum of "
            "their false-match rates",
            *result.notes,
        )
        return dataclasses.replace(
            result, notes=notes, affine=record.name == "affine", affine_decision="run"
        )
    best = result.best.inliers if result.best else 0
    note = (
        f"a second pass with {record.method} did not do better ({result.verdict}, {best} inliers)"
    )
    return dataclasses.replace(
        first, notes=(*first.notes, *record.findings, note), affine_decision="run"
    )
