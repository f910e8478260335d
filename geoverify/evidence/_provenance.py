"""The provenance line: what the file's content credentials (C2PA) say about its origin.

Input: probe's ``ContentCredentials`` (read and validated offline) and the hypothesis. A
manifest that fails validation (a hash or signature mismatch) contradicts the file's
integrity: the content changed after it was signed, so the file is not what its signer
signed (rule R0 says so first). A manifest that validates and whose signer is on the
analyst's trust list supports the hypothesis when its capture assertions (place, time) fit it,
contradicts it when they do not, and is ``no_evidence`` when it states neither. An untrusted
signer (no trust list, or not on it) proves only that the file is intact since that signer
signed it: ``no_evidence`` about where and when. No manifest is ``no_evidence``: platforms
strip them. The capture place and time also reach the location and time lines, as further
claims of the file (``probe``'s ``with_credentials``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

from geoverify.evidence._measure import against
from geoverify.evidence._model import (
    CameraPosition,
    EvidenceLine,
    Outcome,
    claimed_targets,
    fmt_m,
    iso,
)

if TYPE_CHECKING:
    from geoverify.claims import ClaimSet, Hypothesis
    from geoverify.probing import ContentCredentials, MediaInfo
    from geoverify.registry import Registry

__all__ = ["provenance_line"]

_STRIPPED = (
    "The file carries no content credentials (C2PA). Platforms strip them when they re-encode "
    "an upload, so their absence says nothing either way."
)


def provenance_line(
    hyp: Hypothesis | None, media: MediaInfo, registry: Registry, claims: ClaimSet
) -> EvidenceLine:
    """Weigh the file's content credentials (C2PA) against the hypothesis."""
    cc = media.content_credentials
    if cc is None:
        return EvidenceLine(
            line="provenance",
            outcome=Outcome.NOT_TESTED,
            summary="The file's content credentials were not read.",
            would_decide=("probe the file with geoverify (it reads C2PA manifests offline)",),
        )
    numbers = _numbers(cc)
    if cc.state == "invalid":
        return _tampered(cc, numbers)
    if cc.state in ("not_found", "remote", "unreadable"):
        return _undecided(cc, numbers)
    fits = _fits(cc, hyp, registry, claims)
    numbers.update(fits)
    numbers["signing_time"] = _signing_fit(cc, hyp)
    if numbers["signing_time"] == "before_window":
        return _signed_before(cc, hyp, numbers)
    return _validated(cc, numbers, fits)


SigningFit = Literal["before_window", "consistent", "not_stamped", "not_testable"]


def _signing_fit(cc: ContentCredentials, hyp: Hypothesis | None) -> SigningFit:
    """Whether the content was signed before the claimed filming window opened.

    A validated time stamp (``time_stamped``) on an intact manifest dates the signed content:
    it existed at ``signed_utc``, so it was captured then or earlier, whoever the signer is
    (the time stamp authority vouches for the time, the data hash for the content). A signing
    time without a validated time stamp is the signer's own clock, and is not used.
    """
    if not cc.time_stamped or cc.signed_utc is None:
        return "not_stamped"
    start = hyp.filmed_from_utc if hyp is not None else None
    if start is None:
        return "not_testable"
    slack = timedelta(seconds=1)  # time stamps are given to the second
    return "before_window" if cc.signed_utc < start - slack else "consistent"


def _signed_before(
    cc: ContentCredentials, hyp: Hypothesis | None, numbers: dict[str, Any]
) -> EvidenceLine:
    """Return the contradiction: the content existed before it is said to have been filmed."""
    start = hyp.filmed_from_utc if hyp is not None else None
    signer = f" by {cc.signer!r}" if cc.signer else ""
    return EvidenceLine(
        line="provenance",
        outcome=Outcome.CONTRADICTS,
        strength="strong",
        summary=(
            f"The file's content credentials validate, and a time stamp authority dated its "
            f"signature{signer} {iso(cc.signed_utc)}: the content existed then, before the "
            f"claimed filming time opens ({iso(start)})."
        ),
        numbers=numbers,
        notes=(
            "the signing time is a latest capture time: a time stamp dates the signature, and "
            "the intact data hash ties the signature to this content; the signer's trust does "
            "not enter",
        ),
    )


