"""The shared transport policy: timeouts, retries, Retry-After, creates, downloads, SSE."""

from __future__ import annotations

import email.utils
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from studio.errors import Cancelled
from studio.providers.errors import (
    AmbiguousSubmissionError,
    BadInputError,
    LinkExpiredError,
    NetworkError,
    ServerError,
)
from studio.providers.http import Transport, TransportPolicy, retry_after, seconds_text
from studio.providers.sse import EventStreamParser, ServerSentEvent, parse_events
from studio.work import CancelToken

KEY = "tsk_SECRET_transport_key_123456"
NOW = 1_800_000_000.0

Handler = Callable[[httpx.Request], httpx.Response]


class Sleeps(list[float]):
    """A fake ``sleep`` that records its waits."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_transport(
    handler: Handler,
    *,
    policy: TransportPolicy | None = None,
    client_headers: dict[str, str] | None = None,
) -> tuple[Transport, Sleeps]:
    sleeps = Sleeps()
    client = httpx.Client(transport=httpx.MockTransport(handler), headers=client_headers)
    transport = Transport(
        "Tripo",
        client,
        headers=lambda: {"Authorization": f"Bearer {KEY}"},
        policy=policy,
        sleep=sleeps,
        now=lambda: NOW,
    )
    return transport, sleeps


def answers(*responses: httpx.Response | Exception) -> tuple[Handler, list[httpx.Request]]:
    """A handler giving ``responses`` in turn (raising the exceptions), and the requests seen."""
    seen: list[httpx.Request] = []
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, Exception):
            raise item
        return item

    return handler, seen


# -- Retry-After ---------------------------------------------------------------------------


def _with_retry_after(value: str) -> httpx.Response:
    return httpx.Response(429, headers={"Retry-After": value})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7", 7.0),
        ("0", 0.0),
        ("2.5", 2.5),
        ("-3", 0.0),
        ("3600", 60.0),
        ("", None),
        ("soon", None),
        ("nan", None),
        (email.utils.formatdate(NOW + 12, usegmt=True), 12.0),
        (email.utils.formatdate(NOW - 30, usegmt=True), 0.0),
        (email.utils.formatdate(NOW + 600, usegmt=True), 60.0),
    ],
)
def test_retry_after_reads_seconds_and_http_dates(value: str, expected: float | None) -> None:
    response = _with_retry_after(value) if value else httpx.Response(429)
    assert retry_after(response, now=lambda: NOW, cap=60.0) == expected


def test_seconds_text_rounds_up() -> None:
    assert seconds_text(7) == "7 s"
    assert seconds_text(0.2) == "1 s"
    assert seconds_text(6.1) == "7 s"


# -- reads ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_reads_are_retried_on_passing_failures(status: int) -> None:
    handler, seen = answers(httpx.Response(status), httpx.Response(200, json={"ok": 1}))
    transport, sleeps = make_transport(handler)
    response = transport.read("GET", "https://api.example/x")
    assert response.status_code == 200
    assert len(seen) == 2
    assert sleeps == [1.0]


def test_reads_back_off_exponentially_then_give_the_last_answer() -> None:
    handler, seen = answers(httpx.Response(503))
    transport, sleeps = make_transport(handler)
    response = transport.read("GET", "https://api.example/x")
    assert response.status_code == 503
    assert len(seen) == 6
    assert sleeps == [1.0, 2.0, 4.0, 8.0, 16.0]


def test_backoff_is_capped_at_thirty_seconds() -> None:
    policy = TransportPolicy(max_tries=8)
    assert [policy.backoff(n) for n in range(7)] == [1, 2, 4, 8, 16, 30, 30]


def test_reads_honour_retry_after() -> None:
    date = email.utils.formatdate(NOW + 9, usegmt=True)
    handler, _ = answers(
        _with_retry_after("7"), _with_retry_after(date), httpx.Response(200, json={})
    )
    transport, sleeps = make_transport(handler)
    assert transport.read("GET", "https://api.example/x").status_code == 200
    assert sleeps == [7.0, 9.0]


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 422])
def test_reads_are_not_retried_on_lasting_failures(status: int) -> None:
    handler, seen = answers(httpx.Response(status))
    transport, sleeps = make_transport(handler)
    assert transport.read("GET", "https://api.example/x").status_code == status
    assert len(seen) == 1
    assert sleeps == []


def test_network_failures_on_reads_are_retried_then_reported_plainly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    handler, seen = answers(httpx.ConnectError(f"boom Bearer {KEY}"))
    transport, sleeps = make_transport(handler)
    with pytest.raises(NetworkError) as info:
        transport.read("GET", "https://api.example/x")
    assert str(info.value) == (
        "Tripo can't be reached. Check the internet connection and try again."
    )
    assert len(seen) == 6
    assert sleeps == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert KEY not in caplog.text
    assert info.value.__cause__ is None  # the httpx error (and its text) is not chained


def test_a_dropped_read_recovers() -> None:
    handler, seen = answers(httpx.ReadError("reset"), httpx.Response(200, json={}))
    transport, sleeps = make_transport(handler)
    assert transport.read("GET", "https://api.example/x").status_code == 200
    assert sleeps == [1.0]
    assert len(seen) == 2


def test_every_request_has_a_timeout_and_the_auth_header() -> None:
    handler, seen = answers(httpx.Response(200, json={}))
    transport, _ = make_transport(handler, policy=TransportPolicy(create_read_timeout=0.5))
    transport.read("GET", "https://api.example/x")
    transport.create("https://api.example/create", json={})
    read_timeout = seen[0].extensions["timeout"]
    create_timeout = seen[1].extensions["timeout"]
    assert read_timeout == {"connect": 10.0, "read": 30.0, "write": 30.0, "pool": 30.0}
    assert create_timeout["connect"] == 10.0
    assert create_timeout["read"] == 0.5
    assert all(r.headers["Authorization"] == f"Bearer {KEY}" for r in seen)


def test_cancel_is_checked_between_retries() -> None:
    cancel = CancelToken()

    def handler(request: httpx.Request) -> httpx.Response:
        cancel.cancel()
        return httpx.Response(503)

    transport, _ = make_transport(handler)
    with pytest.raises(Cancelled):
        transport.read("GET", "https://api.example/x", cancel=cancel)


@pytest.mark.parametrize("url", ["ftp://api.example/x", "api.example/x", "http://[::1/x"])
def test_a_base_url_that_is_no_web_address_is_a_plain_bad_input(url: str) -> None:
    handler, seen = answers(httpx.Response(200, json={}))
    transport, sleeps = make_transport(handler)
    for call in (
        lambda: transport.read("GET", url),
        lambda: transport.create(url, json={}),
    ):
        with pytest.raises(BadInputError, match="not a web address"):
            call()
    assert seen == []
    assert sleeps == []


# -- creates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("timed out"),
        httpx.WriteTimeout("timed out"),
        httpx.ReadError("connection reset"),
        httpx.RemoteProtocolError("server disconnected"),
    ],
)
def test_a_create_that_may_have_arrived_is_never_replayed(
    failure: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    handler, seen = answers(failure, httpx.Response(200, json={}))
    transport, sleeps = make_transport(handler)
    with pytest.raises(AmbiguousSubmissionError) as info:
        transport.create("https://api.example/create", json={"prompt": "a cat"})
    assert len(seen) == 1
    assert sleeps == []
    assert "Tripo" in str(info.value)
    assert KEY not in str(info.value)
    assert KEY not in caplog.text


def test_a_create_that_never_connected_is_tried_again() -> None:
    handler, seen = answers(httpx.ConnectError("refused"), httpx.Response(200, json={"ok": 1}))
    transport, sleeps = make_transport(handler)
    assert transport.create("https://api.example/create", json={}).status_code == 200
    assert len(seen) == 2
    assert sleeps == [1.0]


def test_a_refused_create_429_is_asked_again_after_retry_after() -> None:
    handler, seen = answers(_with_retry_after("7"), httpx.Response(200, json={"ok": 1}))
    transport, sleeps = make_transport(handler)
    assert transport.create("https://api.example/create", json={}).status_code == 200
    assert len(seen) == 2
    assert sleeps == [7.0]


def test_a_create_429_gives_up_after_its_tries() -> None:
    handler, seen = answers(_with_retry_after("5"))
    transport, sleeps = make_transport(handler, policy=TransportPolicy(create_rate_limit_tries=2))
    assert transport.create("https://api.example/create", json={}).status_code == 429
    assert len(seen) == 2
    assert sleeps == [5.0]


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_create_5xx_is_returned_not_retried(status: int) -> None:
    handler, seen = answers(httpx.Response(status), httpx.Response(200, json={}))
    transport, sleeps = make_transport(handler)
    assert transport.create("https://api.example/create", json={}).status_code == status
    assert len(seen) == 1
    assert sleeps == []


def test_a_cut_upload_is_a_plain_network_error() -> None:
    handler, seen = answers(httpx.ReadTimeout("timed out"))
    transport, _ = make_transport(handler)
    with pytest.raises(NetworkError, match="nothing was charged"):
        transport.create(
            "https://api.example/files",
            files={"file": ("a.png", b"png", "image/png")},
            what="upload",
        )
    assert len(seen) == 1


# -- downloads -----------------------------------------------------------------------------


class Chunks(httpx.SyncByteStream):
    """A body that sends ``chunks`` and then, optionally, breaks."""

    def __init__(self, chunks: list[bytes], *, then: Exception | None = None) -> None:
        self.chunks = chunks
        self.then = then

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
        if self.then is not None:
            raise self.then


def test_downloads_never_carry_credentials(tmp_path: Path) -> None:
    handler, seen = answers(httpx.Response(200, content=b"glTF-bytes"))
    transport, _ = make_transport(
        handler,
        client_headers={"Authorization": f"Bearer {KEY}", "Cookie": "session=1"},
    )
    dest = transport.download(
        "https://cdn.example/model.glb?Expires=1&Signature=x", tmp_path / "m.glb"
    )
    assert dest.read_bytes() == b"glTF-bytes"
    assert "authorization" not in seen[0].headers
    assert "cookie" not in seen[0].headers


def test_download_streams_with_progress_and_leaves_no_temp_files(tmp_path: Path) -> None:
    body = b"x" * 200_000
    handler, _ = answers(httpx.Response(200, content=body))
    transport, _ = make_transport(handler, policy=TransportPolicy(chunk_size=50_000))
    reports: list[tuple[float, str]] = []
    dest = transport.download(
        "https://cdn.example/m.glb",
        tmp_path / "out" / "m.glb",
        progress=lambda f, s: reports.append((f, s)),
        stage="Downloading the model",
    )
    assert dest.read_bytes() == body
    assert reports[0] == (0.0, "Downloading the model")
    assert reports[-1] == (1.0, "Downloading the model")
    assert [f for f, _ in reports] == sorted(f for f, _ in reports)
    assert sorted(p.name for p in dest.parent.iterdir()) == ["m.glb"]


def test_a_dropped_download_is_retried_from_the_start(tmp_path: Path) -> None:
    handler, seen = answers(
        httpx.Response(
            200,
            headers={"Content-Length": "6"},
            stream=Chunks([b"abc"], then=httpx.ReadError("reset")),
        ),
        httpx.Response(503),
        httpx.Response(200, content=b"abcdef"),
    )
    transport, sleeps = make_transport(handler)
    dest = transport.download("https://cdn.example/m.glb", tmp_path / "m.glb")
    assert dest.read_bytes() == b"abcdef"
    assert len(seen) == 3
    assert sleeps == [1.0, 2.0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.glb"]


def test_a_short_download_counts_as_a_drop(tmp_path: Path) -> None:
    handler, seen = answers(
        httpx.Response(200, headers={"Content-Length": "10"}, stream=Chunks([b"abc"])),
        httpx.Response(200, content=b"abcdefghij"),
    )
    transport, _ = make_transport(handler)
    assert transport.download("https://cdn.example/m.glb", tmp_path / "m.glb").read_bytes() == (
        b"abcdefghij"
    )
    assert len(seen) == 2


@pytest.mark.parametrize("status", [403, 404, 410])
def test_a_stale_link_is_link_expired(tmp_path: Path, status: int) -> None:
    handler, seen = answers(httpx.Response(status, text=f"denied {KEY}"))
    transport, _ = make_transport(handler)
    with pytest.raises(LinkExpiredError) as info:
        transport.download("https://cdn.example/m.glb?Signature=abc", tmp_path / "m.glb")
    assert len(seen) == 1
    assert "Signature" not in str(info.value)
    assert KEY not in str(info.value)
    assert not (tmp_path / "m.glb").exists()


def test_a_download_that_keeps_failing_is_a_server_error(tmp_path: Path) -> None:
    handler, seen = answers(httpx.Response(502))
    transport, sleeps = make_transport(handler, policy=TransportPolicy(max_tries=3))
    with pytest.raises(ServerError, match="file server kept failing"):
        transport.download("https://cdn.example/m.glb", tmp_path / "m.glb")
    assert len(seen) == 3
    assert sleeps == [1.0, 2.0]


def test_a_cancelled_download_stops_between_chunks_and_keeps_nothing(tmp_path: Path) -> None:
    cancel = CancelToken()
    handler, _ = answers(httpx.Response(200, stream=Chunks([b"a", b"b", b"c"])))
    transport, _ = make_transport(handler)

    def progress(fraction: float, stage: str) -> None:
        cancel.cancel()

    with pytest.raises(Cancelled):
        transport.download(
            "https://cdn.example/m.glb", tmp_path / "m.glb", progress=progress, cancel=cancel
        )
    assert list(tmp_path.iterdir()) == []


# -- server-sent events --------------------------------------------------------------------


def _events(*chunks: bytes) -> list[ServerSentEvent]:
    return list(parse_events(chunks))


def test_sse_basic_message_and_named_event() -> None:
    events = _events(b'event: message\ndata: {"a":1}\n\nevent: error\ndata: {"b":2}\n\n')
    assert events == [
        ServerSentEvent("message", '{"a":1}'),
        ServerSentEvent("error", '{"b":2}'),
    ]


def test_sse_joins_data_lines_and_defaults_the_type() -> None:
    assert _events(b"data: one\ndata:two\ndata\n\n") == [ServerSentEvent("message", "one\ntwo\n")]


def test_sse_comments_unknown_fields_and_empty_events_are_ignored() -> None:
    events = _events(b": keep-alive\n\nfoo: bar\n\nevent: x\n\ndata: y\n\n")
    assert events == [ServerSentEvent("message", "y")]


def test_sse_line_endings_crlf_cr_and_lf_split_across_chunks() -> None:
    events = _events(b"data: a\r", b"\ndata: b\r\r", b"data: c\n", b"\n")
    assert events == [ServerSentEvent("message", "a\nb"), ServerSentEvent("message", "c")]


def test_sse_only_one_leading_space_is_dropped_and_colons_in_values_kept() -> None:
    assert _events(b"data:  two spaces: yes\n\n") == [
        ServerSentEvent("message", " two spaces: yes")
    ]


def test_sse_bom_utf8_split_and_unicode_line_separators() -> None:
    text = 'data: {"p":"caf\u00e9 \u2028 ok"}\n\n'.encode()
    cut = text.index(b"\xc3") + 1  # split inside the two-byte é
    events = _events(b"\xef\xbb\xbf" + text[:cut], text[cut:])
    assert events == [ServerSentEvent("message", '{"p":"caf\u00e9 \u2028 ok"}')]


def test_sse_id_and_retry() -> None:
    events = _events(b"id: 7\nretry: 1500\ndata: a\n\nid: bad\x00\nretry: soon\ndata: b\n\n")
    assert events[0] == ServerSentEvent("message", "a", "7", 1500)
    assert events[1] == ServerSentEvent("message", "b", "7", 1500)


def test_sse_an_event_cut_off_by_the_end_of_the_stream_is_dropped() -> None:
    parser = EventStreamParser()
    assert parser.feed(b"data: whole\n\ndata: half") == [ServerSentEvent("message", "whole")]
    assert parser.close() == []
