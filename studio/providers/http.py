"""How every provider call goes over the wire: timeouts, retries, downloads.

One policy for both clients, so Meshy and Tripo behave the same way:

- every request has a timeout (connect 10 s, read 30 s);
- reads (GET, DELETE) are retried with exponential backoff (1, 2, 4, 8 … s, capped at 30 s,
  at most six tries) on 429, 500, 502, 503, 504 and network failures, honouring
  ``Retry-After`` (seconds or an HTTP date, capped at 60 s);
- a create (or upload) is **never** replayed once it may have reached the provider, because a
  replay bills twice: a timeout or dropped connection after sending raises
  :class:`~studio.providers.errors.AmbiguousSubmissionError`. Only answers that prove nothing was
  made are retried: a failure to connect, and a 429 (the request was refused);
- downloads go to the file host without the API key, are streamed to a temp file and renamed,
  are retried on drops, and turn 403/404/410 into
  :class:`~studio.providers.errors.LinkExpiredError`.

No message or log line made here carries a key, an ``Authorization`` header, a signed query
string or a response body.
"""

from __future__ import annotations

import email.utils
import logging
import math
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from studio.atomic import atomic_writer
from studio.providers.base import TaskOutput
from studio.providers.errors import (
    AmbiguousSubmissionError,
    BadInputError,
    LinkExpiredError,
    NetworkError,
    ServerError,
)
from studio.work import NEVER_CANCELLED, CancelToken, Progress, no_progress

log = logging.getLogger(__name__)

Sleep = Callable[[float], None]
Clock = Callable[[], float]

#: Statuses a read is retried on.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Statuses that mean a signed result link is no longer valid.
EXPIRED_LINK_STATUSES = frozenset({401, 403, 404, 410})
#: Failures in which httpx never sent the request, so even a create may try again.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
#: A base URL that is no web address: a settings mistake, not worth a retry.
_BAD_ADDRESS = (httpx.InvalidURL, httpx.UnsupportedProtocol)
#: Request headers a file host must never see.
_PRIVATE_HEADERS = ("authorization", "cookie", "proxy-authorization")


@dataclass(frozen=True)
class TransportPolicy:
    """Timeouts and retry limits (seconds); tests shorten ``create_read_timeout``.

    Parameters
    ----------
    connect_timeout, read_timeout
        For every API call.
    create_read_timeout
        How long a create or upload waits for its answer before it is ambiguous.
    stream_read_timeout
        Longest silence on a server-sent-events stream (Meshy re-sends every ~10 s).
    download_read_timeout
        Longest silence while downloading a file.
    max_tries
        Tries per read (and per download), the first included.
    backoff_base, backoff_cap
        Waits grow ``base * 2**n`` up to ``cap`` when the provider gives no ``Retry-After``.
    retry_after_cap
        ``Retry-After`` values above this are cut to it.
    create_rate_limit_tries
        Tries for a create answered 429 (refused, so nothing was made or billed).
    chunk_size
        Download chunk, bytes; the cancel token is checked between chunks.
    """

    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    create_read_timeout: float = 30.0
    stream_read_timeout: float = 60.0
    download_read_timeout: float = 60.0
    max_tries: int = 6
    backoff_base: float = 1.0
    backoff_cap: float = 30.0
    retry_after_cap: float = 60.0
    create_rate_limit_tries: int = 3
    chunk_size: int = 64 * 1024

    def timeout(self, read: float | None = None) -> httpx.Timeout:
        read = self.read_timeout if read is None else read
        return httpx.Timeout(read, connect=self.connect_timeout)

    def backoff(self, attempt: int) -> float:
        """The wait before try ``attempt + 2`` (``attempt`` counts from 0)."""
        return float(min(self.backoff_base * (2**attempt), self.backoff_cap))


def retry_after(
    response: httpx.Response, *, now: Clock = time.time, cap: float = 60.0
) -> float | None:
    """The wait a ``Retry-After`` header asks for, in seconds (``None`` when absent or unreadable).

    Parameters
    ----------
    response
        The answer carrying the header.
    now
        Current Unix time, for the HTTP-date form.
    cap
        Longest wait honoured; longer asks are cut to it.
    """
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    seconds: float | None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # an HTTP date is always GMT
            return None
        seconds = when.timestamp() - now()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return min(max(seconds, 0.0), cap)


def seconds_text(seconds: float) -> str:
    """``7`` → "7 s", for the plain sentences."""
    return f"{max(1, math.ceil(seconds))} s"


def url_label(url: str | httpx.URL) -> str:
    """Host and path only: a signed link's query string is a credential."""
    parsed = httpx.URL(str(url))
    return f"{parsed.host}{parsed.path}"


