"""The tus endpoints and `curl -T`'s PUT in the OpenAPI document (SPEC §4.4b, §4.5b and §7; docs/uploads.md).

`uploads/views.py` holds plain async Django views, not DRF views (a PATCH
reads its ASGI body as it arrives), so drf-spectacular, which walks DRF
views, does not see them. `tus_operations` is a postprocessing hook
(`SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]`) that writes their six
operations into the generated document by hand. A hook rather than an
`extend_schema`'d stand-in `APIView`: drf-spectacular never describes
`OPTIONS` or `HEAD` operations, and every header and status of the protocol
would have been written by hand anyway; a stand-in would only add a dead
view to a URLconf.

What it states, read from the views and services: the tus request headers,
the response headers, every status each operation can answer with the
shared `Error` body where the answer has one (a `HEAD` answer never has a
body), the security (a Bearer token or a session for creation, or nothing
for a drop into a request; the upload's URL is the credential after that)
and `GET`'s JSON shape. The rules OpenAPI cannot state (`Upload-Length` or
`Upload-Defer-Length`, the metadata's keys, a checksum that matches the
body) are said in the operations' descriptions;
`project/tests/test_schema_conformance.py` runs schemathesis over them.
"""

from project.lib.openapi import SHARED_ERRORS

from .services import METADATA_KEYS
from .views import CHECKSUMS, EXTENSIONS, OCTETS, TUS_VERSION

ROOT = "/api/uploads/"
DETAIL = "/api/uploads/{token}"
ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
# `secrets.token_urlsafe(TOKEN_BYTES)` (uploads/models.py): 24 bytes, 32 characters.
URL_KEY_PATTERN = r"^[A-Za-z0-9_-]{32}$"
# `_whole` in the views: ASCII digits, at most 19 of them.
BYTES_PATTERN = r"^[0-9]{1,19}$"
# A checksum's value is base64 (validated strictly, so the padding must be right).
CHECKSUM_PATTERN = r"^(" + "|".join(CHECKSUMS) + r") (?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"


def _header(schema: dict, description: str, *, required: bool = False) -> dict:
    header = {"schema": schema, "description": description}
    if required:
        header["required"] = True
    return header


def _whole_number(description: str, *, required: bool = False) -> dict:
    """A response header: a number of bytes."""
    return _header({"type": "integer", "minimum": 0}, description, required=required)


def _bytes_header(description: str, *, required: bool = False) -> dict:
    """A request header: a number of bytes, as the views read it (ASCII digits, at most 19; 400 otherwise).
    A pattern rather than an integer: the header's text is what is checked (no sign, no spaces)."""
    return _header({"type": "string", "pattern": BYTES_PATTERN}, description, required=required)


def _parameter(name: str, header: dict) -> dict:
    return {"in": "header", "name": name, **header}


def _error(description: str, headers: dict | None = None) -> dict:
    response = {"description": description, "content": ERROR}
    if headers:
        response["headers"] = headers
    return response


TUS_RESUMABLE = _header({"type": "string", "enum": [TUS_VERSION]}, "The tus version this server speaks.", required=True)
NO_STORE = _header({"type": "string"}, "`no-store`: an upload's state is never cached.", required=True)
UPLOAD_EXPIRES = _header(
    {"type": "string"},
    "When an unfinished upload expires (an HTTP date, `PAN_UPLOAD_EXPIRY` after its creation); "
    "after that it answers 410 and `purge_expired` removes it.",
    required=True,
)
PAN_SHARE = _header(
    {"type": "string"},
    "Once the upload is complete: the id of the share its file belongs to (`/api/shares/{unique_name}`).",
)
PAN_RECEIPT = _header(
    {"type": "string"},
    "Once an upload into a drop-off request is complete: the path of the sender's receipt page.",
)
RETRY_AFTER = {"schema": {"type": "integer", "minimum": 1}, "description": "Seconds to wait before trying again."}


def _state_headers(*, offset_required: bool) -> dict:
    """What `_state_headers` in the views sends: where the upload stands."""
    return {
        "Tus-Resumable": TUS_RESUMABLE,
        "Cache-Control": NO_STORE,
        "Upload-Offset": _whole_number("The bytes stored so far.", required=offset_required),
        "Upload-Length": _whole_number("The upload's length, once it is known."),
        "Upload-Defer-Length": _header(
            {"type": "string", "enum": ["1"]}, "`1` while the length is not declared yet (creation-defer-length)."
        ),
        "Upload-Expires": UPLOAD_EXPIRES,
        "Pan-Share": PAN_SHARE,
        "Pan-Receipt": PAN_RECEIPT,
    }


