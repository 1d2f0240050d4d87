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
