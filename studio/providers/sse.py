"""Server-sent events, parsed by the WHATWG rules (the format of Meshy's ``/stream``).

The rules, from the HTML standard's "event stream interpretation":

- the stream is UTF-8 (a leading BOM is dropped); lines end in CRLF, LF or CR — and only
  those, so a U+2028 inside JSON is not a line break;
- an empty line dispatches the event being built; a line starting with ``:`` is a comment;
- ``field: value`` (one space after the colon is dropped; a line without a colon is a field
  with an empty value); ``data`` lines are joined with newlines; ``event`` sets the type
  (``"message"`` when none); ``id`` sets the last event id unless it holds a NUL; ``retry``
  sets the reconnection time when it is all ASCII digits; other fields are ignored;
- an event with no data is not dispatched; an event cut off by the end of the stream is
  dropped.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class ServerSentEvent:
    """One dispatched event."""

    event: str
    data: str
    last_event_id: str = ""
    retry: int | None = None


class EventStreamParser:
    """Feed bytes as they arrive; get back the events they complete."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._line = ""
        self._pending_cr = False
        self._started = False
        self._data: list[str] = []
        self._event = ""
        self._last_id = ""
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """The events completed by ``chunk``."""
        return self._feed_text(self._decoder.decode(chunk))

    def close(self) -> list[ServerSentEvent]:
        """End of stream: a half-built event is dropped, as the standard says."""
        self._feed_text(self._decoder.decode(b"", final=True))
        self._line = ""
        self._data = []
        self._event = ""
        return []

    def _feed_text(self, text: str) -> list[ServerSentEvent]:
        if not self._started and text:
            self._started = True
            text = text.removeprefix("\ufeff")
        events: list[ServerSentEvent] = []
        start = 0
        i = 0
        n = len(text)
        if self._pending_cr and n:
            # A CR ended the previous chunk; an LF now is the same line break.
            self._pending_cr = False
            if text[0] == "\n":
                start = i = 1
        while i < n:
            ch = text[i]
            if ch == "\r" or ch == "\n":
                self._line += text[start:i]
                self._take_line(self._line, events)
                self._line = ""
                if ch == "\r":
                    if i + 1 < n:
                        if text[i + 1] == "\n":
                            i += 1
                    else:
                        self._pending_cr = True
                start = i + 1
            i += 1
        self._line += text[start:]
        return events

    def _take_line(self, line: str, events: list[ServerSentEvent]) -> None:
        if not line:
            self._dispatch(events)
            return
        if line.startswith(":"):
            return
        field, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if field == "event":
            self._event = value
        elif field == "data":
            self._data.append(value)
        elif field == "id":
            if "\0" not in value:
                self._last_id = value
        elif field == "retry" and value and value.isascii() and value.isdigit():
            self._retry = int(value)

    def _dispatch(self, events: list[ServerSentEvent]) -> None:
        if not self._data:
            self._event = ""
            return
        events.append(
            ServerSentEvent(
                event=self._event or "message",
                data="\n".join(self._data),
                last_event_id=self._last_id,
                retry=self._retry,
            )
        )
        self._data = []
        self._event = ""


def parse_events(chunks: Iterable[bytes]) -> Iterator[ServerSentEvent]:
    """Events from a byte stream, yielded as soon as each is complete."""
    parser = EventStreamParser()
    for chunk in chunks:
        yield from parser.feed(chunk)
    parser.close()