def _shared(responses: dict) -> dict:
    """The statuses of the machinery in front of every view: the rate limiter and the services."""
    responses["429"] = _error(SHARED_ERRORS[429], {"Retry-After": RETRY_AFTER})
    responses["503"] = _error(SHARED_ERRORS[503])
    return dict(sorted(responses.items()))


def _tus_version_refused() -> dict:
    return _error(
        "`Tus-Resumable` is missing or not `1.0.0`.",
        {"Tus-Version": _header({"type": "string"}, "The versions this server speaks: `1.0.0`.", required=True)},
    )


REQUEST_TUS_RESUMABLE = _parameter(
    "Tus-Resumable",
    _header(
        {"type": "string", "enum": [TUS_VERSION]}, "The tus version the client speaks (412 otherwise).", required=True
    ),
)
TOKEN = {
    "in": "path",
    "name": "token",
    "required": True,
    "schema": {"type": "string", "pattern": URL_KEY_PATTERN},
    "description": "The token of the upload's URL (the creation's `Location`). A guessed, cut or lengthened "
    "token is a 404, like an unknown one.",
}
UPLOAD_CHECKSUM = _parameter(
    "Upload-Checksum",
    _header(
        {"type": "string", "pattern": CHECKSUM_PATTERN},
        "tus's checksum extension: `<algorithm> <base64 digest>` of this request's body "
        f"({', '.join(CHECKSUMS)}). Checked when the body ends; the bytes of a body that does not "
        "match are discarded (460). An unknown algorithm is a 400.",
    ),
)
BYTES = {
    OCTETS: {
        "schema": {"type": "string", "format": "binary"},
    }
}


def _options() -> dict:
    return {
        "operationId": "uploads_options",
        "summary": "What this tus server speaks",
        "description": "tus's discovery request: versions, extensions, the largest upload, the checksum "
        "algorithms. Needs no `Tus-Resumable` and no credentials.",
        "tags": ["uploads"],
        "security": [{}],
        "responses": _shared(
            {
                "204": {
                    "description": "What this server speaks.",
                    "headers": {
                        "Tus-Resumable": TUS_RESUMABLE,
                        "Tus-Version": _header(
                            {"type": "string", "enum": [TUS_VERSION]}, "The tus versions it speaks.", required=True
                        ),
                        "Tus-Extension": _header(
                            {"type": "string", "enum": [EXTENSIONS]}, "The tus extensions it supports.", required=True
                        ),
                        "Tus-Max-Size": _whole_number(
                            "The largest upload in bytes (`PAN_MAX_UPLOAD_SIZE`).", required=True
                        ),
                        "Tus-Checksum-Algorithm": _header(
                            {"type": "string", "enum": [",".join(CHECKSUMS)]},
                            "The algorithms `Upload-Checksum` may use.",
                            required=True,
                        ),
                    },
                }
            }
        ),
    }


