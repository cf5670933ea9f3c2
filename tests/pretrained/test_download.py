"""paddle_conv.pretrained.download against a local HTTP server: progress, checksum, resume, Drive confirm."""

import base64
import hashlib
import io
import os
import re
import time

import numpy as np
import paddle
import pytest

import paddle_conv as pc
from paddle_conv.cli import run_cli
from paddle_conv.errors import WeightsError
from paddle_conv.pretrained import download
from paddle_conv.pretrained.download import download_path, fetch, google_drive_url
from tests.pretrained.http_fixture import FileServer, compressed, drip, endless, lying, redirect
from tools import train as train_tool

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


def test_a_password_in_the_url_never_reaches_the_error(home):
    url = "http://user:PASSWORD@127.0.0.1:9/nothing.pth"
    with pytest.raises(WeightsError) as info:
        fetch(url, "nothing.pth", progress=False)
    assert "PASSWORD" not in str(info.value) and "http://***@127.0.0.1:9/nothing.pth" in str(info.value)


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


# --- hostile servers (issue 26): every case is one error line, fast, and leaves user files alone ---

SECRET = b"SECRET-" + os.urandom(16).hex().encode()
CAP, STALL = 1 << 20, 1.0  # PADDLE_CONV_MAX_DOWNLOAD, PADDLE_CONV_DOWNLOAD_TIMEOUT in these tests


