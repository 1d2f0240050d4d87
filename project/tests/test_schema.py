import pytest
from django.test import Client
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db


def test_openapi_document_validates_and_lists_the_endpoints():
    response = Client().get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)
    for path in [
        "/api/register",
        "/api/login",
        "/api/token/refresh",
        "/api/logout",
        "/api/me",
        "/api/files",
        "/api/files/{unique_name}",
        "/api/files/{unique_name}/code",
        "/api/files/{unique_name}/revoke",
        "/api/files/{unique_name}/content",
        "/api/short",
        "/api/short/{key}",
        "/api/uploads/",
        "/api/uploads/{token}",
    ]:
        assert path in schema["paths"], path
    bearer = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    assert schema["components"]["securitySchemes"]["jwtAuth"] == bearer
    # Signed-in endpoints say how to sign in; the login itself needs nothing.
    assert {"jwtAuth": []} in schema["paths"]["/api/me"]["get"]["security"]
    assert schema["paths"]["/api/login"]["post"]["security"] == [{}]


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_load_only_local_assets(path):
    response = Client().get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/" in html
    for cdn in ("cdn.jsdelivr", "unpkg.com", "cdnjs", "https://"):
        assert cdn not in html


# --- What schemathesis found (project/tests/test_schema_conformance.py runs it) ---


def _schema() -> dict:
    return Client().get("/api/schema/?format=json").json()


def test_every_operation_declares_the_shared_errors_in_the_error_shape():
    schema = _schema()
    error = schema["components"]["schemas"]["ErrorDetail"]
    assert set(error["required"]) == {"code", "message"}
    assert error["properties"]["fields"]["additionalProperties"] == {"type": "array", "items": {"type": "string"}}
    operations = [(path, method, op) for path, ops in schema["paths"].items() for method, op in ops.items()]
    assert len(operations) >= 29
    for path, method, operation in operations:
        responses = operation["responses"]
        for status in ("429", "503"):
            body = responses[status]["content"]["application/json"]["schema"]
            assert body == {"$ref": "#/components/schemas/Error"}, (method, path, status)
        if "requestBody" in operation:
            # `curl -T` takes a body of any type (its Content-Type is the file's): no 415 there.
            refused = {"400", "413"} if (method, path) == ("put", "/api/put/{name}") else {"400", "413", "415"}
            assert refused <= set(responses), (method, path)
        if "{" in path and (method, path) != ("put", "/api/put/{name}"):  # a new file's name, not an object's
            assert "404" in responses, (method, path)
    login = schema["paths"]["/api/login"]["post"]["responses"]
    assert {"200", "400", "401", "429"} <= set(login)


def test_byte_endpoints_declare_what_they_send():
    schema = _schema()
    content = schema["paths"]["/api/shares/{unique_name}/items/{item_id}/content"]["get"]["responses"]
    assert list(content["200"]["content"]) == ["*/*"]
    assert list(content["206"]["content"]) == ["*/*"]
    assert list(content["416"]["content"]) == ["text/plain"]
    assert {"401", "403", "404", "409", "410"} <= set(content)
    zip_responses = schema["paths"]["/api/shares/{unique_name}/zip"]["get"]["responses"]
    assert list(zip_responses["200"]["content"]) == ["application/zip"]


def test_short_link_list_is_declared_paginated_and_answers_so(api_as, alice):
    schema = _schema()
    ok = schema["paths"]["/api/short"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/PaginatedShortLinkList"}
    page = api_as(alice).get("/api/short").json()
    assert set(page) == {"count", "next", "previous", "results"}
    # OPTIONS describes the list view (a generic view with its create serialiser).
    assert api_as(alice).options("/api/short").status_code == 200


@pytest.mark.parametrize("garbage", ["", "abc", "0", "-1", "1.5", "１"])
def test_garbage_page_numbers_are_refused_in_the_callers_language(api_as, alice, garbage):
    response = api_as(alice).get("/api/shares", {"page": garbage}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "invalid_page",
            "message": "页码必须是从 1 开始的整数。",
            "fields": {"page": ["页码必须是从 1 开始的整数。"]},
        }
    }


