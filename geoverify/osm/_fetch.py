"""Fetching from Overpass (only when the user runs ``registry fetch-osm``).

One POST, bounded as a whole: connecting, the TLS handshake, the headers and the body must all
end within ``timeout_s``. A socket timeout alone bounds each read, so a server sending one byte
a second would never hit it, and name resolution has no timeout at all: the request runs in a
worker thread, the caller waits for it until the deadline, then shuts its sockets down.
Everything a server says (status reason, headers, remark, timestamps) is escaped before it is
put in a message or a record: control characters would otherwise reach the terminal.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import json
import math
import os
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import IO, Any

from geoverify.errors import GeoverifyError, InputError, NetworkError
from geoverify.models import BBox, printable
from geoverify.osm._assemble import parse_tag_filters
from geoverify.osm._read import MAX_JSON_BYTES, no_constant

DEFAULT_OVERPASS_ENDPOINT = "https://overpass-api.de/api/interpreter"
OVERPASS_ENDPOINT_ENV = "GEOVERIFY_OVERPASS_URL"
MIN_FETCH_TIMEOUT_S = 0.1
MAX_FETCH_TIMEOUT_S = 3600.0
_MAX_REDIRECTS = 5
_CHUNK_BYTES = 64 * 2**10
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HEADERS = {"User-Agent": "geoverify (registry fetch-osm)", "Accept": "application/json"}
# Overpass states in `remark` that it stopped a query ("runtime error: Query timed out in
# "query" at line 3 after 26 seconds.", "... run out of memory ..."): the elements are a part.
_PARTIAL_REMARK = re.compile(r"\berror\b|timed out|out of memory", re.IGNORECASE)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class OverpassFetch:
    """One Overpass response, saved verbatim: where from, when, its hash and data timestamp.

    ``endpoint`` is the URL the query was sent to, ``final_url`` the one that answered (they
    differ only when the server redirected to another path on the same scheme, host and port).
    ``osm_base`` is the data's timestamp as the server states it ("" when it does not), with
    any control character escaped (the saved file keeps the server's bytes).
    """

    endpoint: str
    final_url: str
    query: str
    fetched_utc: str
    path: str
    sha256: str
    size_bytes: int
    osm_base: str


def _safe(text: object, max_chars: int = 200) -> str:
    """Return server text fit for a message (``models.printable``): escaped, cut."""
    return printable(str(text), max_chars)


def _check_timeout_s(timeout_s: float) -> float:
    """Return ``timeout_s`` as a float when it is a time limit in the accepted range."""
    try:
        value = float(timeout_s)
    except (TypeError, ValueError):
        value = math.nan
    if isinstance(timeout_s, bool) or not (
        math.isfinite(value) and MIN_FETCH_TIMEOUT_S <= value <= MAX_FETCH_TIMEOUT_S
    ):
        msg = (
            f"--timeout-s {_safe(repr(timeout_s), 60)} is not a time limit from "
            f"{MIN_FETCH_TIMEOUT_S:g} to {MAX_FETCH_TIMEOUT_S:g} s"
        )
        hint = (
            f"Give seconds from {MIN_FETCH_TIMEOUT_S:g} to {MAX_FETCH_TIMEOUT_S:g}, "
            "e.g. --timeout-s 90."
        )
        raise InputError(msg, code="E_INPUT_OPTION", hint=hint)
    return value


def _check_endpoint(url: str, origin: str = "--endpoint") -> str:
    """Return ``url`` when it is an http(s) URL with a host; raise ``InputError`` otherwise.

    Only printable ASCII is accepted (a non-ASCII host goes in its ``xn--`` form, a path
    percent-encoded), so the URL can be shown and recorded as it is; credentials in the URL
    are refused (they would be written into the provenance record).
    """
    hint = "Give an http(s) URL with a host, e.g. https://overpass-api.de/api/interpreter"
    shown = _safe(repr(url), 200)
    if not isinstance(url, str) or not url.isascii() or not url.isprintable() or " " in url:
        msg = f"the Overpass endpoint {shown} ({origin}) holds spaces, control or non-ASCII text"
        hint += " (a host in its xn-- form, a path percent-encoded)"
        raise InputError(msg, code="E_INPUT_OPTION", hint=hint)
    try:
        parts = urllib.parse.urlsplit(url)
        _ = parts.port  # a port that is not a number in 0-65535 raises here
    except ValueError as exc:
        msg = f"the Overpass endpoint {shown} ({origin}) is not a valid URL: {_safe(exc, 100)}"
        raise InputError(msg, code="E_INPUT_OPTION", hint=hint) from None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        msg = f"the Overpass endpoint {shown} ({origin}) is not an http(s) URL with a host"
        raise InputError(msg, code="E_INPUT_OPTION", hint=hint)
    if parts.username is not None or parts.password is not None:
        msg = f"the Overpass endpoint {shown} ({origin}) carries credentials (user@host)"
        hint = "Give the URL without user and password; they would be saved in the provenance."
        raise InputError(msg, code="E_INPUT_OPTION", hint=hint)
    return url


def overpass_query(
    box: BBox | tuple[float, float, float, float],
    tags: Sequence[str],
    *,
    timeout_s: float = 60,
    as_of: datetime | None = None,
) -> str:
    """Write the Overpass QL query for every element matching ``tags`` in ``box``.

    ``box`` is a ``BBox`` or a (west, south, east, north) tuple in degrees.

    ``timeout_s`` (0.1 to 3600 s) is the server's time limit for the query, rounded up to whole
    seconds.
    """
    limit_s = math.ceil(_check_timeout_s(timeout_s))
    w, s, e, n = box.as_tuple() if isinstance(box, BBox) else box
    area = f"({s:.7f},{w:.7f},{n:.7f},{e:.7f})"
    parts = []
    for key, value in parse_tag_filters(tags):
        k = json.dumps(key)
        selector = f"[{k}={json.dumps(value)}]" if value is not None else f"[{k}]"
        parts.append(f"  nwr{selector}{area};")
    date = ""
    if as_of is not None:  # Overpass "attic" data: the map as it was then
        date = f'[date:"{as_of.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}"]'
    head = f"[out:json][timeout:{limit_s}]{date};\n"
    return head + "(\n" + "\n".join(parts) + "\n);\n(._;>;);\nout meta;\n"


def fetch_overpass(
    query: str,
    out_dir: str | os.PathLike[str],
    *,
    endpoint: str | None = None,
    timeout_s: float = 90.0,
) -> OverpassFetch:
    """Send one Overpass query and save the response verbatim in ``out_dir``.

    The endpoint is ``endpoint``, else the ``GEOVERIFY_OVERPASS_URL`` environment variable,
    else the public Overpass API. The response is saved as ``overpass_<sha256[:16]>.json`` with
    a ``.provenance.json`` beside it (endpoint, the URL that answered, query, time, SHA-256,
    the data's ``osm_base`` timestamp). This is the only function of geoverify that uses the
    network.

    Parameters
    ----------
    query
        Overpass QL, e.g. from ``overpass_query``.
    out_dir
        Folder for the answer and its provenance record (created when missing).
    endpoint
        An http(s) URL with a host.
    timeout_s
        Time limit of the whole fetch in seconds, 0.1 to 3600: connecting, waiting for the
        server and downloading the answer together.

    Raises
    ------
    InputError
        ``E_INPUT_OPTION``: the endpoint is not an http(s) URL with a host, or ``timeout_s`` is
        out of range (nothing is sent).
    NetworkError
        The server cannot be reached, takes longer than ``timeout_s`` (``E_NET_TIMEOUT``),
        refuses (429: rate limited, with its ``Retry-After``), answers malformed HTTP or
        something that is not Overpass JSON (``E_NET_BAD_RESPONSE``), redirects to another
        scheme, host or port (``E_NET_REDIRECT``), or says in its ``remark`` that it stopped
        the query early (``E_NET_PARTIAL``). Nothing is saved.
    """
    import hashlib

    from geoverify._io import write_atomic
    from geoverify._output import prepare_output_dir

    if endpoint:
        url, origin = endpoint, "--endpoint"
    elif os.environ.get(OVERPASS_ENDPOINT_ENV):
        url, origin = os.environ[OVERPASS_ENDPOINT_ENV], f"${OVERPASS_ENDPOINT_ENV}"
    else:
        url, origin = DEFAULT_OVERPASS_ENDPOINT, "the default"
    url = _check_endpoint(url, origin)
    limit_s = _check_timeout_s(timeout_s)
    body = urllib.parse.urlencode({"data": query}).encode("utf-8")
    raw, final_url = _post_within(url, body, limit_s)
    osm_base = _overpass_answer(raw, url)
    sha = hashlib.sha256(raw).hexdigest()
    folder = prepare_output_dir(out_dir, what="the OSM folder")
    target = folder / f"overpass_{sha[:16]}.json"
    write_atomic(target, raw)
    fetched = OverpassFetch(
        endpoint=url,
        final_url=final_url,
        query=query,
        fetched_utc=datetime.now(UTC).isoformat(timespec="seconds"),
        path=str(target),
        sha256=sha,
        size_bytes=len(raw),
        osm_base=osm_base,
    )
    write_atomic(
        target.with_suffix(".provenance.json"),
        json.dumps(dataclasses.asdict(fetched), indent=2).encode("utf-8"),
    )
    return fetched


def _overpass_answer(raw: bytes, url: str) -> str:
    """Check an answer is complete Overpass JSON; return its ``osm_base`` timestamp, escaped."""
    if len(raw) > MAX_JSON_BYTES:
        msg = f"{url} sent more than 512 MiB"
        raise NetworkError(msg, code="E_NET_BAD_RESPONSE", hint="Query a smaller area.")
    try:
        doc = json.loads(raw.decode("utf-8"), parse_constant=no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        msg = f"{url} answered something that is not JSON: {_safe(exc, 120)}"
        raise NetworkError(msg, code="E_NET_BAD_RESPONSE", hint="Check the endpoint.") from None
    remark = doc.get("remark") if isinstance(doc, dict) else None
    if remark is not None and _PARTIAL_REMARK.search(str(remark)):
        msg = f"{url} stopped the query early, its answer is partial: {_safe(remark, 200)}"
        hint = "Query a smaller area or fewer tags, or give a larger --timeout-s; or try later."
        raise NetworkError(msg, code="E_NET_PARTIAL", hint=hint)
    if not isinstance(doc, dict) or not isinstance(doc.get("elements"), list):
        said = f": {_safe(remark, 160)}" if remark is not None else ""
        msg = f"{url} answered JSON without an 'elements' list{said}"
        raise NetworkError(msg, code="E_NET_BAD_RESPONSE", hint="Check the query and endpoint.")
    osm3s = doc.get("osm3s")
    return _safe(osm3s.get("timestamp_osm_base", ""), 100) if isinstance(osm3s, dict) else ""


class _Watched:
    """A connection that hands its socket to ``watch`` once connected (HTTP or HTTPS)."""

    sock: socket.socket

    def __init__(self, *args: Any, watch: Callable[[socket.socket], None], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._watch = watch

    def connect(self) -> None:
        """Connect as the connection class does, then let the deadline watch the socket."""
        super().connect()  # type: ignore[misc]
        self._watch(self.sock)


class _WatchedHTTP(_Watched, http.client.HTTPConnection):
    """An HTTP connection whose socket the deadline watches."""


class _WatchedHTTPS(_Watched, http.client.HTTPSConnection):
    """An HTTPS connection whose socket the deadline watches."""


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, watch: Callable[[socket.socket], None]) -> None:
        super().__init__()
        self._watch_socket = watch

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        watch = self._watch_socket

        def connection(host: str, /, **kwargs: Any) -> http.client.HTTPConnection:
            return _WatchedHTTP(host, watch=watch, **kwargs)

        return self.do_open(connection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, watch: Callable[[socket.socket], None]) -> None:
        super().__init__()
        self._watch_socket = watch

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        import ssl

        watch = self._watch_socket

        def connection(host: str, /, **kwargs: Any) -> http.client.HTTPConnection:
            return _WatchedHTTPS(host, watch=watch, **kwargs)

        return self.do_open(connection, req, context=ssl.create_default_context())


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Follow no redirect here: ``_post`` checks each one (same scheme, host and port)."""

    def http_error_302(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
    ) -> None:
        """Return nothing, so the redirect reaches ``_post`` as an ``HTTPError``."""
        return None

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


def _remaining_s(deadline: float) -> float:
    """Return the seconds left before ``deadline`` (``time.monotonic``); raise when none are."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    return left


def _post_within(url: str, body: bytes, timeout_s: float) -> tuple[bytes, str]:
    """POST ``body`` to ``url``; return the answer and the URL that gave it, within the limit."""
    deadline = time.monotonic() + timeout_s
    sockets: list[socket.socket] = []
    outcome: list[tuple[bytes, str] | BaseException] = []
    expired = threading.Event()

    def shut(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)

    def watch(sock: socket.socket) -> None:
        sockets.append(sock)
        if expired.is_set():  # connected after the caller gave up
            shut(sock)

    def work() -> None:
        try:
            outcome.append(_post(url, body, deadline, watch))
        except BaseException as exc:  # handed to the caller, which raises it
            outcome.append(exc)

    worker = threading.Thread(target=work, name="geoverify-overpass", daemon=True)
    worker.start()
    finished = False
    try:
        worker.join(max(0.0, deadline - time.monotonic()))
        finished = not worker.is_alive()
    finally:
        if not finished:  # over time, or interrupted: end the request where it stands
            expired.set()
            for sock in list(sockets):
                shut(sock)
    result = outcome[0] if finished and outcome else TimeoutError()
    if isinstance(result, BaseException):
        raise _network_error(result, url, timeout_s) from None
    return result


def _post(
    url: str, body: bytes, deadline: float, watch: Callable[[socket.socket], None]
) -> tuple[bytes, str]:
    """POST ``body``, following redirects to the same scheme, host and port; runs in a thread."""
    opener = urllib.request.build_opener(_HTTPHandler(watch), _HTTPSHandler(watch), _NoRedirect())
    for _ in range(_MAX_REDIRECTS + 1):
        request = urllib.request.Request(url, data=body, headers=_HEADERS, method="POST")
        try:
            with opener.open(request, timeout=_remaining_s(deadline)) as response:
                return _read_body(response, deadline), url
        except urllib.error.HTTPError as exc:
            location = exc.headers.get("Location") if exc.headers else None
            exc.close()  # it holds the response and its socket
            if not (300 <= exc.code < 400 and location):
                raise
            url = _redirect_target(url, location)
    msg = f"{url} redirected the query more than {_MAX_REDIRECTS} times"
    raise NetworkError(msg, code="E_NET_REDIRECT", hint="Check the endpoint.")


def _read_body(response: Any, deadline: float) -> bytes:
    """Read at most 512 MiB + 1 byte, a chunk at a time, until the end or the deadline."""
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_JSON_BYTES:
        _remaining_s(deadline)
        chunk = response.read1(_CHUNK_BYTES)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _redirect_target(url: str, location: str) -> str:
    """Return where a redirect leads when it keeps the scheme, host and port of ``url``."""
    old = urllib.parse.urlsplit(url)
    try:
        new_url = urllib.parse.urldefrag(urllib.parse.urljoin(url, location.strip())).url
        new = urllib.parse.urlsplit(new_url)
        new_port = new.port or _DEFAULT_PORTS.get(new.scheme)
    except ValueError:
        msg = f"{url} redirected the query to a malformed URL {_safe(repr(location), 200)}"
        raise NetworkError(msg, code="E_NET_REDIRECT", hint="Check the endpoint.") from None
    same = (new.scheme, new.hostname, new_port) == (
        old.scheme,
        old.hostname,
        old.port or _DEFAULT_PORTS[old.scheme],
    )
    if not same or not new_url.isascii() or not new_url.isprintable() or " " in new_url:
        msg = (
            f"{url} redirected the query to {_safe(repr(new_url), 200)}, another scheme, host "
            f"or port ({old.scheme}://{old.netloc} -> {_safe(new.scheme, 20)}://"
            f"{_safe(new.netloc, 100)}): refused"
        )
        hint = "If you trust that server, give its URL as --endpoint."
        raise NetworkError(msg, code="E_NET_REDIRECT", hint=hint)
    return new_url


def _network_error(exc: BaseException, url: str, timeout_s: float) -> BaseException:
    """Return the ``NetworkError`` that says what ``exc`` means, or ``exc`` (a bug) itself."""
    if isinstance(exc, GeoverifyError):
        return exc
    if isinstance(exc, urllib.error.HTTPError):
        return _http_error(exc, url)
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, TimeoutError):
        msg = f"{url} took longer than {timeout_s:g} s (connect, answer and download together)"
        hint = "Try again later, query a smaller area, or give a larger --timeout-s."
        return NetworkError(msg, code="E_NET_TIMEOUT", hint=hint)
    if isinstance(reason, http.client.HTTPException):  # bad chunk, status line or headers
        name, text = type(reason).__name__, _safe(reason, 120)
        what = text if text.startswith(name) else f"{name}: {text}".rstrip(": ")
        msg = f"{url} answered malformed HTTP ({what})"
        return NetworkError(msg, code="E_NET_BAD_RESPONSE", hint="Check the endpoint.")
    if isinstance(reason, OSError | str):
        msg = f"cannot reach {url}: {_safe(reason, 200)}"
        hint = "Check the network, or use --endpoint."
        return NetworkError(msg, code="E_NET_UNREACHABLE", hint=hint)
    return exc


def _http_error(exc: urllib.error.HTTPError, url: str) -> GeoverifyError:
    """Return the ``NetworkError`` of an HTTP error status (429: rate limited)."""
    if exc.code == 429:
        retry = exc.headers.get("Retry-After", "") if exc.headers else ""
        wait = f" {retry.strip()} s" if re.fullmatch(r"\s*\d{1,6}\s*", retry or "") else ""
        msg = f"{url} refused the query: too many requests (HTTP 429)"
        hint = f"Wait{wait} and run it again, or use --endpoint."
        return NetworkError(msg, code="E_NET_RATE_LIMITED", hint=hint)
    msg = f"{url} answered HTTP {exc.code} {_safe(exc.reason, 100)}".rstrip()
    return NetworkError(msg, code="E_NET_HTTP", hint="Check the query and the endpoint.")
