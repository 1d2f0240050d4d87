"""First-wave one-file rows become one-item shares with nothing lost."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from .conftest import body_of

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("pan", "0002_video_post"), ("accounts", "0003_uploaders_role")]
AFTER = [("pan", "0003_shares"), ("accounts", "0004_user_username_skeleton")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture(autouse=True)
def _latest_schema_after():
    """Whatever happens in the test, later tests find the current schema."""
    yield
    executor = MigrationExecutor(connection)
    migrate(executor.loader.graph.leaf_nodes())


def test_old_files_keep_their_names_codes_counts_and_bytes(api):
    old_apps = migrate(BEFORE)
    User = old_apps.get_model("accounts", "User")
    SharedFile = old_apps.get_model("pan", "SharedFile")
    owner = User.objects.create(username="olga", password="!")
    now = timezone.now()
    default_storage.save("files/OldUniqueName0000000", ContentFile(b"first wave bytes"))
    SharedFile.objects.create(
        unique_name="OldUniqueName0000000",
        file_name="旧文件.pdf",
        size=16,
        content_type="application/pdf",
        sha256="a" * 64,
        owner=owner,
        created_at=now - timedelta(days=1),
        expires_at=now + timedelta(days=6),
        max_downloads=5,
        download_count=2,
        share_code="ABC234",
    )
    SharedFile.objects.create(
        unique_name="RevokedOne0000000000",
        file_name="gone.txt",
        size=0,
        sha256="b" * 64,
        owner=owner,
        share_code="XYZ789",
        revoked_at=now,
    )
    new_apps = migrate(AFTER)
    Share = new_apps.get_model("pan", "Share")
    share = Share.objects.get(unique_name="OldUniqueName0000000")
    assert (share.code, share.download_count, share.max_downloads, share.owner.username) == ("ABC234", 2, 5, "olga")
    assert share.expires_at == now + timedelta(days=6) and share.complete
    [item] = share.items.all()
    assert (item.name, item.path, item.size, item.content_type) == ("旧文件.pdf", "旧文件.pdf", 16, "application/pdf")
    assert item.storage_key == "files/OldUniqueName0000000"
    assert Share.objects.get(unique_name="RevokedOne0000000000").revoked_at == now
    # The old link and code still download the old bytes (through the
    # current code, which needs the current schema: later migrations too).
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    response = api.get("/api/files/OldUniqueName0000000/content", HTTP_X_SHARE_CODE="abc234")
    assert response.status_code == 200 and body_of(response) == b"first wave bytes"
    assert api.get("/f/OldUniqueName0000000/?code=ABC234").status_code == 200
    # And back again (the download above counted: 3).
    old_apps = migrate(BEFORE)
    restored = old_apps.get_model("pan", "SharedFile").objects.get(unique_name="OldUniqueName0000000")
    assert (restored.share_code, restored.file_name, restored.download_count) == ("ABC234", "旧文件.pdf", 3)
    migrate(AFTER)
    (Path(settings.MEDIA_ROOT) / "files" / "OldUniqueName0000000").unlink()
