"""Every error (``E_``), warning (``W_``) and information (``I_``) code, with its meaning.

An error code is carried by a ``GeoverifyError`` (its exit code comes from the exception's
class, ``geoverify.errors.EXIT_CODES``); ``W_`` and ``I_`` codes are ``Note`` codes in results.
``tests/test_codes.py`` checks that every code literal in the package is here, that every code
here is used, and that README.md's table is ``markdown_table()``. Run ``python -m
geoverify.codes`` to print that table.
"""

from __future__ import annotations

CODES: dict[str, str] = {
    # --- errors: inputs and options ----------------------------------------------------------
    "E_INPUT": "A bad argument or an unusable input file (the family's generic code).",
    "E_INPUT_MISSING": "The input file does not exist.",
    "E_INPUT_EMPTY": "The input file is empty (0 bytes).",
    "E_INPUT_NOT_FILE": "The input is a folder, device or other non-file.",
    "E_INPUT_NOT_REGULAR": "An input is not a regular file (a FIFO, a device).",
    "E_INPUT_UNREADABLE": "The input cannot be opened (permissions, I/O error).",
    "E_INPUT_CHANGED": "The file changed while it was read (a download still running).",
    "E_INPUT_NOT_MEDIA": "The file is no container FFmpeg can open (a web page, noise).",
    "E_INPUT_IS_IMAGE": "A still image in a format geoverify does not read (GIF, WebP, BMP, TIFF).",
    "E_INPUT_OPTION": "An option's value is out of range or does not fit the others.",
    "E_INPUT_COORD": "A position given as text cannot be read as latitude and longitude.",
    "E_INPUT_NAN": "A number is NaN or infinite where a finite value is needed.",
    "E_INPUT_TIME": "A date or time argument is malformed.",
    "E_INPUT_TYPE": "A library argument has the wrong type.",
    "E_NAIVE_DATETIME": "A datetime without a time zone was given where an aware one is needed.",
    "E_COORD_TYPE": "A coordinate is not a number.",
    "E_COORD_RANGE": "A coordinate is outside [-90, 90] / [-180, 180] or not finite.",
    "E_GEOM_INVALID": "A geometry cannot be used (a line with one vertex, an empty polygon).",
    "E_ISO6709": "A location string is not an ISO 6709 point.",
    "E_MISSING_DEPENDENCY": "An optional extra is needed; the message names the pip install.",
    "E_PROBABLY_SWAPPED": "Latitude and longitude look swapped (the area of interest says so).",
    # --- errors: media --------------------------------------------------------------------------
    "E_NO_VIDEO_STREAM": "The container holds no video stream (audio only, data only).",
    "E_CONTAINER_TRUNCATED": "The file is cut short: its index is missing or no frame decodes.",
    "E_DECODER_ERROR": "FFmpeg failed on the file.",
    "E_DECODER_CRASH": "The isolated decoder process crashed on the file.",
    "E_WORKER_DIED": "The decoder worker process ended without an answer.",
    "E_TIMEOUT": "Decoding took longer than the wall-time limit.",
    "E_IMAGE_INVALID": "An image (photo or reference) is truncated, corrupt or not an image.",
    "E_ENCODE": "Encoding a frame image (PNG/JPEG) failed.",
    "E_FRAMES_MANIFEST_MISSING": "The folder given to match holds no frames.json.",
    "E_FRAMES_MANIFEST_INVALID": "frames.json is not a frames manifest, or an image changed.",
    "E_NO_GPS_TRACK": "--track was asked for a file that carries no GPS track.",
    "E_TELEMETRY_MISSING": "The --telemetry file does not exist.",
    "E_TELEMETRY_EMPTY": "The telemetry file holds no cue.",
    "E_TELEMETRY_INVALID": "The telemetry file is not a text subtitle file.",
    "E_REFERENCE_CHANGED": "A reference image changed while matching ran.",
    "E_BACKGROUND_MISSING": "The bundled background set cannot be read (a broken install).",
    "E_BACKGROUND_CHANGED": "A background photograph differs from its manifest (a broken install).",
    "E_NO_REFERENCES": "No landmark in the registry has a reference image to match against.",
    # --- errors: limits -------------------------------------------------------------------------
    "E_LIMIT": "A resource limit was hit (the family's generic code).",
    "E_LIMIT_FILE_SIZE": "A file is larger than the documented limit for its kind.",
    "E_LIMIT_PIXELS": "An image or frame has more pixels than the limit.",
    "E_LIMIT_FRAMES": "More frames were selected than max_selected.",
    "E_LIMIT_MEMORY": "The decoder or the process ran out of memory.",
    "E_LIMIT_CELLS": "A sun search grid would have more cells than the limit.",
    # --- errors: registry -----------------------------------------------------------------------
    "E_REGISTRY_MISSING": "The registry file does not exist.",
    "E_REGISTRY_NOT_FILE": "The registry path is not a regular file.",
    "E_REGISTRY_TOO_LARGE": "The registry file is larger than the limit.",
    "E_REGISTRY_JSON": "The registry is not valid JSON.",
    "E_REGISTRY_INVALID": "The registry breaks the rules; every problem is listed with its place.",
    "E_REGISTRY_WRITE_REFUSED": "An edit would make the registry invalid; the file is unchanged.",
    "E_DUPLICATE_ID": "Two landmarks share an id.",
    "E_UNKNOWN_LANDMARK": "A landmark id that the registry does not hold.",
    "E_REF_IMAGE_MISSING": "A reference image named by the registry is missing.",
    "E_REF_IMAGE_PATH": "A reference image path leaves the registry's folder.",
    "E_REF_IMAGE_INVALID": "A reference image cannot be decoded.",
    "E_REF_IMAGE_TOO_LARGE": "A reference image is over the size or pixel limit.",
    "E_REF_IMAGE_CHANGED": "A reference image differs from the SHA-256 the registry records.",
    "E_OSM_INVALID": "An OSM file or Overpass answer cannot be read.",
    "E_OSM_BBOX_EMPTY": "The bounding box selects nothing while matching elements lie outside it.",
    # --- errors: claims ---------------------------------------------------------------------------
    "E_CLAIMS_MISSING": "The claims file does not exist.",
    "E_CLAIMS_NOT_FILE": "The claims path is not a regular file.",
    "E_CLAIMS_TOO_LARGE": "The claims file is larger than the limit.",
    "E_CLAIMS_INVALID": "The claims file breaks the claims schema; every problem is listed.",
    "E_CLAIMS_UNKNOWN_LANDMARK": "A claim names landmarks the registry does not hold (all listed).",
    "E_UNKNOWN_ROLE": "A claim uses a role the claims file does not define.",
    # --- errors: outputs, network, batch ----------------------------------------------------------
    "E_OUTPUT_PATH": "--out is a file, or lies under one.",
    "E_OUTPUT_WRITE": "An output file cannot be written (permissions, read-only file system).",
    "E_OUTPUT_DISK_FULL": "The disk filled while writing; nothing partial is left.",
    "E_OUTPUT_SYMLINK": "An output folder holds a symbolic link: refused.",
    "E_OUTPUT_NOT_EMPTY": "--out holds files geoverify did not write (use --overwrite).",
    "E_OUTPUT_EXISTS": "The output folder already holds results of another input.",
    "E_NET_UNREACHABLE": "The server cannot be reached (fetch commands only).",
    "E_NET_TIMEOUT": "The server did not answer in time.",
    "E_NET_HTTP": "The server answered with an HTTP error.",
    "E_NET_RATE_LIMITED": "The server refused for too many requests (Overpass 429).",
    "E_NET_BAD_RESPONSE": "The server's answer is not what was asked for.",
    "E_EXPORT_INVALID": "A Telegram export's result.json cannot be read.",
    "E_INTERNAL": "A bug: an unexpected exception, reported as a failed batch row.",
    # --- warnings -----------------------------------------------------------------------------
    "W_EXTENSION_MISMATCH": "The file name's extension does not fit its bytes (renamed).",
    "W_REMUXED_FFMPEG": "The file was written by FFmpeg (re-muxed by a platform or an editor).",
    "W_NO_CAPTURE_METADATA": "The file claims no capture time or place (no evidence either way).",
    "W_MEDIA_DATA_MISSING": "The index refers to media data the file lacks (truncated/stripped).",
    "W_TAG_NOT_UTF8": "A metadata tag was not valid UTF-8 (shown with U+FFFD).",
    "W_TAG_TRUNCATED": "A very long metadata tag was cut for the report.",
    "W_TIME_NO_ZONE": "A creation time carries no time zone (+-14 h when weighed).",
    "W_TIME_LOCAL_AS_UTC": "A time labelled UTC is local time (offset found against the GPS).",
    "W_TIMES_DISAGREE": "The file's creation times disagree with each other.",
    "W_TIME_GPS_DISAGREE": "The file's creation time disagrees with its GPS clock.",
    "W_TIME_IMPOSSIBLE": "A creation time is before 1995 or in the future (a reset clock).",
    "W_TIME_IMPLAUSIBLE": "A time is out of the plausible range (a date in the future).",
    "W_TIME_UNPARSEABLE": "A creation time cannot be parsed.",
    "W_CLOCK_INCONSISTENT": "A photo's camera clock and GPS time disagree; both are reported.",
    "W_LOCATION_INVALID": "A location tag does not parse or is out of range.",
    "W_LOCATION_NULL_ISLAND": "A location of (0, 0): an unset receiver, no location.",
    "W_LOCATION_GPS_DISAGREE": "The location tag and the GPS track disagree.",
    "W_GPS_NO_FIX": "The GPS track reports no fix.",
    "W_EXIF_GPS_INVALID": "A photo's GPS position is malformed or (0, 0).",
    "W_EXIF_GPS_DATE_INVALID": "A photo's GPS date is missing or malformed (time of day kept).",
    "W_EXIF_GPS_TIME_INVALID": "A photo's GPS time stamp is malformed.",
    "W_EXIF_TIME_INVALID": "A photo's EXIF date or offset is malformed.",
    "W_EXIF_NO_ORIGINAL_TIME": "No DateTimeOriginal: only the last-change DateTime.",
    "W_EXIF_DIRECTION_INVALID": "A photo's bearing field is malformed or out of range.",
    "W_EXIF_CORRUPT": "Pillow reported corrupt EXIF data; what could be read is kept.",
    "W_DIRECTION_MAGNETIC": "A bearing is from magnetic north: not converted, not true north.",
    "W_DIRECTION_REFERENCE_UNKNOWN": "A bearing states no true/magnetic reference.",
    "W_TELEMETRY_SIDECAR": "The GPS track comes from a separate sidecar file anyone can edit.",
    "W_TELEMETRY_UNREADABLE": "A sidecar with the video's name could not be read.",
    "W_TELEMETRY_TRUNCATED": "The telemetry file's last cue is incomplete (cut short).",
    "W_TELEMETRY_BAD_FIX": "Some telemetry cues hold no usable position.",
    "W_TELEMETRY_NO_POSITION": "The telemetry file holds no position at all.",
    "W_TELEMETRY_MAYBE_RADIANS": "Every telemetry position fits radians: flagged, not converted.",
    "W_TWO_TRACKS": "The file has its own GPS track and a sidecar: the embedded one is used.",
    "W_DECODE_ERROR": "Decoding stopped early; the frames that decoded are kept.",
    "W_FRAMES_MISSING": "Parts of the stream could not be decoded (uncovered ranges named).",
    "W_NO_FRAME_DECODED": "No frame decoded in a requested range.",
    "W_GEOM_REPAIRED": "A geometry was repaired on import (e.g. a self-touching ring).",
    "W_ANTIMERIDIAN": "A geometry crosses the antimeridian.",
    "W_CRS_MEMBER": "A GeoJSON file carries a legacy crs member (RFC 7946 is WGS84).",
    "W_OUTSIDE_AREA": "A landmark lies outside the registry's area of interest.",
    "W_PROBABLY_SWAPPED": "A landmark's coordinates look swapped (lat/lon).",
    "W_OSM_BAD_ELEMENT": "An OSM element is malformed and was skipped.",
    "W_OSM_INCOMPLETE": "An OSM way or relation lacks members (the extract's edge).",
    "W_OSM_UNREPRESENTABLE": "An OSM element cannot be a landmark geometry and was skipped.",
    "W_OSM_TEXT_INVALID": "An OSM text value held invalid characters (replaced).",
    "W_OSM_UNDATED": "OSM elements carry no timestamp, so --as-of cannot date them.",
    "W_OSM_NEWER_THAN_AS_OF": "An OSM element was edited after the --as-of date.",
    # --- information ------------------------------------------------------------------------
    "I_VFR": "The stream has a variable frame rate (timestamps are used, never counts).",
    "I_ENCODER": "The encoder the file names (a hint of its history).",
    "I_GPS_NO_UTC": "The GPS track has no UTC time stamps.",
    "I_NO_LOCATION": "The file claims no location.",
    "I_NO_EXIF_GPS": "A photo carries no GPS block (often stripped: no evidence either way).",
    "I_EXIF_GPS_DOP": "A photo's GPS dilution of precision (a warning above 5).",
    "I_IMPLIED_UTC_OFFSET": "The UTC offset a photo's camera clock and its GPS time imply.",
    "I_TELEMETRY_UNTIMED": "A telemetry file has no timing lines: time from the aircraft clock.",
    "I_STILL_IMAGE": "The input is a photograph: its one picture is the frame.",
    "I_FRAMES_SCREENED": "How many frames the scene scan screened rather than analysed.",
}


def markdown_table() -> str:
    """Render the codes as the Markdown table README.md holds (code, meaning), in order."""
    rows = ["| code | meaning |", "|---|---|"]
    rows += [f"| `{code}` | {meaning} |" for code, meaning in CODES.items()]
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(markdown_table())