def _numbers(cc: ContentCredentials) -> dict[str, Any]:
    out: dict[str, Any] = {"state": cc.state, "trust_list": cc.trust_list}
    if cc.failure_codes:
        out["failure_codes"] = list(cc.failure_codes)
    if cc.signer is not None:
        out["signer"] = cc.signer
        out["issuer"] = cc.issuer
    if cc.claim_generator is not None:
        out["claim_generator"] = cc.claim_generator
    if cc.signed_utc is not None:
        out["signed_utc"] = iso(cc.signed_utc)
    if cc.actions:
        out["actions"] = [a.action for a in cc.actions]
        out["edited"] = cc.edited
        out["reencoded"] = cc.reencoded
    if cc.remote_url is not None:
        out["remote_url"] = cc.remote_url
    return out


def _tampered(cc: ContentCredentials, numbers: dict[str, Any]) -> EvidenceLine:
    """Return the contradiction of the file's integrity: it changed after it was signed."""
    codes = ", ".join(c for c in cc.failure_codes if not c.endswith(".untrusted"))
    signer = f" by {cc.signer!r}" if cc.signer else ""
    return EvidenceLine(
        line="provenance",
        outcome=Outcome.CONTRADICTS,
        strength="strong",
        summary=(
            f"The file's content credentials fail validation ({codes or 'no code given'}): "
            f"its content changed after it was signed{signer}. The file is not what was "
            "signed, and nothing it says about itself can be taken on trust."
        ),
        numbers=numbers,
        notes=(
            "a tool that re-saves a file without updating its manifest also breaks the hash: "
            "the change may be innocent, but it is a change",
        ),
    )


def _undecided(cc: ContentCredentials, numbers: dict[str, Any]) -> EvidenceLine:
    """Return the line for a file with no manifest, a remote one, or one that cannot be read."""
    if cc.state == "remote":
        return EvidenceLine(
            line="provenance",
            outcome=Outcome.NO_EVIDENCE,
            summary=(
                f"The file's content credentials are stored remotely, at {cc.remote_url}; "
                "geoverify works offline and did not fetch them."
            ),
            numbers=numbers,
            would_decide=(
                f"fetch the manifest at {cc.remote_url} yourself and validate it against the "
                "file (e.g. with c2patool)",
            ),
        )
    if cc.state == "unreadable":
        return EvidenceLine(
            line="provenance",
            outcome=Outcome.NO_EVIDENCE,
            summary=f"The file holds a content-credentials manifest that cannot be read: "
            f"{cc.problem}",
            numbers=numbers,
            would_decide=("the original file, as its source published it",),
        )
    return EvidenceLine(
        line="provenance",
        outcome=Outcome.NO_EVIDENCE,
        summary=_STRIPPED,
        numbers=numbers,
        would_decide=("the original file, before a platform re-encoded it",),
    )


Fit = Literal["fits", "does_not_fit", "not_stated", "not_testable"]


def _fits(
    cc: ContentCredentials, hyp: Hypothesis | None, registry: Registry, claims: ClaimSet
) -> dict[str, Fit]:
    """Test the capture assertion's place and time against the hypothesis."""
    return {
        "capture_place": _place_fit(cc, hyp, registry, claims),
        "capture_time": _time_fit(cc, hyp),
    }


