"""A time with no zone is a local wall-clock time: shown and written as such, never as UTC.

EXIF DateTimeOriginal without OffsetTime and a DJI aircraft clock carry no zone and no format
rule gives them one: probe keeps them as ``local_time`` with ``utc`` null, the CLI and the
report print "(local, zone unknown)", and the time line still weighs them (+-14 h). A
QuickTime/MP4 header time is different: the format defines it as UTC, and it is shown so, with
its caveat.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime

from conftest import DATA, KARMA, VIDEO_DATA
from typer.testing import CliRunner

from geoverify.cli import app
from geoverify.models import to_jsonable
from geoverify.probing import probe

PHOTOS = DATA / "photos"
SRT = DATA / "dji_srt"
runner = CliRunner()


def test_exif_date_time_original_without_zone_is_a_local_time():
    media = probe(PHOTOS / "sony_dsc-hx5v_2.jpg")
    original = next(t for t in media.creation_times if t.source == "EXIF DateTimeOriginal")
    assert (original.raw, original.utc, original.zone_stated) == (
        "2010:05:15 17:12:05",
        None,
        False,
    )
    assert original.local_time == "2010-05-15T17:12:05"
    written = to_jsonable(original)
    assert written["utc"] is None
    assert written["local_time"] == "2010-05-15T17:12:05"
    gps = next(t for t in media.creation_times if t.source.startswith("EXIF GPS"))
    assert gps.utc == datetime(2010, 5, 15, 15, 12, 7, tzinfo=UTC)  # a GPS time has its zone

    result = runner.invoke(app, ["probe", str(PHOTOS / "sony_dsc-hx5v_2.jpg")])
    assert result.exit_code == 0, result.output
    assert "2010:05:15 17:12:05 -> 2010-05-15 17:12:05 (local, zone unknown)" in result.output
    assert "2010-05-15T17:12:05+00:00" not in result.output
    assert "-> 2010-05-15T15:12:07+00:00 (UTC; zone stated)" in result.output

    as_json = runner.invoke(app, ["probe", str(PHOTOS / "sony_dsc-hx5v_2.jpg"), "--json"])
    times = json.loads(as_json.output)["creation_times"]
    assert times[0]["utc"] is None
    assert times[0]["local_time"] == "2010-05-15T17:12:05"


def test_the_dji_aircraft_clock_is_local_and_no_note_says_its_format_is_utc(tmp_path):
    video = tmp_path / "flight.mp4"
    shutil.copy(VIDEO_DATA / "android_keyed_moov_only.mp4", video)
    shutil.copy(SRT / "mavic_pro.SRT", tmp_path / "flight.SRT")
    media = probe(video)
    clock = next(t for t in media.creation_times if t.source.startswith("DJI SRT"))
    assert (clock.utc, clock.local_time) == (None, "2017-08-05T14:11:51")
    no_zone = [n.message for n in media.notes if n.code == "W_TIME_NO_ZONE"]
    dji = next(m for m in no_zone if m.startswith("DJI SRT"))
    assert "local wall-clock time with no zone" in dji
    assert "format says UTC" not in dji
    result = runner.invoke(app, ["probe", str(video)])
    assert "-> 2017-08-05 14:11:51 (local, zone unknown) (DJI SRT first cue" in result.output
    assert "at 2017-08-05 14:11:51 (aircraft clock: local, zone unknown)" in result.output
    assert "2017-08-05T14:11:51+00:00" not in result.output


def test_a_quicktime_header_time_is_utc_by_its_format_rule():
    media = probe(KARMA)
    header = next(t for t in media.creation_times if t.source == "container creation_time")
    assert header.utc == datetime(2017, 4, 17, 19, 27, 57, tzinfo=UTC)
    assert (header.zone_stated, header.local_time) == (False, None)
    note = next(n.message for n in media.notes if n.code == "W_TIME_NO_ZONE")
    assert "the format says UTC" in note
    result = runner.invoke(app, ["probe", str(KARMA)])
    assert "2017-04-17T19:27:57+00:00 (UTC by the format's rule; no zone in the file)" in (
        result.output
    )


def test_the_time_line_still_weighs_a_local_time_at_every_zone():
    from geoverify.claims import claims_from_data
    from geoverify.evidence import Outcome, time_line

    # nokia_lumia800.jpg: DateTimeOriginal 2012:06:09 21:23:38, no zone, no GPS time
    media = probe(PHOTOS / "nokia_lumia800.jpg")

    def outcome(lo: str, hi: str) -> Outcome:
        footage = {"filmed_between": [lo, hi]}
        claims = claims_from_data({"claims_version": 2, "footage": footage, "claims": []})
        return time_line(claims.footage, media).outcome

    # 8 h after the wall clock: inside UTC-12..UTC+14 of it, so not contradicted
    assert outcome("2012-06-10T05:00:00Z", "2012-06-10T06:00:00Z") is not Outcome.CONTRADICTS
    # three days later: outside at every zone on Earth
    assert outcome("2012-06-12T21:00:00Z", "2012-06-12T22:00:00Z") is Outcome.CONTRADICTS


def test_a_matroska_date_tag_without_zone_is_a_local_time_not_an_invalid_date(tmp_path):
    from fixtures import write_clip

    clip = write_clip(
        tmp_path / "d.mkv", container_format="matroska", metadata={"date": "2020-01-01 12:00:00"}
    )
    media = probe(clip)
    (date,) = media.creation_times
    assert (date.utc, date.local_time) == (None, "2020-01-01T12:00:00")
    codes = {n.code for n in media.notes}
    assert "W_TIME_NO_ZONE" in codes
    assert "W_TIME_UNPARSEABLE" not in codes  # it was called "not a valid date"
