"""Posts and videos: pages, the Range-aware stream, the post cache, admin."""

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from conftest import PASSWORD
from pan import posts
from pan.models import Post, Video

from .conftest import body_of

pytestmark = pytest.mark.django_db

CLIP = bytes(range(256)) * 4000  # 1 000 KiB of stand-in "video"
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def make_video(title="Sunrise 日出", data=CLIP, content_type="video/webm") -> Video:
    video = Video(title=title, file=ContentFile(data, name="clip.webm"), content_type=content_type)
    posts.video_describe(video=video)
    video.save()
    return video


@pytest.fixture
def video():
    made = make_video()
    yield made
    if made.pk is not None:  # a test may have deleted it already
        made.delete()


@pytest.fixture
def post(video):
    return Post.objects.create(
        title="Hello 你好", body="First line\n\n<script>alert(1)</script>", video=video, published=True
    )


def test_a_published_post_shows_site_name_title_body_and_video_link(post, video):
    response = Client().get(f"/post/{post.pk}/", **EN)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Pan" in html and "<h1>Hello 你好</h1>" in html
    assert "<p>First line</p>" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert f'href="/videos/{video.pk}/"' in html
    assert "Watch the video: Sunrise 日出" in html


def test_the_post_page_speaks_chinese_too(post):
    html = Client().get(f"/post/{post.pk}/", **ZH).content.decode()
    assert "观看视频：Sunrise 日出" in html


@pytest.mark.parametrize("published", [False, None], ids=["unpublished", "unknown"])
def test_unpublished_or_unknown_posts_are_404(published):
    post_id = Post.objects.create(title="Draft", published=False).pk if published is False else 99999
    response = Client().get(f"/post/{post_id}/")
    assert response.status_code == 404
    assert "There is nothing at this address." in response.content.decode()


def test_post_pages_are_cached_and_cleared_when_the_post_changes(post):
    client = Client()
    assert "Hello 你好" in client.get(f"/post/{post.pk}/").content.decode()
    # A write that skips Django's signals: the page still comes from the cache.
    Post.objects.filter(pk=post.pk).update(title="Changed behind the cache")
    assert "Hello 你好" in client.get(f"/post/{post.pk}/").content.decode()
    # A real change (admin, shell, service) clears the entry.
    post.refresh_from_db()
    post.title = "Edited"
    post.save()
    assert "<h1>Edited</h1>" in client.get(f"/post/{post.pk}/").content.decode()


def test_unpublishing_or_deleting_a_post_removes_its_page_at_once(post):
    client = Client()
    assert client.get(f"/post/{post.pk}/").status_code == 200
    post.published = False
    post.save()
    assert client.get(f"/post/{post.pk}/").status_code == 404
    post.published = True
    post.save()
    assert client.get(f"/post/{post.pk}/").status_code == 200
    post_id = post.pk
    post.delete()
    assert client.get(f"/post/{post_id}/").status_code == 404


def test_a_change_to_the_video_clears_the_posts_that_show_it(post, video):
    client = Client(**EN)
    assert "Watch the video: Sunrise 日出" in client.get(f"/post/{post.pk}/").content.decode()
    video.title = "Sunset"
    video.save()
    assert "Watch the video: Sunset" in client.get(f"/post/{post.pk}/").content.decode()
    video.delete()
    html = client.get(f"/post/{post.pk}/").content.decode()
    assert "Watch the video" not in html


def test_the_cache_holds_no_user_specific_page(post, bob):
    signed_in = Client()
    signed_in.login(username="bob", password=PASSWORD)
    assert "Log out bob" in signed_in.get(f"/post/{post.pk}/").content.decode()
    assert "Log out bob" not in Client().get(f"/post/{post.pk}/").content.decode()
    cached = [cache.get(f"post-fragment:{post.pk}:{code}") for code in ("en", "zh-hans")]
    assert any(cached) and all("Log out" not in (entry or {}).get("html", "") for entry in cached)


