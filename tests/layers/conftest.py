import pytest

from paddle_conv.layers import onednn_conv


@pytest.fixture
def fresh_operator(monkeypatch):
    """``native_conv2d_op`` asked anew (the operator not turned off), and the process's operator back
    afterwards."""
    monkeypatch.delenv(onednn_conv.NATIVE_OPS_ENV, raising=False)
    onednn_conv.native_conv2d_op.cache_clear()
    yield
    onednn_conv.native_conv2d_op.cache_clear()
