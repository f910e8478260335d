"""Content credentials (C2PA): read and validate a file's manifest, offline.

Input: a local media file (JPEG, PNG, HEIC, MP4, MOV...) and, optionally, the analyst's own
trust list (a PEM file of certificate authorities; none is bundled). Output: a frozen
``ContentCredentials``: the validation state, the failure codes, who signed and when, the
claim generator, the actions (created, edited, re-encoded...), the ingredients and the
capture assertions (EXIF-like time and place written into the manifest).

Method: the reference implementation, c2pa-rs, through ``c2pa-python``'s ``Reader`` with its
own settings: ``verify.remote_manifest_fetch`` and ``verify.ocsp_fetch`` off, so nothing is
fetched over the network (a manifest stored remotely is reported with its URL, unfetched);
the trust list, when given, is ``trust.trust_anchors``. The states are c2pa-rs's: ``Trusted``
(valid, signed by a certificate that chains to the trust list), ``Valid`` (intact and
correctly signed, signer not on the list), ``Invalid`` (a hash or signature check failed:
the content changed after it was signed).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from geoverify._media import DecodeLimits
from geoverify.errors import GeoverifyError, InputError
from geoverify.models import LatLon, Note, Severity, sanitize_text

if TYPE_CHECKING:
    from geoverify.probing._model import MediaInfo

__all__ = [
    "ContentCredentials",
    "CredentialAction",
    "CredentialIngredient",
    "credential_notes",
    "read_content_credentials",
    "read_trust_anchors",
    "with_credentials",
]

CredentialState = Literal["trusted", "valid", "invalid", "not_found", "remote", "unreadable"]
# actions that change the picture or sound (C2PA 2.x action names), and those that re-encode it
_EDITS = frozenset(
    {
        "c2pa.edited", "c2pa.cropped", "c2pa.color_adjustments", "c2pa.drawing",
        "c2pa.filtered", "c2pa.orientation", "c2pa.resized", "c2pa.placed", "c2pa.removed",
        "c2pa.redacted", "c2pa.edited.metadata",
    }
)  # fmt: skip
_REENCODES = frozenset({"c2pa.transcoded", "c2pa.converted", "c2pa.repackaged"})
_CAPTURE_LABELS = ("stds.exif", "c2pa.metadata")  # EXIF-like assertions (C2PA 1.x, 2.x)
_MAX_PEM_BYTES = 4 * 2**20
_MAX_ITEMS = 50  # actions, ingredients, assertion labels kept for the report


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CredentialAction:
    """One action the manifest records (``c2pa.created``, ``c2pa.edited``...), as written."""

    action: str
    software_agent: str | None = None
    when: str | None = None
    digital_source_type: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CredentialIngredient:
    """A file the signed one was made from (``parentOf``) or with (``componentOf``)."""

    title: str | None
    format: str | None
    relationship: str | None
    has_manifest: bool


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ContentCredentials:
    """What a file's C2PA manifest says, and whether it validates (``read_content_credentials``).

    Attributes
    ----------
    state
        ``trusted``, ``valid`` (intact, signer not on the trust list), ``invalid`` (changed
        after signing), ``not_found`` (no manifest: platforms strip them), ``remote`` (stored
        at ``remote_url``, not fetched) or ``unreadable`` (a manifest c2pa-rs could not read;
        ``problem`` says why).
    trust_list
        Whether a trust list was given: without one no signer can be ``trusted``.
    failure_codes
        The C2PA status codes of the checks that failed (``assertion.dataHash.mismatch``,
        ``signingCredential.untrusted``...).
    signer, issuer
        The signing certificate's common name and its issuer's organisation.
    signed_utc
        The signing time the signature states (a time stamp authority's when validated).
    time_stamped
        Whether c2pa-rs validated an RFC 3161 time stamp on the signature
        (``timeStamp.validated``): ``signed_utc`` is then a time stamp authority's, not the
        signer's own clock, and a latest time for the signed content.
    claim_generator
        The software that wrote the manifest, as it names itself.
    capture_time_raw, capture_utc
        ``exif:DateTimeOriginal`` (or the GPS time) of the capture assertion, verbatim and as
        an instant when it states its zone; ``None`` when the manifest has none.
    capture_position, capture_accuracy_m, capture_heading_deg
        ``exif:GPSLatitude``/``GPSLongitude``, ``GPSHPositioningError`` (metres) and
        ``GPSImgDirection`` (degrees, as written) of the capture assertion.
    edited, reencoded
        Whether an action changed the picture or sound (edited, cropped, colour...), and
        whether one re-encoded or re-packaged the file (transcoded, converted, repackaged).
    """

    state: CredentialState
    trust_list: bool
    reader: str
    failure_codes: tuple[str, ...] = ()
    signer: str | None = None
    issuer: str | None = None
    signed_utc: datetime | None = None
    time_stamped: bool = False
    claim_generator: str | None = None
    title: str | None = None
    format: str | None = None
    manifests: int = 0
    actions: tuple[CredentialAction, ...] = ()
    ingredients: tuple[CredentialIngredient, ...] = ()
    assertions: tuple[str, ...] = ()
    capture_time_raw: str | None = None
    capture_utc: datetime | None = None
    capture_position: LatLon | None = None
    capture_accuracy_m: float | None = None
    capture_heading_deg: float | None = None
    capture_heading_ref: str | None = None
    edited: bool = False
    reencoded: bool = False
    remote_url: str | None = None
    problem: str = ""

    @property
    def trust_words(self) -> str:
        """Say how far the manifest can be trusted, in words for a report."""
        if self.state == "trusted":
            return f"signed by {self.signer!r}, a signer on the trust list given"
        if self.state == "valid":
            why = "not on the trust list given" if self.trust_list else "no trust list given"
            return f"intact and signed by {self.signer!r}, but that signer is not trusted ({why})"
        return f"content credentials {self.state.replace('_', ' ')}"


def read_trust_anchors(path: str | os.PathLike[str]) -> str:
    """Read a PEM file of trusted certificate authorities (the analyst's own trust list).

    Raises
    ------
    InputError
        ``E_TRUST_ANCHORS`` when the file is missing, unreadable, too large or holds no PEM
        certificate.
    """
    p = Path(os.fspath(path))
    hint = "Give a PEM file of the certificate authorities you trust (-----BEGIN CERTIFICATE-----)."
    try:
        if not p.is_file():
            msg = f"trust anchors {str(p)!r}: not a file"
            raise InputError(msg, code="E_TRUST_ANCHORS", hint=hint)
        if p.stat().st_size > _MAX_PEM_BYTES:
            msg = f"trust anchors {str(p)!r}: larger than {_MAX_PEM_BYTES} bytes"
            raise InputError(msg, code="E_TRUST_ANCHORS", hint=hint)
        text = p.read_text(encoding="ascii", errors="replace")
    except OSError as exc:
        msg = f"trust anchors {str(p)!r}: {exc.strerror or exc}"
        raise InputError(msg, code="E_TRUST_ANCHORS", hint=hint) from None
    if "-----BEGIN CERTIFICATE-----" not in text:
        msg = f"trust anchors {str(p)!r}: no PEM certificate in the file"
        raise InputError(msg, code="E_TRUST_ANCHORS", hint=hint)
    return text


def _settings(trust_pem: str | None) -> dict[str, Any]:
    """Return c2pa-rs settings that never go online (and the trust list, when given)."""
    settings: dict[str, Any] = {
        "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False, "verify_trust": True}
    }
    if trust_pem is not None:
        settings["trust"] = {"trust_anchors": trust_pem}
    return settings


def read_content_credentials(
    path: str | os.PathLike[str], *, trust_pem: str | None = None
) -> ContentCredentials:
    """Read and validate the C2PA manifest of a local file, with nothing fetched online.

    Parameters
    ----------
    path
        A local regular file (``probe`` has checked it).
    trust_pem
        The trust list's PEM text (``read_trust_anchors``), or ``None``: no signer is trusted.

    Returns
    -------
    ContentCredentials
        ``state`` is ``not_found`` when the file carries no manifest.
    """
    import c2pa

    reader_name = f"c2pa-rs {c2pa.sdk_version()} (c2pa-python)"
    base = {"trust_list": trust_pem is not None, "reader": reader_name}
    context = c2pa.Context.from_dict(_settings(trust_pem))
    try:
        with c2pa.Reader(os.fspath(path), context=context) as reader:
            manifest_json = reader.json()
            state = reader.get_validation_state()
    except c2pa.C2paError.ManifestNotFound:
        return ContentCredentials(state="not_found", **base)  # type: ignore[arg-type]
    except c2pa.C2paError.NotSupported as exc:
        return ContentCredentials(state="not_found", problem=_text(exc), **base)  # type: ignore[arg-type]
    except c2pa.C2paError as exc:
        message = _text(exc)
        url = re.search(r"\bfrom url (\S+)", message) if message.startswith("Remote") else None
        if url is not None:
            return ContentCredentials(state="remote", remote_url=url.group(1), **base)  # type: ignore[arg-type]
        return ContentCredentials(state="unreadable", problem=message, **base)  # type: ignore[arg-type]
    return _described(json.loads(manifest_json), state, base)


def _text(exc: Exception) -> str:
    return sanitize_text(str(exc), max_chars=500)


def _described(
    store: Mapping[str, Any], state: str | None, base: Mapping[str, Any]
) -> ContentCredentials:
    """Turn the reader's manifest store (its JSON) into ``ContentCredentials``."""
    manifests = store.get("manifests") or {}
    active = manifests.get(store.get("active_manifest") or "") or {}
    failures = _failures(store)
    signature = active.get("signature_info") or {}
    assertions = [a for a in active.get("assertions") or () if isinstance(a, Mapping)]
    actions = _actions(assertions)
    return ContentCredentials(
        state=_state(state, failures),
        failure_codes=failures,
        signer=_str(signature.get("common_name")),
        issuer=_str(signature.get("issuer")),
        signed_utc=_instant(_str(signature.get("time"))),
        time_stamped="timeStamp.validated" in _successes(store),
        claim_generator=_generator(active),
        title=_str(active.get("title")),
        format=_str(active.get("format")),
        manifests=len(manifests),
        actions=actions,
        edited=any(a.action in _EDITS for a in actions),
        reencoded=any(a.action in _REENCODES for a in actions),
        ingredients=_ingredients(active.get("ingredients") or ()),
        assertions=tuple(_str(a.get("label")) or "?" for a in assertions)[:_MAX_ITEMS],
        **_capture(assertions),
        **base,
    )


def _successes(store: Mapping[str, Any]) -> set[str]:
    """Return the codes of the active manifest's checks that passed."""
    results = store.get("validation_results") or {}
    active = results.get("activeManifest") if isinstance(results, Mapping) else None
    passed = active.get("success") if isinstance(active, Mapping) else None
    return {str(s.get("code")) for s in passed or () if isinstance(s, Mapping)}


def _failures(store: Mapping[str, Any]) -> tuple[str, ...]:
    """Return the codes of the failed checks, once each, in the reader's order."""
    statuses = [s for s in store.get("validation_status") or () if isinstance(s, Mapping)]
    return tuple(dict.fromkeys(_str(s.get("code")) or "?" for s in statuses))


def _state(state: str | None, failures: Sequence[str]) -> CredentialState:
    """Map c2pa-rs's validation state; a failure other than trust makes it invalid."""
    if state == "Trusted":
        return "trusted"
    if state == "Valid" and all(c.startswith("signingCredential.untrusted") for c in failures):
        return "valid"
    return "invalid"


def _str(value: Any) -> str | None:
    return sanitize_text(value, max_chars=500) if isinstance(value, str) else None


def _generator(active: Mapping[str, Any]) -> str | None:
    """Return the claim generator: a string (C2PA 1.x), or ``claim_generator_info``'s names."""
    gen = _str(active.get("claim_generator"))
    if gen is not None:
        return gen
    infos = [i for i in active.get("claim_generator_info") or () if isinstance(i, Mapping)]
    names = [" ".join(filter(None, (_str(i.get("name")), _str(i.get("version"))))) for i in infos]
    return "; ".join(n for n in names if n) or None


def _actions(assertions: Sequence[Mapping[str, Any]]) -> tuple[CredentialAction, ...]:
    out = []
    for a in assertions:
        if not str(a.get("label", "")).startswith("c2pa.actions"):
            continue
        for act in (a.get("data") or {}).get("actions") or ():
            if not isinstance(act, Mapping):
                continue
            agent = act.get("softwareAgent")
            if isinstance(agent, Mapping):  # C2PA 2.x: a claim generator info object
                agent = agent.get("name")
            out.append(
                CredentialAction(
                    action=_str(act.get("action")) or "?",
                    software_agent=_str(agent),
                    when=_str(act.get("when")),
                    digital_source_type=_str(act.get("digitalSourceType")),
                )
            )
    return tuple(out[:_MAX_ITEMS])


def _ingredients(items: Sequence[Any]) -> tuple[CredentialIngredient, ...]:
    return tuple(
        CredentialIngredient(
            title=_str(i.get("title")),
            format=_str(i.get("format")),
            relationship=_str(i.get("relationship")),
            has_manifest=bool(i.get("active_manifest") or i.get("manifest_data")),
        )
        for i in items[:_MAX_ITEMS]
        if isinstance(i, Mapping)
    )


# --- the capture assertion: EXIF written into the manifest (XMP forms, as C2PA specifies) ----


def _capture(assertions: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Read time, place, accuracy and heading from an EXIF-like assertion, if there is one."""
    data: dict[str, Any] = {}
    for a in assertions:
        if a.get("label") in _CAPTURE_LABELS and isinstance(a.get("data"), Mapping):
            data.update(a["data"])
    raw_time = _str(data.get("exif:DateTimeOriginal")) or _str(data.get("exif:GPSTimeStamp"))
    lat = _xmp_angle(data.get("exif:GPSLatitude"), "NS")
    lon = _xmp_angle(data.get("exif:GPSLongitude"), "EW")
    position = None
    if lat is not None and lon is not None and -90 <= lat <= 90 and -180 <= lon <= 180:
        position = LatLon(lat, lon)
    return {
        "capture_time_raw": raw_time,
        "capture_utc": _instant(raw_time),
        "capture_position": position,
        "capture_accuracy_m": _number(data.get("exif:GPSHPositioningError")),
        "capture_heading_deg": _number(data.get("exif:GPSImgDirection")),
        "capture_heading_ref": _str(data.get("exif:GPSImgDirectionRef")),
    }


_XMP_ANGLE = re.compile(
    r"^\s*(\d{1,3}),(\d{1,2}(?:\.\d+)?)(?:,(\d{1,2}(?:\.\d+)?))?\s*([NSEW])\s*$"
)


def _xmp_angle(value: Any, hemispheres: str) -> float | None:
    """Read an XMP GPS angle, ``DDD,MM.mmk`` or ``DDD,MM,SSk`` (XMP part 2, GPSCoordinate)."""
    m = _XMP_ANGLE.match(value) if isinstance(value, str) else None
    if m is None or m.group(4) not in hemispheres:
        return None
    deg = int(m.group(1)) + float(m.group(2)) / 60 + float(m.group(3) or 0) / 3600
    return -deg if m.group(4) in "SW" else deg


def _number(value: Any) -> float | None:
    """Read a number, or an XMP rational ``num/den``; ``None`` if neither."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        num, _, den = value.partition("/")
        try:
            return float(num) / float(den or 1)
        except (ValueError, ZeroDivisionError):
            return None
    return None


def _instant(raw: str | None) -> datetime | None:
    """Return the instant of an ISO 8601 time that states its zone; ``None`` otherwise."""
    if raw is None:
        return None
    try:
        t = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return t.astimezone(UTC) if t.tzinfo is not None else None


# --- probe's notes -----------------------------------------------------------------------------


def credential_notes(cc: ContentCredentials) -> list[Note]:
    """Return probe's notes about the content credentials (a state other than none)."""
    field = "content_credentials"
    if cc.state == "invalid":
        codes = ", ".join(cc.failure_codes) or "no code given"
        msg = (
            f"the content credentials fail validation ({codes}): the file changed after it "
            "was signed"
        )
        return [Note(code="W_C2PA_INVALID", message=sanitize_text(msg), field=field)]
    if cc.state == "remote":
        msg = (
            f"the content credentials are stored remotely at {cc.remote_url}: not fetched (offline)"
        )
        return [Note(code="W_C2PA_REMOTE", message=sanitize_text(msg), field=field)]
    if cc.state == "unreadable":
        msg = f"a content-credentials manifest could not be read: {cc.problem}"
        return [Note(code="W_C2PA_UNREADABLE", message=sanitize_text(msg), field=field)]
    if cc.state in ("valid", "trusted"):
        msg = f"content credentials (C2PA) validate: {cc.trust_words}"
        return [
            Note(
                code="I_C2PA_VALID", message=sanitize_text(msg), severity=Severity.INFO, field=field
            )
        ]
    return []


# --- into probe's result -----------------------------------------------------------------------


def read_in_worker(path: str, trust_pem: str | None) -> ContentCredentials:
    """Run ``read_content_credentials`` (the isolated worker's entry point: positional)."""
    return read_content_credentials(path, trust_pem=trust_pem)


def isolated_credentials(
    path: str | os.PathLike[str], *, trust_pem: str | None, limits: DecodeLimits | None = None
) -> ContentCredentials:
    """Read the file's content credentials in the isolated worker process (``_worker``).

    c2pa-rs parses the untrusted file as the decoders do, so it runs under the same limits: a
    crash, hang or memory blow-up of the reader leaves the caller alive and the credentials
    ``unreadable``, with the worker's error code and message as their ``problem``.
    """
    from geoverify._worker import run_isolated

    try:
        cc: ContentCredentials = run_isolated(
            read_in_worker, os.fspath(path), trust_pem, limits=limits or DecodeLimits()
        )
    except GeoverifyError as exc:
        from importlib.metadata import version

        problem = sanitize_text(f"{exc.code}: {exc}", max_chars=500)
        return ContentCredentials(
            state="unreadable",
            problem=problem,
            trust_list=trust_pem is not None,
            reader=f"c2pa-python {version('c2pa-python')} (its worker failed)",
        )
    return cc


def with_credentials(
    media: MediaInfo, trust_pem: str | None = None, limits: DecodeLimits | None = None
) -> MediaInfo:
    """Return ``media`` with its content credentials read, noted and their claims added.

    The manifest is read in the isolated worker (``isolated_credentials``, under ``limits``).
    The capture time, place and heading of a manifest that validates (``valid`` or
    ``trusted``) join the file's other claims, their source naming the signer and its trust;
    an invalid manifest's are not added (its content changed after signing).
    """
    cc = isolated_credentials(media.local_path or media.path, trust_pem=trust_pem, limits=limits)
    times, places, views = _claims_of(cc)
    return dataclasses.replace(
        media,
        content_credentials=cc,
        creation_times=(*media.creation_times, *times),
        locations=(*media.locations, *places),
        directions=(*media.directions, *views),
        notes=(*media.notes, *credential_notes(cc)),
    )


def _claims_of(cc: ContentCredentials) -> tuple[list[Any], list[Any], list[Any]]:
    """Return the capture assertion's time, place and heading as probe's claim types."""
    from geoverify.probing._model import CameraDirection, CreationTime, LocationClaim

    if cc.state not in ("valid", "trusted"):
        return [], [], []
    trust = "trusted" if cc.state == "trusted" else "untrusted"
    source = f"C2PA capture assertion ({trust} signer {cc.signer!r})"
    times, places, views = [], [], []
    if cc.capture_time_raw is not None:
        zone = cc.capture_utc is not None
        local = None if zone else _local(cc.capture_time_raw)
        times.append(
            CreationTime(
                source=source,
                raw=cc.capture_time_raw,
                utc=cc.capture_utc,
                zone_stated=zone,
                local_offset=None,
                local_time=local,
            )
        )
    pos = cc.capture_position
    if pos is not None:
        places.append(
            LocationClaim(
                source=source,
                raw=f"{pos.lat:.6f},{pos.lon:.6f}",
                position=pos,
                altitude_m=None,
                accuracy_m=cc.capture_accuracy_m,
                problem="",
            )
        )
    heading = cc.capture_heading_deg
    if heading is not None and 0 <= heading <= 360:
        ref = {"T": "true", "M": "magnetic"}.get(cc.capture_heading_ref or "", "unknown")
        views.append(
            CameraDirection(
                source=f"{source} exif:GPSImgDirection",
                kind="view",
                bearing_deg=heading % 360,
                reference=ref,
            )
        )
    return times, places, views


def _local(raw: str) -> str | None:
    """Return a zone-less ISO time as ``local_time`` writes it, or ``None`` if unreadable."""
    try:
        return (
            datetime.fromisoformat(raw.strip()).replace(tzinfo=None).isoformat(timespec="seconds")
        )
    except ValueError:
        return None
