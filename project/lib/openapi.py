"""What the OpenAPI schema says once for every operation.

Views declare what is theirs: their success bodies and the errors only they
raise (409 for a taken name, 410 for a gone share, 416 for a bad range).
The errors that come from the shared machinery are added here, by rule, so
no view repeats them and none forgets them:

- 400 wherever a request body or a query parameter can be wrong (the JSON
  parser, the serialisers, `?page=`);
- 401 wherever a token is read (a bad or expired one is refused even on
  public operations) or a permission is needed;
- 403 wherever a permission beyond "signed in" is checked, and on unsafe
  methods that a session may authenticate (CSRF);
- 404 on every path with a parameter, and on paginated lists (a page past
  the last);
- 413 and 415 wherever a request body is read (the body guard in
  `project.lib.bodies`, DRF's parser negotiation);
- 429 everywhere (the rate limiter's `default` rule covers every path);
- 503 everywhere (the database, and for bytes the storage, may be down).

Every error has one shape (`project.lib.errors.error_body`), declared here as
the `Error` component. `project/tests/test_schema_conformance.py` runs
schemathesis against a live server to keep all of this true.
"""

from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny, IsAuthenticated


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="A stable machine-readable code, e.g. `invalid`, `file_expired`.")
    message = serializers.CharField(help_text="What went wrong, in the caller's language (Accept-Language).")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="For invalid input: the messages of each field that is not valid.",
    )


class ErrorSerializer(serializers.Serializer):
    """The shape of every API error: {"error": {code, message, fields?}}."""

    error = ErrorDetailSerializer()


# Why each shared status can happen; the text of the response in the schema.
SHARED_ERRORS = {
    400: "The request is not valid: malformed body, a field or a query parameter out of bounds "
    "(details per field in `error.fields`).",
    401: "Not signed in, or the token is not valid or has expired.",
    403: "Signed in without the permission this needs (or, with a session, without a CSRF token).",
    404: "No such object, or not yours (never told apart), or a page past the last.",
    413: "The request body is larger than this path accepts.",
    415: "The request body's content type is not one this operation reads.",
    429: "Rate limited: try again after `Retry-After` seconds.",
    503: "A service Pan needs (database, file storage) is not answering; try again in a moment.",
}

_RETRY_AFTER = {
    "Retry-After": {
        "schema": {"type": "integer", "minimum": 1},
        "description": "Seconds to wait before trying again.",
    }
}

_UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_BASIC_PERMISSIONS = (AllowAny, IsAuthenticated)


class PanAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema plus the shared error responses (see the module docstring)."""

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation["responses"]
        error_ref = self.resolve_serializer(ErrorSerializer, "response").ref
        for status_code in self._shared_error_statuses(operation):
            response = responses.setdefault(str(status_code), {"description": SHARED_ERRORS[status_code]})
            # A view that names the status with ErrorSerializer (or nothing) gets the shared text and shape.
            response.setdefault("content", {"application/json": {"schema": error_ref}})
            if response.get("description") in ("", None):
                response["description"] = SHARED_ERRORS[status_code]
            if status_code == 429:
                response.setdefault("headers", _RETRY_AFTER)
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _shared_error_statuses(self, operation) -> list[int]:
        parameters = operation.get("parameters", [])
        has_body = "requestBody" in operation
        has_query = any(parameter["in"] == "query" for parameter in parameters)
        authenticators = self.view.get_authenticators()
        permissions = self.view.get_permissions()
        needs_sign_in = any(not isinstance(permission, AllowAny) for permission in permissions)
        checks_more = any(not isinstance(permission, _BASIC_PERMISSIONS) for permission in permissions)
        csrf = self.method in _UNSAFE_METHODS and any(
            isinstance(auth, SessionAuthentication) for auth in authenticators
        )
        statuses = [429, 503]
        if has_body or has_query:
            statuses.append(400)
        if authenticators or needs_sign_in:
            statuses.append(401)
        if checks_more or csrf:
            statuses.append(403)
        if any(parameter["in"] == "path" for parameter in parameters) or self._is_paginated():
            statuses.append(404)
        if has_body:
            statuses += [413, 415]
        return statuses

    def _is_paginated(self) -> bool:
        return self.method == "GET" and getattr(self.view, "pagination_class", None) is not None
