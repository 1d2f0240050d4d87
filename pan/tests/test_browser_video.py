"""A video page in Chromium: a real WebM (made here by ffmpeg) plays and seeks."""

import json
import subprocess

import pytest

pytestmark = pytest.mark.browser


@pytest.fixture
def webm(tmp_path):
    path = tmp_path / "clip.webm"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=duration=4:size=160x120:rate=10",
         "-c:v", "libvpx", "-b:v", "200k", "-y", str(path)],
        check=True,
        timeout=120,
    )  # fmt: skip
    return path


def add_video(server, path, title: str) -> dict:
    code = (
        "import json; from django.core.files import File; from pan.models import Post, Video; from pan import posts\n"
        f"v = Video(title={title!r}, file=File(open({str(path)!r}, 'rb'), name='clip.webm'))\n"
        "posts.video_describe(video=v); v.save()\n"
        "p = Post.objects.create(title='Post ' + v.title, body='Body', video=v, published=True)\n"
        "print(json.dumps({'video': v.pk, 'post': p.pk}))"
    )
    return json.loads(server.manage("shell", "-c", code).stdout.strip().splitlines()[-1])


def test_a_video_plays_and_seeks_in_chromium(daphne_server, browser_context, webm):
    ids = add_video(daphne_server, webm, "Test pattern")
    page = browser_context.new_page()
    ranges = []
    page.on(
        "request", lambda request: ranges.append(request.headers.get("range")) if "/stream" in request.url else None
    )

    page.goto(f"{daphne_server.url}/post/{ids['post']}/")
    assert page.text_content("h1") == "Post Test pattern"
    page.click("text=Watch the video")
    page.wait_for_url(f"**/videos/{ids['video']}/")

    page.wait_for_function("() => document.getElementById('player').readyState >= 1", timeout=15000)
    duration = page.evaluate("document.getElementById('player').duration")
    assert 3.5 < duration < 4.5
    seeked = page.evaluate(
        """() => new Promise(resolve => {
            const player = document.getElementById('player');
            player.addEventListener('seeked', () => resolve(player.currentTime), {once: true});
            player.currentTime = 3;
        })"""
    )
    assert seeked == pytest.approx(3, abs=0.5)
    assert page.evaluate("document.getElementById('player').error") is None
    assert any(header and header.startswith("bytes=") for header in ranges)


def test_an_unknown_video_shows_the_no_such_video_page(daphne_server, browser_context):
    page = browser_context.new_page()
    response = page.goto(f"{daphne_server.url}/videos/987654/")
    assert response.status == 404
    assert "There is no such video." in page.text_content("main")