def _tree(root, skip):
    """``{path: sha256}`` of every file and link under ``root`` but ``skip``."""
    return {str(p): hashlib.sha256(os.readlink(p).encode() if p.is_symlink() else p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if (p.is_file() or p.is_symlink()) and skip not in p.parents}


@pytest.fixture
def user(home, tmp_path, monkeypatch):
    """Small limits, and a user folder holding a secret and a victim file. Afterwards: every file
    outside the cache unchanged and none added, no cache file over the cap or holding the secret."""
    monkeypatch.setenv("PADDLE_CONV_MAX_DOWNLOAD", str(CAP))
    monkeypatch.setenv("PADDLE_CONV_DOWNLOAD_TIMEOUT", str(STALL))
    folder = tmp_path / "user"
    folder.mkdir()
    (folder / "secret.txt").write_bytes(SECRET)
    (folder / "victim.bin").write_bytes(b"victim: must never change")
    before = _tree(tmp_path, home)
    yield folder
    assert _tree(tmp_path, home) == before, "a file outside the cache was written"
    for path in home.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert path.stat().st_size <= CAP and SECRET not in path.read_bytes(), path


@pytest.fixture
def hostile(user):
    srv = FileServer()
    srv.files["/w.pth"] = DATA[:CAP // 2]
    with srv.running():
        yield srv


def _refused(call, *patterns, limit=5.0):
    """Run ``call``: a WeightsError of one line matching every pattern, within ``limit`` seconds."""
    start = time.monotonic()
    with pytest.raises(WeightsError) as info:
        call()
    message = str(info.value)
    assert time.monotonic() - start < limit and "\n" not in message and "\r" not in message, message
    for pattern in patterns:
        assert re.search(pattern, message), message
    return message


def _fetch(server, path, **kwargs):
    return lambda: fetch(server.url(path), "w.pth", progress=False, **kwargs)


def _drive_page(link):
    return (f'<html><form id="download-form" action="{link}" method="get"><input type="hidden" name="id" '
            'value="x"></form></html>').encode()


def test_a_web_page_from_a_host_other_than_drive_is_refused(hostile, user):  # issue 26, case 1
    hostile.pages["/drive_file.pth"] = _drive_page("file:///etc/passwd#")
    hostile.pages["/p.pth"] = _drive_page(f"file://{user / 'secret.txt'}#")
    for path in ("/drive_file.pth", "/p.pth"):
        _refused(_fetch(hostile, path), "web page instead of the file")
    assert [p for p, _ in hostile.requests] == ["/drive_file.pth", "/p.pth"], "no link of the page was followed"


@pytest.mark.parametrize("link", ["file://{secret}#", "FILE://{secret}", "ftp://127.0.0.1:{port}/w.pth",
                                  "data:application/octet-stream;base64,{b64}", "http://localhost:{port}/w.pth",
                                  "http://drive.google.com@localhost:{port}/w.pth"])
def test_drive_confirm_links_lead_only_to_drive_over_http(hostile, user, monkeypatch, link):  # case 1
    monkeypatch.setattr(download, "DRIVE_HOSTS", frozenset({"127.0.0.1"}))  # the test server plays Drive
    link = link.format(secret=user / "secret.txt", port=hostile.port, b64=base64.b64encode(SECRET).decode())
    hostile.pages["/uc2"] = _drive_page(link)
    _refused(_fetch(hostile, "/uc2"), "only http and https are followed|not to a Google Drive host")
    assert [p for p, _ in hostile.requests] == ["/uc2"]


@pytest.mark.parametrize("target", ["file://{secret}", "ftp://127.0.0.1:{port}/w.pth", "data:,SECRET",
                                    "gopher://127.0.0.1:{port}/"])
def test_redirects_to_other_schemes_are_refused(hostile, user, target):  # case 12
    hostile.routes["/r"] = redirect(target.format(secret=user / "secret.txt", port="{port}"))
    _refused(_fetch(hostile, "/r"), r"refused link '\w+:", "only http and https")


@pytest.mark.parametrize("routes, pattern", [({"/r": "/r"}, "redirect loop"),
                                             ({"/r": "/s", "/s": "http://127.0.0.1:{port}/r"}, "redirect loop"),
                                             ({f"/c{i}": f"/c{i + 1}" for i in range(30)}, "more than 10 redirects")])
def test_redirect_loops_are_one_line(hostile, routes, pattern):  # case 12: was a three-line error
    hostile.routes.update({path: redirect(to) for path, to in routes.items()})
    start = next(iter(routes))
    _refused(_fetch(hostile, start), pattern)
    assert len(hostile.requests) <= 11


def test_https_never_leads_to_http():
    assert download._next_hop("https://a.org/x", "/y") == "https://a.org/y"
    assert download._next_hop("http://a.org/x", "https://b.org/y") == "https://b.org/y"
    with pytest.raises(download._Refused, match="from https to plain http"):
        download._next_hop("https://a.org/x", "http://a.org/x")


def test_a_planted_symlink_is_never_written_through(hostile, user):  # case 3
    victim = user / "victim.bin"
    url = hostile.url("/w.pth")
    final = download_path("w.pth", url)
    final.parent.mkdir(parents=True)
    for name in (final.name + ".part", final.name + ".lock", final.name):
        (final.parent / name).symlink_to(victim)
    assert fetch(url, "w.pth", progress=False).read_bytes() == DATA[:CAP // 2]
    assert not final.is_symlink() and final.with_name(final.name + ".rejected").is_symlink()  # moved aside
    assert not final.with_name(final.name + ".lock").is_symlink()


def test_a_hard_link_as_the_part_file_is_not_appended_to(hostile, user):
    url = hostile.url("/w.pth")
    final = download_path("w.pth", url)
    final.parent.mkdir(parents=True)
    os.link(user / "victim.bin", final.with_name(final.name + ".part"))  # would be resumed from its size
    assert fetch(url, "w.pth", progress=False).read_bytes() == DATA[:CAP // 2]
    assert hostile.requests[-1] == ("/w.pth", None), "started over, not resumed"


def test_a_fifo_as_the_part_file_does_not_hang(hostile):
    final = download_path("w.pth", hostile.url("/w.pth"))
    final.parent.mkdir(parents=True)
    os.mkfifo(final.with_name(final.name + ".part"))
    start = time.monotonic()
    assert fetch(hostile.url("/w.pth"), "w.pth", progress=False).read_bytes() == DATA[:CAP // 2]
    assert time.monotonic() - start < 5


@pytest.mark.parametrize("make", ["symlink", "open to all"])
def test_the_cache_folder_must_be_ours(home, user, make):
    home.mkdir()
    if make == "symlink":
        (home / "downloads").symlink_to(user)
    else:
        (home / "downloads").mkdir()
        (home / "downloads").chmod(0o777)
    _refused(lambda: fetch("http://127.0.0.1:9/w.pth", "w.pth", progress=False),
             "not a folder" if make == "symlink" else "others can write to it")


@pytest.mark.parametrize("route, pattern, kept", [
    (endless(8 << 20), r"announces 8388608 bytes, over the 1048576-byte limit \(PADDLE_CONV_MAX_DOWNLOAD\)", None),
    (endless(), r"grew past the 1048576-byte limit", None),
    (lying(bytes(100_000), 500_000), "connection closed after 100000 of 500000 bytes; run again to resume", 100_000),
    (drip(0.05), r"stalled: less than 64 KiB arrived in 1 s", 40),
    (drip(0.05, in_headers=True), r"stalled", None),
    (drip(5), r"stalled", 1),
    (compressed("gzip"), r"compressed \(Content-Encoding: 'gzip'\)", None),
    (compressed("deflate"), r"compressed \(Content-Encoding: 'deflate'\)", None),
], ids=["content-length-over-cap", "endless", "short-body", "drip", "drip-headers", "drip-5s", "gzip-bomb",
        "deflate-bomb"])
def test_size_and_stall_bounds(hostile, route, pattern, kept):  # case 4
    hostile.routes["/x.pth"] = route
    _refused(_fetch(hostile, "/x.pth"), pattern, re.escape(hostile.url("/x.pth")), limit=STALL + 2)
    part = download_path("w.pth", hostile.url("/x.pth"))
    part = part.with_name(part.name + ".part")
    assert (part.stat().st_size <= kept if kept else not part.exists()), "a part is kept only to resume"


def test_the_catalogue_size_caps_the_download(hostile):
    _refused(_fetch(hostile, "/w.pth", size=1000), r"over the catalogue's size of the file, 1000 bytes")
    hostile.routes["/x.pth"] = endless()
    _refused(_fetch(hostile, "/x.pth", size=1000), r"grew past the catalogue's size")


def test_a_body_longer_than_announced_is_cut_to_the_announcement(hostile):
    hostile.routes["/x.pth"] = lying(DATA[:300_000], 1000)
    _refused(_fetch(hostile, "/x.pth", sha256=SHA), "has sha256 [0-9a-f]{64}, expected")
    path = download_path("w.pth", hostile.url("/x.pth"), SHA)
    assert path.with_name(path.name + ".rejected").read_bytes() == DATA[:1000]


def test_limits_default_to_4_gib_and_60_s(monkeypatch):
    monkeypatch.delenv("PADDLE_CONV_MAX_DOWNLOAD", raising=False)
    monkeypatch.delenv("PADDLE_CONV_DOWNLOAD_TIMEOUT", raising=False)
    assert download.download_limits() == (4294967296, "the 4294967296-byte limit (PADDLE_CONV_MAX_DOWNLOAD)", 60.0)
    assert download.download_limits(size=1234)[:2] == (1234, "the catalogue's size of the file, 1234 bytes")


@pytest.mark.parametrize("variable", ["PADDLE_CONV_MAX_DOWNLOAD", "PADDLE_CONV_DOWNLOAD_TIMEOUT"])
@pytest.mark.parametrize("value", ["abc", "0", "-5", "nan", "inf", "1e400"])
def test_bad_limits_are_one_line(user, monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    _refused(lambda: fetch("http://127.0.0.1:9/w.pth", "w.pth", progress=False), f"{variable}=")


def test_two_sources_never_share_a_cache_file(hostile):  # case 5
    other = FileServer()
    other.files["/w.pth"] = b"the other host's file"
    with other.running():
        mine = fetch(hostile.url("/w.pth"), "w.pth", progress=False)
        theirs = fetch(other.url("/w.pth"), "w.pth", progress=False)
    assert mine != theirs and theirs.read_bytes() == b"the other host's file"
    assert mine.read_bytes() == DATA[:CAP // 2]
    hostile.files["/a/"], hostile.files["/b/"] = b"a", b"b"
    slash_a, slash_b = (fetch(hostile.url(p), download.url_file_name(hostile.url(p)), progress=False)
                        for p in ("/a/", "/b/"))
    assert (slash_a.read_bytes(), slash_b.read_bytes()) == (b"a", b"b")
    assert download_path("w.pth", "https://x.org/w.pth", "ab") != download_path("w.pth", "https://x.org/w.pth", "cd")


def test_a_damaged_cached_file_is_moved_aside_and_fetched_again(hostile, capsys):  # case 5
    good = DATA[:CAP // 2]
    sha = hashlib.sha256(good).hexdigest()
    path = download_path("w.pth", hostile.url("/w.pth"), sha)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"damaged")
    assert fetch(hostile.url("/w.pth"), "w.pth", sha256=sha, progress=False).read_bytes() == good
    assert "moved aside" in capsys.readouterr().err
    assert path.with_name(path.name + ".rejected").read_bytes() == b"damaged"


def test_unreadable_downloaded_weights_are_fetched_again_on_the_next_call(hostile):  # case 5
    model = pc.create_model("tiny_cnn", num_classes=10, width=0.25)
    buffer = io.BytesIO()
    paddle.save(model.state_dict(), buffer)
    hostile.files["/t.pdparams"] = b"not weights"
    url = hostile.url("/t.pdparams")
    message = _refused(lambda: pc.create_model("tiny_cnn", num_classes=10, width=0.25, pretrained=url),
                       "moved aside to", "the next call downloads it again")
    assert str(download_path("t.pdparams", url)) in message
    hostile.files["/t.pdparams"] = buffer.getvalue()
    loaded = pc.create_model("tiny_cnn", num_classes=10, width=0.25, pretrained=url)
    assert len(hostile.requests) == 2
    np.testing.assert_array_equal(loaded.state_dict()["fc.weight"].numpy(), model.state_dict()["fc.weight"].numpy())


# through a tool's command line: exit 2, one error line, no traceback, no run folder

@pytest.mark.parametrize("route, pattern", [
    ("page:file://{secret}#", "web page instead"),
    ("redirect:/x.pth", "redirect loop"),
    ("redirect:file://{secret}", "only http and https"),
    (endless(), "grew past"),
    (drip(0.05), "stalled"),
], ids=["html-file-link", "redirect-loop", "redirect-to-file", "endless", "drip"])
def test_tools_train_refuses_in_one_line(hostile, user, tmp_path, capsys, route, pattern):  # cases 1, 4, 12
    if isinstance(route, str):
        kind, _, link = route.partition(":")
        link = link.format(secret=user / "secret.txt")
        if kind == "page":
            hostile.pages["/x.pth"] = _drive_page(link)
        else:
            hostile.routes["/x.pth"] = redirect(link)
    else:
        hostile.routes["/x.pth"] = route
    out = tmp_path / "out"
    start = time.monotonic()
    code = run_cli(train_tool.main, ["-c", "configs/digits_quick.yaml", "-o", f"Global.output_dir={out}",
                                     "-o", f"Arch.pretrained={hostile.url('/x.pth')}"])
    err = capsys.readouterr().err
    errors = [line for line in err.split("\n") if line.startswith("error:")]
    assert code == 2 and len(errors) == 1 and "Traceback" not in err, err
    assert re.search(pattern, errors[0]) and hostile.url("/x.pth") in errors[0], errors[0]
    assert time.monotonic() - start < 3 * STALL + 10 and not out.exists()
