"""paddle_conv.pretrained.download against a local HTTP server: progress, checksum, resume, Drive confirm."""

import hashlib
import os
import re

import pytest

from paddle_conv.errors import WeightsError
from paddle_conv.pretrained import download
from paddle_conv.pretrained.download import download_path, fetch, google_drive_url
from tests.pretrained.http_fixture import FileServer

DATA = os.urandom(3 * (1 << 20) + 123)  # a few chunks, so progress and resume have something to do
SHA = hashlib.sha256(DATA).hexdigest()



@pytest.fixture
def server():
    srv = FileServer()
    srv.files["/w.pth"] = DATA
    with srv.running():
        yield srv


def test_download_verifies_and_caches(home, server, capsys):
    path = fetch(server.url("/w.pth"), "w.pth", sha256=SHA)
    assert path == download_path("w.pth", server.url("/w.pth"), SHA) and path.read_bytes() == DATA
    assert path.parent == home / "downloads" and re.fullmatch(r"w-[0-9a-f]{16}\.pth", path.name)
    assert "downloading w.pth" in capsys.readouterr().err
    fetch(server.url("/w.pth"), "w.pth", sha256=SHA)
    assert len(server.requests) == 1, "a cached, verified file is not downloaded again"
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name, path.name + ".lock"]


def test_truncated_download_resumes_with_range(home, server):
    server.truncate_once["/w.pth"] = 1 << 20
    with pytest.raises(WeightsError, match="1048576 of"):
        fetch(server.url("/w.pth"), "w.pth", sha256=SHA, progress=False)
    assert not download_path("w.pth", server.url("/w.pth"), SHA).exists(), "never a half-written file there"
    path = fetch(server.url("/w.pth"), "w.pth", sha256=SHA, progress=False)
    assert path.read_bytes() == DATA
    assert server.requests[-1] == ("/w.pth", f"bytes={1 << 20}-")


def test_wrong_checksum_is_kept_aside_with_both_hashes(home, server):
    with pytest.raises(WeightsError) as info:
        fetch(server.url("/w.pth"), "w.pth", sha256="0" * 64, progress=False)
    assert SHA in str(info.value) and "0" * 64 in str(info.value)
    path = download_path("w.pth", server.url("/w.pth"), "0" * 64)
    assert not path.exists() and path.with_name(path.name + ".rejected").read_bytes() == DATA


def test_unknown_checksum_is_printed_for_pinning(home, server, capsys):
    fetch(server.url("/w.pth"), "w.pth", progress=False)
    assert f"sha256 of {download_path('w.pth', server.url('/w.pth')).name}: {SHA}" in capsys.readouterr().err


def test_offline_error_names_url_and_where_to_put_the_file(home):
    url = "http://127.0.0.1:9/nothing.pth"  # discard port: connection refused
    with pytest.raises(WeightsError) as info:
        fetch(url, "nothing.pth", progress=False)
    message = str(info.value)
    assert url in message and str(download_path("nothing.pth", url)) in message and "pretrained=" in message


def test_next_mirror_is_tried(home, server):
    path = fetch([server.url("/missing.pth"), server.url("/w.pth")], "w.pth", sha256=SHA, progress=False)
    assert path.read_bytes() == DATA


def test_google_drive_confirm_page_is_followed(home, server, monkeypatch):
    monkeypatch.setattr(download, "DRIVE_HOSTS", frozenset({"127.0.0.1"}))  # the test server plays Drive
    server.drive_ids["1F9esqmbIJmfTOsAZ6_6JEUnI83LVgF_S"] = "/w.pth"
    path = fetch(server.url("/uc?export=download&id=1F9esqmbIJmfTOsAZ6_6JEUnI83LVgF_S"), "w.pth", sha256=SHA,
                 progress=False)
    assert path.read_bytes() == DATA
    assert [p for p, _ in server.requests][-1].endswith("confirm=t")


def test_html_instead_of_a_file_is_an_error(home, server):
    server.pages["/quota"] = b"<html><body>Too many users have viewed or downloaded this file</body></html>"
    with pytest.raises(WeightsError, match="web page instead of the file"):
        fetch(server.url("/quota"), "x.pth", progress=False)
    assert not any((home / "downloads").glob("x*.pth*[!k]")), "nothing but the lock file was written"


@pytest.mark.parametrize("link", ["https://drive.google.com/open?id=1F9esqmbIJmfTOsAZ6_6JEUnI83LVgF_S",
                                  "https://drive.google.com/file/d/1F9esqmbIJmfTOsAZ6_6JEUnI83LVgF_S/view?usp=sharing"])
def test_drive_share_links_become_download_links(link):
    assert google_drive_url(link) == "https://drive.google.com/uc?export=download&id=1F9esqmbIJmfTOsAZ6_6JEUnI83LVgF_S"
    assert google_drive_url("https://example.org/a?id=1F9esqmbIJmfTOsAZ6_6JEUnI83LVgF_S") is None


@pytest.mark.parametrize("name", ["../x.pth", "/etc/passwd", "", ".."])
def test_cache_names_stay_in_the_cache(home, name):
    with pytest.raises(WeightsError, match="plain file name"):
        download_path(name, "https://example.org/x.pth")