def _place_fit(
    cc: ContentCredentials, hyp: Hypothesis | None, registry: Registry, claims: ClaimSet
) -> Fit:
    """Whether the signed capture place lies within ``within_m`` of the claimed place."""
    if cc.capture_position is None:
        return "not_stated"
    targets = claimed_targets(hyp, registry, claims)[0] if hyp is not None else []
    if hyp is None or not targets:
        return "not_testable"
    cam = CameraPosition(
        label="C2PA capture assertion",
        position=cc.capture_position,
        accuracy_m=cc.capture_accuracy_m,
        time_utc=None,
        source="C2PA",
    )
    within = float(hyp.within_m or 0.0)
    measured = [against(tid, target, [cam], within) for tid, target in targets]
    if all(m.outside for m in measured):
        return "does_not_fit"
    return "fits" if any(m.inside for m in measured) else "not_testable"


def _time_fit(cc: ContentCredentials, hyp: Hypothesis | None) -> Fit:
    """Whether the signed capture time lies inside ``filmed_between`` (to the second)."""
    if cc.capture_time_raw is None:
        return "not_stated"
    start = hyp.filmed_from_utc if hyp is not None else None
    end = hyp.filmed_until_utc if hyp is not None else None
    if cc.capture_utc is None or (start is None and end is None):
        return "not_testable"
    slack = timedelta(seconds=1)  # EXIF times are written to the second
    early = start is not None and cc.capture_utc < start - slack
    late = end is not None and cc.capture_utc > end + slack
    return "does_not_fit" if early or late else "fits"


def _validated(
    cc: ContentCredentials, numbers: dict[str, Any], fits: dict[str, Fit]
) -> EvidenceLine:
    """Weigh a manifest that validates: trusted or not, its capture assertions fitting or not."""
    values = set(fits.values())
    stated = _stated(cc)
    origin = f"The file's content credentials validate: {cc.trust_words}"
    if cc.claim_generator:
        origin += f", written by {cc.claim_generator!r}"
    origin += "."
    if cc.state != "trusted":
        return EvidenceLine(
            line="provenance",
            outcome=Outcome.NO_EVIDENCE,
            summary=f"{origin} An untrusted signature shows only that the file is intact "
            f"since it was signed{stated}.",
            numbers=numbers,
            would_decide=(
                "the signer's certificate authority in a trust list you hold "
                "(--trust-anchors PEM), if you trust it",
            ),
        )
    if "does_not_fit" in values:
        wrong = " and ".join(
            k.removeprefix("capture_") for k, v in fits.items() if v == "does_not_fit"
        )
        return EvidenceLine(
            line="provenance",
            outcome=Outcome.CONTRADICTS,
            strength="strong",
            summary=f"{origin} Its signed capture {wrong} do not fit the hypothesis{stated}.",
            numbers=numbers,
        )
    if "fits" in values:
        right = " and ".join(k.removeprefix("capture_") for k, v in fits.items() if v == "fits")
        return EvidenceLine(
            line="provenance",
            outcome=Outcome.SUPPORTS,
            strength="strong",
            summary=f"{origin} Its signed capture {right} fit the hypothesis{stated}.",
            numbers=numbers,
        )
    return EvidenceLine(
        line="provenance",
        outcome=Outcome.NO_EVIDENCE,
        summary=f"{origin} It states no capture place or time that tests the hypothesis{stated}.",
        numbers=numbers,
        would_decide=("a capture place and time in the hypothesis to test the manifest's",),
    )


def _stated(cc: ContentCredentials) -> str:
    """Say what the capture assertion states (place, time), or that it states neither."""
    parts = []
    if cc.capture_position is not None:
        p = cc.capture_position
        acc = f" ± {fmt_m(cc.capture_accuracy_m)}" if cc.capture_accuracy_m is not None else ""
        parts.append(f"captured at {p.lat:.5f}, {p.lon:.5f}{acc}")
    if cc.capture_time_raw is not None:
        parts.append(f"at {cc.capture_time_raw}")
    if not parts:
        return " (its manifest states no capture place or time)"
    return f" ({' '.join(parts)})"
