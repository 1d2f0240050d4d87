"""tuspy's uploader with timeouts.

tuspy 1.1.0 sends its three requests (`POST` to create an upload, `HEAD`
for the offset, `PATCH` with a chunk) with the module functions
`requests.post/head/patch` and no `timeout`, and offers no option to pass a
session or one: a server that stops answering without closing the
connection (stopped, swapping, a proxy holding it) leaves a `PATCH` waiting
forever. `TimedUploader` sends the same requests through one
`requests.Session` with a connect and a read timeout (`api.timeouts()`), and
stops at the first timeout instead of retrying: a server that said nothing
for the read timeout will not answer two seconds later, and the run is
resumable (`pan send` again continues from the server's offset). Other
failures (a dropped connection, 423 while a killed client's lease lapses)
are retried as tuspy does.
"""

from urllib.parse import urljoin

import requests
from tusclient.exceptions import TusCommunicationError, TusUploadFailed
from tusclient.request import TusRequest, catch_requests_error
from tusclient.uploader import Uploader
from tusclient.uploader.uploader import _verify_upload

from .api import timeouts


class UploadStalled(Exception):
    """No answer within the read timeout (or no connection within the connect timeout)."""

    def __init__(self, error: requests.exceptions.Timeout):
        super().__init__(str(error))
        self.error = error


def timed_out(error: BaseException | None) -> requests.exceptions.Timeout | None:
    """The requests timeout behind a tuspy error (tuspy wraps it as the error's message), or None."""
    while error is not None:
        if isinstance(error, requests.exceptions.Timeout):
            return error
        cause = error.args[0] if isinstance(error, TusCommunicationError) and error.args else None
        error = cause if isinstance(cause, BaseException) else (error.__cause__ or error.__context__)
    return None


class _TimedRequest(TusRequest):
    """One `PATCH` of a chunk, through the uploader's session, with its timeouts."""

    def __init__(self, uploader: "TimedUploader"):
        super().__init__(uploader)
        self._session = uploader.session

    def perform(self):
        try:
            chunk = self.file.read(self._content_length)
            self.add_checksum(chunk)
            response = self._session.patch(
                self._url,
                data=chunk,
                headers=self._request_headers,
                verify=self.verify_tls_cert,
                cert=self.client_cert,
                timeout=timeouts(),
            )
            self.status_code = response.status_code
            self.response_content = response.content
            self.response_headers = {k.lower(): v for k, v in response.headers.items()}
        except requests.exceptions.RequestException as error:
            raise TusUploadFailed(error) from error
        finally:
            self.file.close()  # tuspy opens the file for each request


class TimedUploader(Uploader):
    """`tusclient.uploader.Uploader` whose requests have timeouts and go through `session`."""

    def __init__(self, *args, session: requests.Session, **kwargs):
        self.session = session  # before Uploader.__init__, which may ask the offset
        super().__init__(*args, **kwargs)

    @catch_requests_error
    def get_offset(self):
        response = self.session.head(
            self.url, headers=self.get_headers(), verify=self.verify_tls_cert, cert=self.client_cert, timeout=timeouts()
        )
        offset = response.headers.get("upload-offset")
        if offset is None:
            message = f"Attempt to retrieve offset fails with status {response.status_code}"
            raise TusCommunicationError(message, response.status_code, response.content)
        return int(offset)

    @catch_requests_error
    def create_url(self):
        response = self.session.post(
            self.client.url,
            headers=self.get_url_creation_headers(),
            verify=self.verify_tls_cert,
            cert=self.client_cert,
            timeout=timeouts(),
        )
        url = response.headers.get("location")
        if url is None:
            message = f"Attempt to retrieve create file url with status {response.status_code}"
            raise TusCommunicationError(message, response.status_code, response.content)
        return urljoin(self.client.url, url)

    def _do_request(self):
        self.request = _TimedRequest(self)
        try:
            self.request.perform()
            _verify_upload(self.request)
        except TusUploadFailed as error:
            self._retry_or_cry(error)

    def _retry_or_cry(self, error):
        stalled = timed_out(error)
        if stalled is not None:
            raise UploadStalled(stalled) from error
        super()._retry_or_cry(error)
