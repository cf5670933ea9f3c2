"""Converter rules on small hand-made model pairs and on the registered OctConv models."""

import re

import numpy as np
import paddle
import pytest
import torch

import weights_bridge as wb
from paddle_conv.errors import WeightsError
from weights_bridge.convert import KeyMapping, plan_conversion


class TorchHead(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(4, 3)  # square-free shapes: a missing transpose cannot go unnoticed
        self.norm = torch.nn.BatchNorm1d(3)
        self.table = torch.nn.Parameter(torch.randn(5, 4))  # rank 2 but not a Linear: never transposed

    def forward(self, x):
        return self.norm(self.proj(x)) + self.table.sum()


class PaddleHead(paddle.nn.Layer):
    def __init__(self, proj_name="proj"):
        super().__init__()
        setattr(self, proj_name, paddle.nn.Linear(4, 3))
        self.norm = paddle.nn.BatchNorm1D(3)
        self.table = self.create_parameter([5, 4])
        self.proj_name = proj_name

    def forward(self, x):
        return self.norm(getattr(self, self.proj_name)(x)) + self.table.sum()


def _random_torch_head():
    head = TorchHead()
    with torch.no_grad():
        head.norm.running_mean.normal_()
        head.norm.running_var.uniform_(0.5, 2)
        head.norm.num_batches_tracked.fill_(7)
    return head


def test_linear_transposed_bn_renamed_counter_dropped():
    head = _random_torch_head()
    out = wb.torch_to_paddle(head.state_dict(), torch_model=head, paddle_model=PaddleHead())
    assert list(out) == list(PaddleHead().state_dict())  # the Paddle model's own order
    assert set(out) == {"proj.weight", "proj.bias", "norm.weight", "norm.bias", "norm._mean", "norm._variance",
                        "table"}
    np.testing.assert_array_equal(out["proj.weight"].numpy(), head.proj.weight.detach().numpy().T)
    np.testing.assert_array_equal(out["table"].numpy(), head.table.detach().numpy())
    np.testing.assert_array_equal(out["norm._variance"].numpy(), head.norm.running_var.numpy())
    back = wb.paddle_to_torch(out, torch_model=head, paddle_model=PaddleHead())
    assert list(back) == list(head.state_dict())
    assert back["norm.num_batches_tracked"].item() == 0 and back["norm.num_batches_tracked"].dtype == torch.int64
    for key, value in head.state_dict().items():
        if not key.endswith("num_batches_tracked"):
            assert torch.equal(back[key], value), key


def test_outputs_agree_after_conversion():
    head, layer = _random_torch_head().eval(), PaddleHead()
    layer.set_state_dict(wb.torch_to_paddle(head.state_dict(), torch_model=head, paddle_model=layer))
    layer.eval()
    x = np.random.default_rng(0).standard_normal((2, 4)).astype("float32")
    expected = head(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(layer(paddle.to_tensor(x)).numpy(), expected, rtol=1e-5, atol=1e-5)


def test_wrappers_prefixes_and_missing_counter_accepted():
    head = _random_torch_head()
    state = {"module." + k: v for k, v in head.state_dict().items() if "num_batches" not in k}
    for wrapped in ({"state_dict": state, "epoch": 3}, {"model": state}, {"model_state_dict": state}):
        out = wb.torch_to_paddle(wrapped, torch_model=head, paddle_model=PaddleHead())
        assert "proj.weight" in out


def test_family_key_mapping_renames():
    head = _random_torch_head()
    mapping = KeyMapping(renames=((r"^proj\.", "fc."),))
    plan = plan_conversion(head, mapping, PaddleHead("fc"))
    assert plan.by_torch_key()["proj.weight"].paddle_key == "fc.weight"
    with pytest.raises(WeightsError, match="does not match its torch reference"):
        plan_conversion(head, KeyMapping(), PaddleHead("fc"))


def test_linear_mapped_onto_non_linear_is_refused():
    class NotLinear(PaddleHead):
        def __init__(self):
            super().__init__()
            self.proj = paddle.nn.Embedding(4, 3)  # [4, 3] as a transposed Linear, but not one

    with pytest.raises(WeightsError, match="torch Linear but Paddle Embedding"):
        plan_conversion(TorchHead(), paddle_model=NotLinear())


def test_mismatches_listed_before_anything_is_returned():
    head = _random_torch_head()
    state = dict(head.state_dict())
    del state["norm.bias"]
    state["extra.weight"] = torch.zeros(1)
    state["proj.weight"] = torch.zeros(3, 5)
    with pytest.raises(WeightsError) as info:
        wb.torch_to_paddle(state, torch_model=head, paddle_model=PaddleHead())
    msg = str(info.value)
    assert "missing keys (1): norm.bias" in msg and "unexpected keys (1): extra.weight" in msg
    assert re.search(r"shape mismatch \(1\): proj.weight \(checkpoint \[3, 5\], model \[3, 4\]\)", msg)


def test_not_a_state_dict():
    with pytest.raises(WeightsError, match="not a state dict"):
        wb.unwrap_state_dict({"epoch": 3, "arch": "x"})
    with pytest.raises(WeightsError, match="not a state dict"):
        wb.unwrap_state_dict([1, 2])


def test_registered_model_wrong_model_is_named():
    state = wb.paddle_to_torch(_mobilenet_state(), "oct_mobilenet", num_classes=10)
    with pytest.raises(WeightsError) as info:
        wb.torch_to_paddle(state, "oct_resnet26", num_classes=10)
    assert "keys are those of oct_mobilenet: pass --model oct_mobilenet" in str(info.value)
    with pytest.raises(WeightsError, match="another number of classes"):
        wb.torch_to_paddle(state, "oct_mobilenet", num_classes=11)


def _mobilenet_state():
    from weights_bridge.convert import build_paddle_skeleton

    layer = build_paddle_skeleton("oct_mobilenet", num_classes=10)
    return {k: np.zeros(v.shape, "float32") for k, v in layer.state_dict().items()}