def test_the_video_page_has_a_player_on_the_stream(video):
    response = Client().get(f"/videos/{video.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Sunrise 日出</h1>" in html
    assert f'<video id="player" class="player" controls preload="metadata" src="/videos/{video.pk}/stream">' in html


def test_an_unknown_video_is_a_no_such_video_page_in_both_languages():
    english = Client().get("/videos/424242/", **EN)
    chinese = Client().get("/videos/424242/", **ZH)
    assert english.status_code == chinese.status_code == 404
    assert "There is no such video." in english.content.decode()
    assert "没有这个视频。" in chinese.content.decode()


def test_the_stream_sends_the_whole_video_with_safe_headers(video):
    response = Client().get(f"/videos/{video.pk}/stream")
    assert response.status_code == 200
    assert body_of(response) == CLIP
    assert response["Content-Type"] == "video/webm"
    assert response["Content-Length"] == str(len(CLIP))
    assert response["Accept-Ranges"] == "bytes"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox"
    assert response["Content-Disposition"].startswith("inline;")


@pytest.mark.parametrize(
    "header,start,end",
    [("bytes=0-99", 0, 99), ("bytes=500000-599999", 500000, 599999), ("bytes=-1000", len(CLIP) - 1000, len(CLIP) - 1)]
    + [("bytes=1000000-", 1000000, len(CLIP) - 1)],
    ids=["first", "middle", "suffix", "open-ended"],
)
def test_the_stream_answers_ranges_so_players_can_seek(video, header, start, end):
    response = Client().get(f"/videos/{video.pk}/stream", HTTP_RANGE=header)
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {start}-{end}/{len(CLIP)}"
    assert body_of(response) == CLIP[start : end + 1]


def test_an_unsatisfiable_range_is_416(video):
    response = Client().get(f"/videos/{video.pk}/stream", HTTP_RANGE=f"bytes={len(CLIP)}-")
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(CLIP)}"


def test_a_stale_if_range_gets_the_whole_video(video):
    fresh = Client().get(f"/videos/{video.pk}/stream", HTTP_RANGE="bytes=0-9")
    assert fresh.status_code == 206
    stale = Client().get(f"/videos/{video.pk}/stream", HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"old-etag"')
    assert stale.status_code == 200 and body_of(stale) == CLIP
    matching = Client().get(f"/videos/{video.pk}/stream", HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE=fresh["ETag"])
    assert matching.status_code == 206 and body_of(matching) == CLIP[:10]


def test_the_stream_of_an_unknown_video_is_404_and_only_reads_are_allowed(video):
    assert Client().get("/videos/424242/stream").status_code == 404
    assert Client().post(f"/videos/{video.pk}/stream").status_code == 405


def test_admins_upload_videos_and_write_posts_in_django_admin(alice):
    client = Client()
    client.login(username="alice", password=PASSWORD)
    upload = SimpleUploadedFile("../../evil name.webm", CLIP[:5000], content_type="video/webm")
    response = client.post("/admin/pan/video/add/", {"title": "From admin", "file": upload, "content_type": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    video = Video.objects.get(title="From admin")
    assert (video.size, video.content_type) == (5000, "video/webm")
    assert video.file.name.startswith("videos/") and "evil" not in video.file.name
    assert body_of(Client().get(f"/videos/{video.pk}/stream")) == CLIP[:5000]

    response = client.post(
        "/admin/pan/post/add/", {"title": "Admin post", "body": "Text", "video": video.pk, "published": "on"}
    )
    assert response.status_code == 302
    post = Post.objects.get(title="Admin post")
    assert f'href="/videos/{video.pk}/"' in Client().get(f"/post/{post.pk}/").content.decode()
    assert client.get("/admin/pan/post/").status_code == 200
    assert client.get("/admin/pan/video/").status_code == 200

    name = video.file.name
    video.delete()
    assert not default_storage.exists(name)


def test_members_cannot_reach_the_post_admin(bob):
    client = Client()
    client.login(username="bob", password=PASSWORD)
    assert client.get("/admin/pan/post/").status_code == 403