def _create() -> dict:
    keys = ", ".join(f"`{key}`" for key in sorted(METADATA_KEYS))
    return {
        "operationId": "uploads_create",
        "summary": "Create a resumable upload (tus creation, creation-with-upload, creation-defer-length)",
        "description": (
            "Creates an upload and answers its URL in `Location`; its bytes follow with `PATCH` (or in this "
            "request's body: creation-with-upload). Everything the upload may take is decided now: the file, "
            "share and request limits and the quota, counting what other unfinished uploads have reserved "
            "(413 or 409 otherwise).\n\n"
            "Rules OpenAPI cannot state, refused with 400: send exactly one of `Upload-Length` and "
            "`Upload-Defer-Length: 1`; `Upload-Metadata` is comma-separated `key base64(value)` pairs with "
            f"the keys {keys}, each at most once, values UTF-8; `share` and `request` exclude each other; a "
            "name (`filename`, `relativePath`) with `..`, NUL, control or bidi characters, or an absolute "
            "path, is refused. A body longer than `Upload-Length` is a 413, and one that does not match "
            "`Upload-Checksum` a 460.\n\n"
            "The target: `share` (the id of your share created with `uploading=true`), `request` (a drop-off "
            "request's code, with `password`, the sender's `name` and `note`: no account needed), or neither "
            "(a new one-file share of yours when the upload completes). Creation authenticates as the API "
            "does (a Bearer token, or a session with its `X-CSRFToken`); a drop needs neither."
        ),
        "tags": ["uploads"],
        "parameters": [
            REQUEST_TUS_RESUMABLE,
            _parameter(
                "Upload-Length",
                _bytes_header(
                    "The upload's length in bytes; at most `Tus-Max-Size` (`PAN_MAX_UPLOAD_SIZE`): 413 over it, "
                    "or over a limit of the share or request, or the quota."
                ),
            ),
            _parameter(
                "Upload-Defer-Length",
                _header(
                    {"type": "string", "enum": ["1"]},
                    "`1`: the length is not known yet; a later `PATCH` declares it with `Upload-Length`.",
                ),
            ),
            _parameter(
                "Upload-Metadata",
                _header(
                    {"type": "string"},
                    "Comma-separated `key base64(value)` pairs (tus's format): what the upload is and where it "
                    f"goes. Keys: {keys}.",
                ),
            ),
            UPLOAD_CHECKSUM,
        ],
        "requestBody": {
            "required": False,
            "description": "creation-with-upload: the first bytes of the upload, at most `Upload-Length`.",
            "content": BYTES,
        },
        "security": [{"jwtAuth": []}, {"cookieAuth": []}, {}],
        "responses": _shared(
            {
                "201": {
                    "description": "Created. With a body, `Upload-Offset` tells how much of it was stored; an "
                    "upload whose last byte is stored (or an empty one) is complete at once, with `Pan-Share`.",
                    "headers": {
                        **_state_headers(offset_required=False),
                        "Location": _header(
                            {"type": "string", "format": "uri"}, "The upload's URL: its only credential.", required=True
                        ),
                    },
                },
                "400": _error(
                    "A tus header or `Upload-Metadata` is not valid, a name is refused, or an unknown checksum "
                    "algorithm (see the description)."
                ),
                "401": _error(
                    "Not signed in (or a token that is not valid) for a share; for a drop, a request with a "
                    "password and none sent."
                ),
                "403": _error(
                    "Signed in without the `upload` permission, a session without its CSRF token, or a drop's "
                    "wrong password."
                ),
                "404": _error("No such share of yours, or no such drop-off request."),
                "409": _error("The share is complete or revoked, or the request takes no more files."),
                "410": _error("The drop-off request is closed or has expired."),
                "412": _tus_version_refused(),
                "413": _error(
                    "The file, share, request or quota limit, or a body longer than `Upload-Length` (then the "
                    "upload exists: `Location` and `Upload-Offset` come with the error)."
                ),
                "415": _error("A body that is not `application/offset+octet-stream`."),
                "460": _error(
                    "The body does not match `Upload-Checksum`: it was discarded; the upload exists "
                    "(`Location` and `Upload-Offset` come with the error)."
                ),
            }
        ),
    }


def _head() -> dict:
    return {
        "operationId": "uploads_offset",
        "summary": "Where an upload stands (tus HEAD)",
        "description": "The bytes stored so far: the client resumes from `Upload-Offset`. A complete "
        "upload still answers, with `Pan-Share` (and `Pan-Receipt` for a drop). The URL is the credential.",
        "tags": ["uploads"],
        "parameters": [TOKEN, REQUEST_TUS_RESUMABLE],
        "security": [{}],
        "responses": _shared(
            {
                "200": {
                    "description": "The upload's state (a HEAD answer has no body, errors neither).",
                    "headers": _state_headers(offset_required=True),
                },
                "404": _error("No such upload."),
                "410": _error("The upload has expired."),
                "412": _tus_version_refused(),
            }
        ),
    }


