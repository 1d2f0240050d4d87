"""Hooks for the schemathesis run of test_schema_conformance.py (loaded through `SCHEMATHESIS_HOOKS`).

A tus body (`application/offset+octet-stream`, uploads/openapi.py) is raw
bytes: schemathesis sends it as it sends `application/octet-stream`, which
it knows.
"""

import schemathesis

schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
