"""Content credentials (C2PA): read, validated, trusted or not, offline, and weighed.

The files are c2pa-python's own published fixtures (tests/data/c2pa/PROVENANCE.md); the
tampered copy is made at test time by the committed tests/data/c2pa/make_tampered.py. The
references geoverify did not compute: ExifTool's reading of the JUMBF/CBOR boxes (claim
generator, title, action, the remote manifest's URL in XMP dcterms:provenance), and the
signing certificate parsed from the file's own bytes with ``cryptography`` (its common name
and organisation). The trust list used is the test root CA taken from the file's own
certificate chain (the analyst's "own trust list"; nothing is bundled).
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest
from conftest import DATA, ROOT
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from typer.testing import CliRunner

from geoverify import probe
from geoverify.cli import app
from geoverify.evidence import Outcome
from geoverify.frames import FrameOptions
from geoverify.matching import MatchOptions
from geoverify.pipeline import VerifyOptions, save_verification, verify

C2PA = DATA / "c2pa"
BERLIN = ROOT / "samples" / "berlin"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
REMOTE_URL = (
    "https://cai-manifests.adobe.com/manifests/adobe-urn-uuid-5f37e182-3687-462e-a7fb-573462780391"
)
SCHEMA = json.loads((ROOT / "geoverify" / "schemas" / "report.schema.json").read_text())
PLAIN = VerifyOptions(
    frames=FrameOptions(best=1), matching=MatchOptions(affine="off"), text=None
)  # the text line has its own tests (test_text): OCR is most of a photo's verify
runner = CliRunner()


def _tamper_module():
    spec = importlib.util.spec_from_file_location("make_tampered", C2PA / "make_tampered.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tampered_jpg(tmp_path_factory) -> Path:
    data, _ = _tamper_module().tampered((C2PA / "C.jpg").read_bytes())
    path = tmp_path_factory.mktemp("c2pa") / "C_tampered.jpg"
    path.write_bytes(data)
    return path


def _certificates(path: Path) -> list[x509.Certificate]:
    """Every DER certificate in the file's bytes (the manifest's COSE x5chain and the TSA's)."""
    data = path.read_bytes()
    found = []
    for m in re.finditer(rb"\x30\x82", data):
        n = int.from_bytes(data[m.start() + 2 : m.start() + 4], "big")
        try:
            found.append(x509.load_der_x509_certificate(data[m.start() : m.start() + 4 + n]))
        except ValueError:
            continue
    return found


def _test_root() -> x509.Certificate:
    """The C2PA test root CA, from C.jpg's own certificate chain (a trust list of one)."""
    chain = _certificates(C2PA / "C.jpg")
    return next(c for c in chain if "C2PA Test Root CA" in c.subject.rfc4514_string())


def _name(cert: x509.Certificate, oid, *, issuer: bool = False) -> str:
    name = cert.issuer if issuer else cert.subject
    return str(name.get_attributes_for_oid(oid)[0].value)


