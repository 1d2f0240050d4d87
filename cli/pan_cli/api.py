"""Pan's HTTP API through httpx: one client per command, the caller's language
in every request, the API's `{"error": {"code", "message"}}` turned into
exit codes (4xx: refused; no answer, timeouts, 5xx after retries: network)."""

import os
import time

import httpx

from . import __version__
from .errors import NetworkProblem, Refused, UsageProblem
from .texts import language, t

USER_AGENT = f"pan-cli/{__version__}"
# Every request, httpx's and tuspy's: at most this long to connect, and this
# long without a byte from the server (or sent to it) before giving up.
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0  # PAN_TIMEOUT overrides it
# Requests that may be sent again after a 5xx or a lost connection (nothing is created twice).
IDEMPOTENT = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}
RETRY_DELAYS = (0.5, 1.5)  # seconds before the second and the third try


def read_timeout() -> float:
    """Seconds a request waits for the server: `PAN_TIMEOUT` (for slow links, or tests), else 60."""
    text = os.environ.get("PAN_TIMEOUT", "").strip()
    if not text:
        return READ_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0
    if not 0 < seconds <= 86400:
        raise UsageProblem(t("PAN_TIMEOUT is not a number of seconds: {value}", value=text), code="bad_timeout")
    return seconds


def timeouts() -> tuple[float, float]:
    """(connect, read) seconds, as requests takes them."""
    read = read_timeout()
    return min(CONNECT_TIMEOUT, read), read


def base_headers(key: str | None = None) -> dict:
    headers = {"User-Agent": USER_AGENT, "Accept-Language": language(), "Accept": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return headers


def error_message(response: httpx.Response) -> tuple[str, str]:
    """(code, message) of an error answer: the API's own, in the user's language, or the HTTP reason."""
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    if not isinstance(error, dict):
        error = {}
    message = str(error.get("message") or response.reason_phrase or response.status_code)
    fields = error.get("fields")
    if isinstance(fields, dict) and fields:
        details = "; ".join(
            f"{name}: {' '.join(map(str, problems)) if isinstance(problems, list) else problems}"
            for name, problems in fields.items()
        )
        message = f"{message} ({details})"
    return str(error.get("code") or f"http_{response.status_code}"), message


def refusal(response: httpx.Response) -> Exception:
    """The error for an answer of 400 or more: Refused (4xx) or NetworkProblem (5xx)."""
    code, message = error_message(response)
    if response.status_code >= 500:
        return NetworkProblem(
            t("The server failed ({status}). Try again later.", status=response.status_code) + f" {message}",
            code=code,
            status=response.status_code,
        )
    retry_after = response.headers.get("Retry-After")
    if retry_after:
        message = f"{message} (Retry-After: {retry_after}s)"
    return Refused(message, code=code, status=response.status_code)


def stalled(url: str) -> NetworkProblem:
    """The server kept the connection and said nothing for the read timeout."""
    return NetworkProblem(
        t(
            "{url} stopped answering (nothing for {seconds:g} s); run the same command again to resume.",
            url=url,
            seconds=read_timeout(),
        ),
        code="timeout",
    )


def network_problem(url: str, error: Exception) -> NetworkProblem:
    if isinstance(error, httpx.TimeoutException) and not isinstance(error, httpx.ConnectTimeout):
        return stalled(url)
    reason = str(error) or type(error).__name__
    return NetworkProblem(t("Could not reach {url}: {reason}", url=url, reason=reason), code="unreachable")


class Api:
    def __init__(self, url: str, key: str | None = None):
        self.url = url
        self.key = key
        self.http = httpx.Client(
            base_url=url,
            headers=base_headers(key),
            timeout=httpx.Timeout(read_timeout(), connect=timeouts()[0]),
            transport=httpx.HTTPTransport(retries=2),  # connection attempts
            follow_redirects=False,
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> "Api":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, method: str, path: str, **options) -> httpx.Response:
        """The answer to one request (any status), after retries of what may be retried."""
        tries = 1 + (len(RETRY_DELAYS) if method in IDEMPOTENT else 0)
        for attempt in range(tries):
            try:
                response = self.http.request(method, path, **options)
            except httpx.ConnectError as error:  # nothing was sent: any method may try again
                if attempt + 1 < tries:
                    time.sleep(RETRY_DELAYS[attempt])
                    continue
                raise network_problem(self.url, error) from error
            except (httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout) as error:
                # Connected, then nothing for the read timeout: not tried again (docs/cli.md, Timeouts).
                raise stalled(self.url) from error
            except httpx.TransportError as error:
                if attempt + 1 < tries:
                    time.sleep(RETRY_DELAYS[attempt])
                    continue
                raise network_problem(self.url, error) from error
            if response.status_code >= 500 and attempt + 1 < tries:
                time.sleep(RETRY_DELAYS[attempt])
                continue
            return response
        raise AssertionError("unreachable")  # the loop returns or raises

    def call(self, method: str, path: str, **options):
        """The JSON body of a successful answer (None for 204); Refused/NetworkProblem otherwise."""
        response = self.send(method, path, **options)
        if response.status_code >= 400:
            raise refusal(response)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as error:
            raise NetworkProblem(
                t(
                    "The server at {url} answered {status}: {message}",
                    url=self.url,
                    status=response.status_code,
                    message="not JSON",
                ),
                code="not_json",
                status=response.status_code,
            ) from error

    def pages(self, path: str) -> list:
        """Every result of a paginated list (`{"results", "next"}`), page after page."""
        results, page = [], 1
        while True:
            body = self.call("GET", path, params={"page": page})
            results.extend(body.get("results", []))
            if not body.get("next"):
                return results
            page += 1
