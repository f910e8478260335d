"""The batch's records: a post, an input item, a row, the whole result."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from geoverify._io import NO_SIZE_LIMIT as NO_SIZE_LIMIT  # videos: hashed in chunks
from geoverify.models import LatLon


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Post:
    """Where an item was posted: a Telegram message, as the export states it."""

    channel: str
    message_id: int
    text: str
    posted_utc: datetime | None
    forwarded_from: str | None
    media_type: str | None
    location: LatLon | None = None
    place_name: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BatchItem:
    """One input: a file (or one that an export names but does not hold) and its posts.

    ``missing_reason`` says why there is no file; ``error_code``, ``error_message`` and
    ``error_hint`` why the file is refused without being read (a link that leaves its folder,
    a malformed export message). Either way the item is a row, never verified.
    """

    path: str
    posts: tuple[Post, ...] = ()
    missing_reason: str = ""
    skip_reason: str = ""
    error_code: str = ""
    error_message: str = ""
    error_hint: str = ""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BatchRow:
    """The result of one distinct file: its bottom line, matches, posts and links."""

    key: str
    file_sha256: str
    paths: tuple[str, ...]
    status: str  # done, failed, missing, skipped
    verdict: str | None
    rule: str | None
    landmarks_matched: tuple[str, ...]
    error_code: str | None
    error_message: str | None
    report_dir: str | None
    posts: tuple[Post, ...]
    duplicates: tuple[str, ...] = ()  # other paths with the same bytes
    near_duplicates: tuple[tuple[str, int], ...] = ()  # (key, Hamming distance in bits)
    frame_phashes: tuple[str, ...] = ()
    thumbnail: str = ""  # a small JPEG data URI of the first frame (index.html)
    # perceptual hashes at 0, 1/8, ... 7/8 of the duration ("" for a flat frame): for linking
    # near-duplicates, kept in items/KEY/row.json, not in summary.json
    fingerprint: tuple[str, ...] = ()
    # what was found, in words with the landmarks' names ("matched Berliner Dom in 3 of 4
    # frames; the file's position ... is 48 m from Berliner Dom"), and those names
    findings: str = ""
    landmark_names: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BatchResult:
    """Every row, what the run did, and where it wrote."""

    schema_version: str
    created_utc: datetime
    out_dir: str
    rows: tuple[BatchRow, ...]
    done: int
    reused: int
    failed: int
    missing: int
    skipped: int
    engine: str
    registry_sha256: str
    claims_sha256: str

    @property
    def any_failed(self) -> bool:
        """Whether any item failed or is missing (the CLI then exits 5)."""
        return self.failed > 0 or self.missing > 0
