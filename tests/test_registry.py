import pytest

import paddle_conv as pc
from paddle_conv.errors import PaddleConvError, UnknownNameError
from paddle_conv.registry import Registry


def test_register_and_build():
    reg = Registry("widget")

    @reg.register
    def small(width=1):
        return ("small", width)

    reg.register(lambda: "big", name="big")
    assert reg.build("small", width=3) == ("small", 3)
    assert reg.build("big") == "big"
    assert reg.names() == ["big", "small"]
    assert reg.names("sm*") == ["small"]
    assert "small" in reg and len(reg) == 2


def test_unknown_name_lists_closest():
    reg = Registry("widget")
    reg.register(lambda: 1, name="oct_resnet50")
    reg.register(lambda: 1, name="oct_resnet101")
    with pytest.raises(UnknownNameError) as info:
        reg.get("oct_resnet05")
    msg = str(info.value)
    assert "unknown widget 'oct_resnet05'" in msg and "Did you mean: oct_resnet50" in msg
    assert isinstance(info.value, PaddleConvError)


def test_duplicate_registration_is_an_error():
    reg = Registry("widget")
    reg.register(lambda: 1, name="a")
    with pytest.raises(ValueError, match="registered twice"):
        reg.register(lambda: 2, name="a")


def test_create_model_unknown_name():
    with pytest.raises(UnknownNameError, match="unknown model 'no_such_model'"):
        pc.create_model("no_such_model")
