"""Fixtures of the pretrained-weights tests: an empty download cache, with or without network."""

import urllib.error

import pytest

from paddle_conv.pretrained import download


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty cache (``$PADDLE_CONV_HOME``); its path."""
    monkeypatch.setenv("PADDLE_CONV_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def offline(home, monkeypatch):
    """An empty cache and no network: every download attempt fails as offline machines do."""

    def refuse(url, offset, watchdog):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(download, "_open", refuse)
    return home