def test_a_page_given_twice_or_past_the_last_is_refused(api_as, alice):
    client = api_as(alice)
    assert client.get("/api/short?page=1&page=1").status_code == 400
    assert client.get("/api/short", {"page": "1"}).status_code == 200
    past = client.get("/api/files", {"page": "2"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert past.status_code == 404
    assert past.json() == {"error": {"code": "page_not_found", "message": "没有这一页：列表没有这么长。"}}


def test_upload_fields_the_schema_calls_files_and_booleans_are_checked(api_as, alice):
    from pan.tests.conftest import post_share

    client = api_as(alice)
    # `uploading` is a boolean: `{}` or `0` was taken as false and the share created.
    for value in ("{}", "0", "yes"):
        refused = post_share(client, [], uploading=value, text="hello")
        assert refused.status_code == 400, value
        assert set(refused.json()["error"]["fields"]) == {"uploading"}
    # A `file` sent as a plain field (no filename) was ignored and a share made of the rest.
    refused = post_share(client, [], file="{}", text="hello")
    assert refused.status_code == 400
    assert set(refused.json()["error"]["fields"]) == {"file"}
    assert post_share(client, [], uploading="TRUE").status_code == 201
    assert post_share(client, [("a.txt", b"a")], text="hello", uploading="false").status_code == 201


# --- The tus endpoints: plain async views, written into the schema by uploads/openapi.py ---

TUS_STATUSES = {
    ("/api/uploads/", "options"): {"204", "429", "503"},
    ("/api/uploads/", "post"): {
        *("201", "400", "401", "403", "404", "409", "410", "412", "413", "415"),
        *("429", "460", "503"),
    },
    ("/api/uploads/{token}", "head"): {"200", "404", "410", "412", "429", "503"},
    ("/api/uploads/{token}", "patch"): {
        *("204", "400", "404", "409", "410", "412", "413", "415", "423", "429", "460", "503"),
    },
    ("/api/uploads/{token}", "delete"): {"204", "404", "410", "412", "429", "503"},
    ("/api/uploads/{token}", "get"): {"200", "404", "410", "429", "503"},
}


def test_tus_operations_declare_every_status_their_views_answer():
    schema = _schema()
    tus = {
        (path, method): op for path, ops in schema["paths"].items() if "/uploads" in path for method, op in ops.items()
    }
    assert set(tus) == set(TUS_STATUSES)
    for key, operation in tus.items():
        responses = operation["responses"]
        assert set(responses) == TUS_STATUSES[key], key
        for status, response in responses.items():
            if status[0] in "45":
                assert response["content"] == {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        names = {parameter["name"]: parameter for parameter in operation.get("parameters", [])}
        if key[1] in ("options", "get"):
            assert "Tus-Resumable" not in names, key
        else:
            assert names["Tus-Resumable"]["required"] is True
            assert responses["412"]["headers"]["Tus-Version"]["required"] is True
    # Every tus error's status is declared by some tus operation.
    from project.lib.errors import ApplicationError
    from uploads import errors

    declared = set().union(*TUS_STATUSES.values())
    for error in vars(errors).values():
        if isinstance(error, type) and issubclass(error, ApplicationError):
            assert str(error.status_code) in declared, error


def test_tus_security_and_shapes():
    schema = _schema()
    root, detail = schema["paths"]["/api/uploads/"], schema["paths"]["/api/uploads/{token}"]
    # Creation: a token, a session, or nothing (a drop); after that the URL is the credential.
    assert root["post"]["security"] == [{"jwtAuth": []}, {"cookieAuth": []}, {}]
    for method in ("head", "patch", "delete", "get"):
        assert detail[method]["security"] == [{}], method
    created = root["post"]["responses"]["201"]["headers"]
    assert created["Location"]["required"] is True
    assert {"Upload-Expires", "Upload-Offset", "Pan-Share", "Pan-Receipt", "Tus-Resumable"} <= set(created)
    assert list(root["post"]["requestBody"]["content"]) == ["application/offset+octet-stream"]
    assert list(detail["patch"]["requestBody"]["content"]) == ["application/offset+octet-stream"]
    assert detail["patch"]["responses"]["409"]["headers"]["Upload-Offset"]["required"] is True
    assert detail["head"]["responses"]["200"]["headers"]["Upload-Offset"]["required"] is True
    state = detail["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert state == {"$ref": "#/components/schemas/UploadState"}
    fields = schema["components"]["schemas"]["UploadState"]["properties"]
    assert set(fields) == {"offset", "length", "complete", "share", "receipt_url"}


def test_what_options_answers_is_what_the_schema_says(settings):
    settings.PAN_MAX_UPLOAD_SIZE = 12345
    declared = _schema()["paths"]["/api/uploads/"]["options"]["responses"]["204"]["headers"]
    answer = Client().options("/api/uploads/")
    assert answer.status_code == 204
    for name in ("Tus-Version", "Tus-Extension", "Tus-Checksum-Algorithm", "Tus-Resumable"):
        assert [answer.headers[name]] == declared[name]["schema"]["enum"], name
    assert answer.headers["Tus-Max-Size"] == "12345"