class Transport:
    """Authenticated calls to one provider's API, plus credential-free downloads.

    Parameters
    ----------
    provider
        The provider's display name ("Meshy"), used in messages.
    client
        The shared httpx client; its default headers are not relied on for auth.
    headers
        Headers sent with every API call (the ``Authorization`` header).
    policy
        Timeouts and retry limits.
    sleep, now
        Injected so tests run without real waits.
    """

    def __init__(
        self,
        provider: str,
        client: httpx.Client,
        *,
        headers: Callable[[], Mapping[str, str]],
        policy: TransportPolicy | None = None,
        sleep: Sleep = time.sleep,
        now: Clock = time.time,
    ) -> None:
        self.provider = provider
        self.client = client
        self._headers = headers
        self.policy = policy or TransportPolicy()
        self.sleep = sleep
        self.now = now

    # -- reads ---------------------------------------------------------------------------

    def read(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> httpx.Response:
        """An idempotent call (GET, DELETE), retried on 429/5xx and network failures.

        Returns the final response whatever its status (the caller maps errors); raises
        :class:`NetworkError` when no answer came after the last try.
        """
        self._check_address(url)
        policy = self.policy
        for attempt in range(policy.max_tries):
            cancel.raise_if_cancelled()
            last_try = attempt + 1 >= policy.max_tries
            try:
                response = self.client.request(
                    method,
                    url,
                    params=params,
                    headers=self._headers(),
                    timeout=policy.timeout(),
                )
            except _BAD_ADDRESS:
                raise self.bad_address() from None
            except httpx.TransportError as exc:
                log.info(
                    "%s %s %s failed: %s", self.provider, method, url_label(url), type(exc).__name__
                )
                if last_try:
                    raise self.unreachable() from None
                self._wait(policy.backoff(attempt), cancel)
                continue
            if response.status_code not in RETRY_STATUSES or last_try:
                return response
            self._wait(self._delay(response, attempt), cancel)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- creates -------------------------------------------------------------------------

    def create(
        self,
        url: str,
        *,
        json: Any = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        what: str = "task",
    ) -> httpx.Response:
        """A POST that makes something; never replayed once it may have been received.

        Parameters
        ----------
        url
            Where to post.
        json, files
            The body: JSON, or a multipart upload.
        what
            "task" for a billed create (an ambiguous failure raises
            :class:`AmbiguousSubmissionError`), "upload" for a file upload (an ambiguous
            failure raises :class:`NetworkError`: nothing was made that bills).

        Returns
        -------
        httpx.Response
            The answer, whatever its status, except a 429 while tries remain.
        """
        self._check_address(url)
        policy = self.policy
        tries = max(1, policy.create_rate_limit_tries)
        for attempt in range(policy.max_tries):
            try:
                response = self.client.request(
                    "POST",
                    url,
                    json=json,
                    files=files,
                    headers=self._headers(),
                    timeout=policy.timeout(policy.create_read_timeout),
                )
            except _BAD_ADDRESS:
                raise self.bad_address() from None
            except _NOT_SENT as exc:
                # Nothing reached the provider: as safe to try again as a read.
                log.info(
                    "%s POST %s not sent: %s", self.provider, url_label(url), type(exc).__name__
                )
                if attempt + 1 >= policy.max_tries:
                    raise self.unreachable() from None
                self.sleep(policy.backoff(attempt))
                continue
            except httpx.TransportError as exc:
                log.warning(
                    "%s POST %s got no answer after sending (%s); not repeating it",
                    self.provider,
                    url_label(url),
                    type(exc).__name__,
                )
                if what == "upload":
                    raise NetworkError(
                        f"The upload to {self.provider} was cut off; nothing was charged. "
                        "Check the internet connection and try again.",
                        provider=self.provider.lower(),
                    ) from None
                raise AmbiguousSubmissionError(
                    f"{self.provider} stopped answering while the task was being created, so it "
                    "may or may not have started. Kiln Studio checks before sending it again.",
                    provider=self.provider.lower(),
                ) from None
            if response.status_code == 429 and attempt + 1 < tries:
                # Refused outright: nothing was made, so waiting and asking again is safe.
                self.sleep(self._delay(response, attempt))
                continue
            return response
        raise self.unreachable()

    # -- streams -------------------------------------------------------------------------

    @contextmanager
    def open_stream(
        self, url: str, *, accept: str = "text/event-stream"
    ) -> Iterator[httpx.Response]:
        """A long-lived GET (server-sent events), open while the ``with`` block runs.

        Connection failures raise :class:`NetworkError`; the caller reads and closes.
        """
        self._check_address(url)
        headers = {**self._headers(), "Accept": accept, "Cache-Control": "no-cache"}
        try:
            with self.client.stream(
                "GET",
                url,
                headers=headers,
                timeout=self.policy.timeout(self.policy.stream_read_timeout),
            ) as response:
                yield response
        except _BAD_ADDRESS:
            raise self.bad_address() from None
        except httpx.TransportError:
            log.info("%s stream %s dropped", self.provider, url_label(url))
            raise self.unreachable() from None

    # -- downloads -----------------------------------------------------------------------

    def download_output(
        self,
        output: TaskOutput,
        dest: Path,
        *,
        progress: Progress = no_progress,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> Path:
        """A task's output file to ``dest``: the one ``Provider.download`` of every client.

        Raises
        ------
        LinkExpiredError
            The signed link is stale: poll the task again for fresh links.
        """
        stage = "Downloading the model" if output.kind == "model" else "Downloading"
        return self.download(output.url, dest, progress=progress, cancel=cancel, stage=stage)

    def download(
        self,
        url: str,
        dest: Path,
        *,
        progress: Progress = no_progress,
        cancel: CancelToken = NEVER_CANCELLED,
        stage: str = "Downloading",
    ) -> Path:
        """Stream a result link to ``dest`` (temp file, then rename), without credentials.

        Raises
        ------
        LinkExpiredError
            The host answered 401/403/404/410: the signed link is stale.
        ServerError, NetworkError
            The host kept failing or could not be reached after the last try.
        Cancelled
            ``cancel`` was set (checked between chunks and before each try).
        """
        policy = self.policy
        for attempt in range(policy.max_tries):
            cancel.raise_if_cancelled()
            last_try = attempt + 1 >= policy.max_tries
            request = self.client.build_request(
                "GET", url, timeout=policy.timeout(policy.download_read_timeout)
            )
            for name in _PRIVATE_HEADERS:  # the file host never sees the key or cookies
                request.headers.pop(name, None)
            try:
                response = self.client.send(request, stream=True, auth=None, follow_redirects=True)
            except httpx.TransportError as exc:
                log.info("download of %s failed: %s", url_label(url), type(exc).__name__)
                if last_try:
                    raise self.unreachable() from None
                self._wait(policy.backoff(attempt), cancel)
                continue
            try:
                status = response.status_code
                if status in EXPIRED_LINK_STATUSES:
                    raise LinkExpiredError(
                        f"The {self.provider} download link has expired; "
                        "Kiln fetches a fresh one from the task.",
                        provider=self.provider.lower(),
                    )
                if status in RETRY_STATUSES or status >= 500:
                    if last_try:
                        raise ServerError(
                            f"{self.provider}'s file server kept failing (HTTP {status}). "
                            "Try again in a few minutes.",
                            provider=self.provider.lower(),
                        )
                    delay = self._delay(response, attempt)
                elif status >= 300:
                    raise ServerError(
                        f"{self.provider}'s file server answered HTTP {status} for a result file.",
                        provider=self.provider.lower(),
                    )
                else:
                    try:
                        self._save(response, dest, progress, cancel, stage)
                    except httpx.TransportError as exc:
                        log.info("download of %s dropped: %s", url_label(url), type(exc).__name__)
                        if last_try:
                            raise self.unreachable() from None
                        delay = policy.backoff(attempt)
                    else:
                        return dest
            finally:
                response.close()
            self._wait(delay, cancel)
        raise AssertionError("unreachable")  # pragma: no cover

    def _save(
        self,
        response: httpx.Response,
        dest: Path,
        progress: Progress,
        cancel: CancelToken,
        stage: str,
    ) -> None:
        try:
            total = int(response.headers.get("content-length", ""))
        except ValueError:
            total = 0
        done = 0
        progress(0.0, stage)
        with atomic_writer(dest) as fh:
            for chunk in response.iter_bytes(self.policy.chunk_size):
                cancel.raise_if_cancelled()
                fh.write(chunk)
                done += len(chunk)
                if total:
                    progress(min(done / total, 1.0), stage)
            if total and done < total:
                # The host promised more than it sent: a cut the stream didn't report.
                raise httpx.ReadError("short download")
        progress(1.0, stage)

    # -- shared --------------------------------------------------------------------------

    def _check_address(self, url: str) -> None:
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL:
            raise self.bad_address() from None
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise self.bad_address()

    def bad_address(self) -> BadInputError:
        return BadInputError(
            f"The {self.provider} address in Settings › Providers is not a web address "
            "(it should start with https://).",
            provider=self.provider.lower(),
        )

    def unreachable(self) -> NetworkError:
        return NetworkError(
            f"{self.provider} can't be reached. Check the internet connection and try again.",
            provider=self.provider.lower(),
        )

    def _delay(self, response: httpx.Response, attempt: int) -> float:
        asked = retry_after(response, now=self.now, cap=self.policy.retry_after_cap)
        delay = self.policy.backoff(attempt) if asked is None else asked
        if response.status_code == 429:
            log.info(
                "%s is busy (too many requests); trying again in %s.",
                self.provider,
                seconds_text(delay),
            )
        else:
            log.info(
                "%s answered HTTP %d; trying again in %s.",
                self.provider,
                response.status_code,
                seconds_text(delay),
            )
        return delay

    def _wait(self, seconds: float, cancel: CancelToken) -> None:
        cancel.raise_if_cancelled()
        self.sleep(seconds)
        cancel.raise_if_cancelled()


def json_body(response: httpx.Response) -> Any:
    """The decoded JSON body, or ``None`` when it isn't JSON."""
    try:
        return response.json()
    except ValueError:
        return None


__all__ = [
    "EXPIRED_LINK_STATUSES",
    "RETRY_STATUSES",
    "Clock",
    "Sleep",
    "Transport",
    "TransportPolicy",
    "json_body",
    "retry_after",
    "seconds_text",
    "url_label",
]