def _pem_of(cert: x509.Certificate, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.write_bytes(cert.public_bytes(Encoding.PEM))
    return path


def _exiftool(path: Path) -> dict:
    out = subprocess.run(
        ["exiftool", "-json", "-a", "-G1", str(path)], capture_output=True, check=True, text=True
    )
    return json.loads(out.stdout)[0]


needs_exiftool = pytest.mark.skipif(shutil.which("exiftool") is None, reason="needs exiftool")


# --- probe ---------------------------------------------------------------------------------


@needs_exiftool
def test_a_signed_jpeg_validates_untrusted_without_a_trust_list():
    info = probe(C2PA / "C.jpg", now=NOW)
    cc = info.content_credentials
    assert cc is not None
    assert cc.state == "valid"
    assert not cc.trust_list
    assert cc.failure_codes == ("signingCredential.untrusted",)
    tool = _exiftool(C2PA / "C.jpg")
    assert cc.claim_generator == tool["CBOR:Claim_generator"]
    assert cc.title == tool["CBOR:Title"]
    assert [a.action for a in cc.actions] == [tool["CBOR:ActionsAction"]]
    assert cc.actions[0].software_agent == tool["CBOR:ActionsSoftwareAgent"]
    signer = next(
        c for c in _certificates(C2PA / "C.jpg") if "Signer" in c.subject.rfc4514_string()
    )
    assert cc.signer == _name(signer, NameOID.COMMON_NAME)
    assert cc.issuer == _name(signer, NameOID.ORGANIZATION_NAME)
    assert not cc.edited
    assert not cc.reencoded
    assert "I_C2PA_VALID" in {n.code for n in info.notes}
    # no capture assertion in this manifest (CreativeWork, actions, hash, thumbnail only):
    # nothing is added to the file's claims, and nothing is invented
    assert cc.capture_position is None
    assert cc.capture_time_raw is None
    assert not [t for t in info.creation_times if t.source.startswith("C2PA")]
    assert not [loc for loc in info.locations if loc.source.startswith("C2PA")]


def test_the_trust_list_decides_trusted_or_not(tmp_path):
    chain = _certificates(C2PA / "C.jpg")
    root = next(c for c in chain if "C2PA Test Root CA" in c.subject.rfc4514_string())
    other = next(c for c in chain if "DigiCert Trusted Root G4" in c.subject.rfc4514_string())
    trusted = probe(C2PA / "C.jpg", now=NOW, trust_anchors=_pem_of(root, tmp_path, "root.pem"))
    cc = trusted.content_credentials
    assert cc is not None
    assert (cc.state, cc.trust_list, cc.failure_codes) == ("trusted", True, ())
    # a trust list that does not hold the signer's authority: still valid, still untrusted
    other_list = _pem_of(other, tmp_path, "other.pem")
    untrusted = probe(C2PA / "C.jpg", now=NOW, trust_anchors=other_list).content_credentials
    assert untrusted is not None
    assert (untrusted.state, untrusted.trust_list) == ("valid", True)
    assert "not on the trust list given" in untrusted.trust_words


def test_one_flipped_bit_in_the_image_data_is_a_hash_mismatch(tampered_jpg):
    original = (C2PA / "C.jpg").read_bytes()
    changed = tampered_jpg.read_bytes()
    assert len(changed) == len(original)
    assert sum(a != b for a, b in zip(original, changed, strict=True)) == 1
    info = probe(tampered_jpg, now=NOW)
    cc = info.content_credentials
    assert cc is not None
    assert cc.state == "invalid"
    assert "assertion.dataHash.mismatch" in cc.failure_codes
    assert "W_C2PA_INVALID" in {n.code for n in info.notes}


def test_a_signed_mp4_validates_with_its_ingredient():
    info = probe(C2PA / "video1.mp4", now=NOW)
    cc = info.content_credentials
    assert cc is not None
    assert cc.state == "valid"
    assert cc.failure_codes == ("signingCredential.untrusted",)
    signer = next(
        c for c in _certificates(C2PA / "video1.mp4") if "Signer" in c.subject.rfc4514_string()
    )
    assert cc.signer == _name(signer, NameOID.COMMON_NAME)
    assert [(i.title, i.relationship) for i in cc.ingredients] == [("video1.mp4", "parentOf")]


@needs_exiftool
def test_a_remote_manifest_is_reported_with_its_url_and_not_fetched():
    info = probe(C2PA / "cloud.jpg", now=NOW)
    cc = info.content_credentials
    assert cc is not None
    assert cc.state == "remote"
    assert cc.remote_url == _exiftool(C2PA / "cloud.jpg")["XMP-dcterms:Provenance"] == REMOTE_URL
    assert "W_C2PA_REMOTE" in {n.code for n in info.notes}


@needs_exiftool
def test_a_file_without_a_manifest_is_not_found():
    assert not [k for k in _exiftool(C2PA / "A.jpg") if k.startswith(("JUMBF", "CBOR"))]
    cc = probe(C2PA / "A.jpg", now=NOW).content_credentials
    assert cc is not None
    assert cc.state == "not_found"
    assert cc.failure_codes == ()


# --- offline: no socket, in this process or any child ----------------------------------------


def test_probe_opens_no_socket_on_a_remote_manifest(monkeypatch):
    attempts = []

    def refuse(self, address):
        attempts.append(address)
        msg = f"network access attempted: {address!r}"
        raise AssertionError(msg)

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    # in this process (probe reads in its worker, which a monkeypatch does not reach: the
    # strace test below covers the worker)
    from geoverify.probing._c2pa import read_content_credentials

    assert read_content_credentials(C2PA / "cloud.jpg").state == "remote"
    assert attempts == []


_TRACE = """
import sys
from geoverify import probe
from geoverify.frames import FrameOptions
from geoverify.matching import MatchOptions
from geoverify.pipeline import VerifyOptions, save_verification, verify
path, registry, claims = sys.argv[1:4]
assert probe(path).content_credentials.state == "remote"
opts = VerifyOptions(frames=FrameOptions(best=1), matching=MatchOptions(affine="off"))
result = verify(path, registry=registry, claims=claims, options=opts)
print(result.report.bottom_line.verdict)
"""


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")
def test_probe_and_verify_open_no_network_socket_even_in_native_code(tmp_path):
    # c2pa-rs is native code: a Python-level hook would not see its sockets, strace does (with
    # remote fetching on, the same read opens a UDP socket to resolve the manifest's host)
    log = tmp_path / "trace.txt"
    script = tmp_path / "run.py"
    script.write_text(_TRACE, encoding="utf-8")
    args = [str(C2PA / "cloud.jpg"), str(BERLIN / "registry.geojson"), str(BERLIN / "claims.yaml")]
    proc = subprocess.run(
        ["strace", "-f", "-qq", "-e", "trace=socket,connect", "-o", str(log),
         sys.executable, str(script), *args],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    if proc.returncode != 0 and "ptrace" in proc.stderr:
        pytest.skip("ptrace is not permitted here")
    assert proc.returncode == 0, proc.stderr[-2000:]
    calls = log.read_text(encoding="utf-8").splitlines()
    network = [c for c in calls if "AF_INET" in c or "AF_INET6" in c]
    assert network == []


# --- isolation: c2pa-rs parses the untrusted file in the worker, as the decoders do ---------

_PARENT = """
import sys
from geoverify import probe
cc = probe(sys.argv[1]).content_credentials
print(cc.state, cc.signer, "c2pa" in sys.modules)
"""


def test_the_manifest_is_parsed_in_the_worker_not_in_the_caller(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(_PARENT, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(script), str(C2PA / "C.jpg")],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    # read and validated (by the worker), yet the Rust library never loaded in the caller
    assert proc.stdout.split() == ["valid", "C2PA", "Signer", "False"]


def test_a_reader_that_hangs_leaves_the_caller_alive_and_the_credentials_unreadable():
    from geoverify._media import DecodeLimits
    from geoverify.probing._c2pa import isolated_credentials

    # 50 ms: less than the worker needs to start, so it is killed as a hung reader would be
    cc = isolated_credentials(C2PA / "C.jpg", trust_pem=None, limits=DecodeLimits(timeout_s=0.05))
    assert cc.state == "unreadable"
    assert cc.problem is not None
    assert cc.problem.startswith("E_TIMEOUT: ")
    assert cc.signer is None  # nothing is made up for a manifest that was not read


# --- the CLI -----------------------------------------------------------------------------------


def test_cli_probe_shows_the_credentials_and_their_trust(tmp_path):
    result = runner.invoke(app, ["probe", str(C2PA / "C.jpg")])
    assert result.exit_code == 0, result.output
    assert "content credentials  valid: intact and signed by 'C2PA Signer'" in result.output
    assert "signingCredential.untrusted" in result.output
    as_json = runner.invoke(app, ["probe", str(C2PA / "cloud.jpg"), "--json"])
    record = json.loads(as_json.stdout)["content_credentials"]
    assert (record["state"], record["remote_url"]) == ("remote", REMOTE_URL)


def test_cli_refuses_a_trust_list_that_is_no_pem(tmp_path):
    bad = tmp_path / "anchors.pem"
    bad.write_text("not a certificate\n", encoding="utf-8")
    result = runner.invoke(app, ["probe", str(C2PA / "C.jpg"), "--trust-anchors", str(bad)])
    assert result.exit_code != 0
    assert "E_TRUST_ANCHORS" in result.output
    assert "Traceback" not in result.output


# --- the provenance line and rule R0 -----------------------------------------------------------


def _provenance(result):
    return next(ln for ln in result.report.bottom_line.lines if ln.line == "provenance")


def test_verify_says_first_that_a_tampered_file_changed_after_signing(tampered_jpg, tmp_path):
    result = verify(
        tampered_jpg,
        registry=BERLIN / "registry.geojson",
        claims=BERLIN / "claims.yaml",
        options=PLAIN,
        now=NOW,
    )
    bottom = result.report.bottom_line
    line = _provenance(result)
    assert (line.outcome, line.strength) == (Outcome.CONTRADICTS, "strong")
    assert "assertion.dataHash.mismatch" in line.summary
    assert (bottom.rule, bottom.verdict.value) == ("R0", "contradicted")
    assert bottom.rule_text.startswith("the file's content credentials (C2PA) fail validation")
    # the editor's two sentences: the verdict, then the broken signature (said first)
    assert result.report.plain_summary.split(". ", 1)[1].startswith(
        "The file's content credentials fail validation (assertion.dataHash.mismatch)"
    )
    # the report as written: valid against its published schema, the line and the manifest in it
    save_verification(result, tmp_path / "out")
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.validate(report, SCHEMA)
    assert report["media"]["content_credentials"]["state"] == "invalid"
    assert report["bottom_line"]["rule"] == "R0"


def test_verify_without_a_manifest_is_no_evidence_platforms_strip_them():
    result = verify(
        C2PA / "A.jpg",
        registry=BERLIN / "registry.geojson",
        claims=BERLIN / "claims.yaml",
        options=PLAIN,
        now=NOW,
    )
    line = _provenance(result)
    assert line.outcome is Outcome.NO_EVIDENCE
    assert "Platforms strip them" in line.summary
    assert result.report.bottom_line.rule != "R0"


def test_a_trusted_manifest_with_no_capture_assertion_says_so(tmp_path):
    root = next(
        c
        for c in _certificates(C2PA / "C.jpg")
        if "C2PA Test Root CA" in c.subject.rfc4514_string()
    )
    opts = VerifyOptions(
        frames=FrameOptions(best=1),
        matching=MatchOptions(affine="off"),
        trust_anchors=str(_pem_of(root, tmp_path, "root.pem")),
    )
    result = verify(
        C2PA / "C.jpg",
        registry=BERLIN / "registry.geojson",
        claims=BERLIN / "claims.yaml",
        options=opts,
        now=NOW,
    )
    line = _provenance(result)
    assert line.outcome is Outcome.NO_EVIDENCE
    assert line.numbers["state"] == "trusted"
    assert (line.numbers["capture_place"], line.numbers["capture_time"]) == (
        "not_stated",
        "not_stated",
    )
    assert "states no capture place or time" in line.summary


def test_the_capture_assertion_is_read_as_the_c2pa_documentation_writes_it():
    # No test file carries a capture assertion (PROVENANCE.md): this is the stds.exif example of
    # the Content Authenticity Initiative's manifest documentation ("Exif assertion"), as text.
    from geoverify.probing._c2pa import _capture

    example = {
        "label": "stds.exif",
        "data": {
            "@context": {"exif": "http://ns.adobe.com/exif/1.0/"},
            "exif:GPSVersionID": "2.2.0.0",
            "exif:GPSLatitude": "39,21.102N",
            "exif:GPSLongitude": "74,26.5737W",
            "exif:GPSAltitudeRef": 0,
            "exif:GPSAltitude": "100963/29890",
            "exif:GPSTimeStamp": "2019-09-22T18:22:57Z",
        },
    }
    got = _capture([example])
    # XMP's DDD,MM.mmk form: degrees plus decimal minutes, south and west negative
    assert got["capture_position"].lat == pytest.approx(39 + 21.102 / 60, abs=1e-12)
    assert got["capture_position"].lon == pytest.approx(-(74 + 26.5737 / 60), abs=1e-12)
    assert got["capture_accuracy_m"] is None  # not stated: not invented
    assert got["capture_time_raw"] == "2019-09-22T18:22:57Z"
    assert got["capture_utc"] == datetime(2019, 9, 22, 18, 22, 57, tzinfo=UTC)


def test_cli_probe_with_the_trust_list_says_trusted(tmp_path):
    root = _test_root()
    pem = _pem_of(root, tmp_path, "root.pem")
    result = runner.invoke(app, ["probe", str(C2PA / "C.jpg"), "--trust-anchors", str(pem)])
    assert result.exit_code == 0, result.output
    assert "content credentials  trusted: signed by 'C2PA Signer'" in result.output


# --- the signing time: a latest capture time, when a time stamp authority gave it ---------------

# C.jpg's signature carries a DigiCert time stamp whose token holds the one DER
# GeneralizedTime of the file, 20230929174014Z (read from the bytes below, not by geoverify):
# windows months either side of it, so the test does not hang on a second
_AFTER = "  filmed_between: [2024-01-01T00:00Z, 2024-01-02T00:00Z]\n"
_AROUND = "  filmed_between: [2023-07-01T00:00Z, 2024-01-01T00:00Z]\n"


@pytest.mark.parametrize(
    ("window", "expected"), [(_AFTER, "before_window"), (_AROUND, "consistent")]
)
def test_a_time_stamped_signature_before_the_claimed_time_contradicts_it(
    tmp_path, window, expected
):
    claims = tmp_path / "claims.yaml"
    claims.write_text(f"claims_version: 2\nfootage:\n{window}claims: []\n", encoding="utf-8")
    result = verify(
        C2PA / "C.jpg", registry=BERLIN / "registry.geojson", claims=claims, options=PLAIN, now=NOW
    )
    line = _provenance(result)
    stamped = re.findall(rb"20\d{12}Z", (C2PA / "C.jpg").read_bytes())
    assert stamped == [b"20230929174014Z"]
    assert line.numbers["signing_time"] == expected
    assert result.report.media.content_credentials.time_stamped
    if expected == "before_window":
        assert (line.outcome, line.strength) == (Outcome.CONTRADICTS, "strong")
        assert "2023-09-29T17:40:14Z" in line.summary
        assert result.report.bottom_line.verdict.value == "contradicted"
    else:  # signed after the window opened: consistent, and by itself no support
        assert line.outcome is Outcome.NO_EVIDENCE