def _patch() -> dict:
    return {
        "operationId": "uploads_append",
        "summary": "Send more bytes (tus PATCH)",
        "description": (
            "Appends the body at `Upload-Offset`, which must be the offset stored (409 with the right one "
            "otherwise). The bytes are stored as they arrive: a dropped connection keeps what reached Pan. "
            "One `PATCH` of an upload at a time (423 while another sends). A body may not be longer than "
            "what the upload still lacks (413, before a byte is read). The `PATCH` that stores the last byte "
            "completes the upload: its file joins its share or request, and the answer has `Pan-Share`.\n\n"
            "Rules OpenAPI cannot state, refused with 400: `Upload-Length` only to declare a deferred length "
            "(or repeating the declared one), not below the bytes already sent. A body that does not match "
            "`Upload-Checksum` is a 460."
        ),
        "tags": ["uploads"],
        "parameters": [
            TOKEN,
            REQUEST_TUS_RESUMABLE,
            _parameter("Upload-Offset", _bytes_header("Where this body starts: the offset stored.", required=True)),
            _parameter(
                "Upload-Length",
                _bytes_header("creation-defer-length: the upload's length, once known (within what it reserved)."),
            ),
            UPLOAD_CHECKSUM,
        ],
        "requestBody": {"required": True, "description": "The next bytes of the upload.", "content": BYTES},
        "security": [{}],
        "responses": _shared(
            {
                "204": {"description": "Stored.", "headers": _state_headers(offset_required=True)},
                "400": _error("A tus header is not valid (see the description)."),
                "404": _error("No such upload, or it is complete and takes no more bytes (`upload_finished`)."),
                "409": _error(
                    "`Upload-Offset` is not the offset stored (`offset_mismatch`): resume from the one sent.",
                    {"Upload-Offset": _whole_number("The offset stored.", required=True)},
                ),
                "410": _error("The upload has expired."),
                "412": _tus_version_refused(),
                "413": _error(
                    "More bytes than the upload still lacks (`chunk_too_large`), or a declared length over "
                    "what it reserved."
                ),
                "415": _error("The body is not `application/offset+octet-stream`."),
                "423": _error(
                    "Another request is sending bytes to this upload now (`upload_busy`).",
                    {"Retry-After": RETRY_AFTER},
                ),
                "460": _error("The body does not match `Upload-Checksum`; it was discarded, the offset is unchanged."),
            }
        ),
    }


def _delete() -> dict:
    return {
        "operationId": "uploads_destroy",
        "summary": "Give up an upload (tus termination)",
        "description": "The unfinished upload and its bytes are gone. The URL is the credential.",
        "tags": ["uploads"],
        "parameters": [TOKEN, REQUEST_TUS_RESUMABLE],
        "security": [{}],
        "responses": _shared(
            {
                "204": {"description": "Terminated.", "headers": {"Tus-Resumable": TUS_RESUMABLE}},
                "404": _error("No such upload, or it is complete (`upload_finished`)."),
                "410": _error("The upload has expired."),
                "412": _tus_version_refused(),
            }
        ),
    }


def _retrieve() -> dict:
    return {
        "operationId": "uploads_retrieve",
        "summary": "An upload's state as JSON (Pan's own)",
        "description": "What `HEAD` tells, as JSON, with the receipt page's full URL. Needs no "
        "`Tus-Resumable`. The URL is the credential.",
        "tags": ["uploads"],
        "parameters": [TOKEN],
        "security": [{}],
        "responses": _shared(
            {
                "200": {
                    "description": "The upload's state.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UploadState"}}},
                },
                "404": _error("No such upload."),
                "410": _error("The upload has expired."),
            }
        ),
    }


UPLOAD_STATE = {
    "type": "object",
    "properties": {
        "offset": {"type": "integer", "minimum": 0, "description": "The bytes stored so far."},
        "length": {
            "type": "integer",
            "minimum": 0,
            "nullable": True,
            "description": "The upload's length; null while deferred.",
        },
        "complete": {"type": "boolean"},
        "share": {"type": "string", "nullable": True, "description": "Once complete: the share's id."},
        "receipt_url": {
            "type": "string",
            "format": "uri",
            "nullable": True,
            "description": "Once a drop is complete: the sender's receipt page.",
        },
    },
    "required": ["offset", "length", "complete", "share", "receipt_url"],
}


# --- curl -T: PUT /api/put/{name} (docs/uploads.md, "curl -T") ------------------------------------

PUT = "/api/put/{name}"
DIGITS_PATTERN = r"^[0-9]{1,19}$"


