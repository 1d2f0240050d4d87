"""Real tus clients against Pan: tuspy (Python), stopped and resumed as a
user's script would be, with its URL store and Upload-Checksum."""

import hashlib
import io
import os

import pytest
from tusclient import client as tus_client
from tusclient.storage.filestorage import FileStorage

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]
MiB = 1024 * 1024


def _client(site, who="owner"):
    return tus_client.TusClient(f"{site.url}/api/uploads/", headers=site.auth(who))


def test_tuspy_stops_and_resumes_from_its_url_store(tus_site, tmp_path):
    data = os.urandom(9 * MiB + 3)
    path = tmp_path / "tuspy.bin"
    path.write_bytes(data)  # tuspy fingerprints a file by its path (a stream it closes)
    store = FileStorage(str(tmp_path / "urls.json"))

    def uploader():
        return _client(tus_site).uploader(
            file_path=str(path),
            chunk_size=2 * MiB,
            metadata={"filename": "tuspy.bin"},
            store_url=True,
            url_storage=store,
        )

    first = uploader()
    first.upload(stop_at=4 * MiB)  # the script is interrupted here
    assert tus_site.offset(first.url) == 4 * MiB
    # A new run finds the upload by the file's fingerprint and goes on from the server's offset.
    second = uploader()
    assert second.url == first.url
    assert second.offset == 4 * MiB
    second.upload()
    answer = tus_site.head(second.url)
    share = tus_site.share(answer.headers["Pan-Share"])
    assert share["items"][0]["sha256"] == hashlib.sha256(data).hexdigest()
    assert tus_site.content(share, share["items"][0]) == data


def test_tuspy_with_upload_checksums_into_a_drop(tus_site):
    request = tus_site.new_request("owner", title="Scans", password="open sesame")
    data = os.urandom(3 * MiB)
    uploader = tus_client.TusClient(f"{tus_site.url}/api/uploads/").uploader(
        file_stream=io.BytesIO(data),
        chunk_size=MiB,
        metadata={"filename": "scan.pdf", "request": request["code"], "password": "open sesame", "name": "Bo"},
        upload_checksum=True,
    )
    uploader.upload()
    answer = tus_site.head(uploader.url)
    assert answer.headers["Pan-Receipt"].startswith(f"/r/{request['code'].replace('-', '')}/receipt/")
    share = tus_site.share(answer.headers["Pan-Share"])
    assert share["items"][0]["sha256"] == hashlib.sha256(data).hexdigest()