def _put() -> dict:
    return {
        "operationId": "put_create",
        "summary": "Share one file with one request (`curl -T FILE URL/`)",
        "description": (
            "The body, streamed, becomes a new one-file share of yours. `curl -T report.pdf -H "
            '"Authorization: Bearer …" https://host/api/put/` appends the file name to a URL ending in `/`.\n\n'
            "Every refusal comes before a byte of the body is read: 401/403, then the name and the options "
            "(400), then the file limit (`PAN_MAX_UPLOAD_SIZE`) and your quota, counting what your "
            "unfinished uploads hold, against `Content-Length` (413, `Connection: close`). A body without a "
            "length (chunked: `curl -T -`) is cut off with 413 where it passes them. A client gone before the "
            "last byte leaves no share and no bytes. An empty body is an empty file.\n\n"
            "The 201's plain text: the share page's link on the first line, the code on the second, then "
            "`expires:`, `downloads:`, `password:` and `download:` (the one-item download URL with the code) "
            "lines; with `Accept: application/json` the JSON of `POST /api/shares`.\n\n"
            "Rules OpenAPI cannot state, refused with 400: the name is one name, percent-decoded (no `/`, "
            "`..`, NUL, control or bidi characters, not made only of invisible ones, at most 255 UTF-8 bytes); "
            "`Pan-Expires-In` up to `PAN_MAX_EXPIRY`; `Pan-Max-Downloads` from 1 to 1000000; `Pan-Title` at "
            "most 200 characters and `Pan-Password` at most 256 once decoded, without NUL; header values "
            "that are not UTF-8."
        ),
        "tags": ["uploads"],
        "parameters": [
            {
                "in": "path",
                "name": "name",
                "required": True,
                "schema": {"type": "string", "minLength": 1},
                "description": "The file's name, percent-encoded in the URL (`%E6%8A%A5%E5%91%8A.pdf` is 报告.pdf).",
            },
            _parameter(
                "Pan-Expires-In",
                _header(
                    {"type": "string", "pattern": DIGITS_PATTERN},
                    "Seconds until the share expires, as `expires_in` of `POST /api/shares` (`0`: never; "
                    "default `PAN_DEFAULT_EXPIRY`).",
                ),
            ),
            _parameter(
                "Pan-Max-Downloads",
                _header({"type": "string", "pattern": DIGITS_PATTERN}, "How many downloads the share allows."),
            ),
            _parameter(
                "Pan-Password",
                _header({"type": "string"}, "A password downloads need besides the code (UTF-8)."),
            ),
            _parameter(
                "Pan-Title",
                _header(
                    {"type": "string"},
                    "The share's title: UTF-8, percent-decoded (send non-ASCII as `%E5%AD%A3…`; a literal `%` "
                    "as `%25`).",
                ),
            ),
        ],
        "requestBody": {
            "required": False,
            "description": "The file's bytes.",
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        },
        "security": [{"jwtAuth": []}, {"cookieAuth": []}],
        "responses": _shared(
            {
                "201": {
                    "description": "The share: its page link and code (plain text), or its JSON.",
                    "headers": {
                        "Location": _header({"type": "string", "format": "uri"}, "The share page.", required=True)
                    },
                    "content": {
                        "text/plain": {"schema": {"type": "string"}},
                        "application/json": {"schema": {"$ref": "#/components/schemas/OwnedShare"}},
                    },
                },
                "400": _error(SHARED_ERRORS[400] + " Also a missing or refused name, or a body that ended early."),
                "401": _error(SHARED_ERRORS[401], {"WWW-Authenticate": _header({"type": "string"}, "`Bearer`.")}),
                "403": _error(SHARED_ERRORS[403]),
                "413": _error("Over the file limit or your quota (`file_too_large`, `quota_exceeded`)."),
            }
        ),
    }


def tus_operations(result, generator, request, public):
    """drf-spectacular postprocessing hook: add the tus endpoints and `curl -T`'s PUT (see the module docstring)."""
    paths = dict(result.get("paths", {}))
    paths[ROOT] = {"options": _options(), "post": _create()}
    paths[DETAIL] = {"head": _head(), "patch": _patch(), "delete": _delete(), "get": _retrieve()}
    paths[PUT] = {"put": _put()}
    result["paths"] = dict(sorted(paths.items()))
    result.setdefault("components", {}).setdefault("schemas", {})["UploadState"] = UPLOAD_STATE
    result["components"]["schemas"] = dict(sorted(result["components"]["schemas"].items()))
    return result
