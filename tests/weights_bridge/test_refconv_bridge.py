"""RefConv layers and refconv_mobilenet_v1 against the official-layout torch reference."""

import numpy as np
import paddle
import pytest
import torch

from paddle_conv.factory import create_model
from paddle_conv.layers import RefConv2D
from paddle_conv.refconv import reparameterize
from weights_bridge import create_reference, paddle_to_torch, torch_to_paddle
from weights_bridge.parity import check_parity, paddle_twin, randomize_torch_
from weights_bridge.references.refconv_torch import RepConv

TOL = 1e-5


def randomize_bases_(torch_model, seed=0, transform_scale=0.2):
    """RepConv bases are buffers, which randomize_torch_ leaves alone: give them values too, and
    scale the (randomised) transforms down so that ``weight + convmap(weight)`` keeps the basis'
    magnitude (deep random nets otherwise blow activations up to ~1e4 and compare cancellations)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in torch_model.modules():
            if isinstance(module, RepConv):
                fan_in = module.weight[0].numel()
                module.weight.copy_(torch.randn(module.weight.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
                module.convmap.weight.mul_(transform_scale)
    return torch_model


@pytest.mark.parametrize("cin, cout, k, stride, groups", [(8, 16, 3, 1, 1), (16, 16, 5, 2, 16), (8, 12, 3, 2, 4)])
def test_layer_converts_both_ways_and_computes_the_same(cin, cout, k, stride, groups):
    ref = randomize_bases_(randomize_torch_(RepConv(cin, cout, k, stride, groups=groups)))
    layer = RefConv2D(cin, cout, k, stride=stride, groups=groups)
    state = torch_to_paddle(ref.state_dict(), torch_model=ref, paddle_model=layer)
    assert list(state) == ["weight", "convmap.weight"]
    layer.set_state_dict(state)
    x = np.random.default_rng(0).standard_normal((2, cin, 11, 11)).astype("float32")
    out = layer(paddle.to_tensor(x)).numpy()
    expected = ref(torch.tensor(x)).detach().numpy()
    assert np.abs(out - expected).max() <= TOL * max(1.0, np.abs(expected).max())
    report = check_parity(ref, layer, x)  # eval, train and gradients (input and convmap.weight)
    assert report.ok, report.summary()
    back = paddle_to_torch(layer.state_dict(), torch_model=ref, paddle_model=layer)
    assert all(torch.equal(back[key], value) for key, value in ref.state_dict().items())


@pytest.fixture(scope="module")
def mobilenet_pair():
    torch_model = randomize_bases_(randomize_torch_(create_reference("refconv_mobilenet_v1", num_classes=10)))
    paddle_model = paddle_twin(torch_model, create_model("refconv_mobilenet_v1", num_classes=10),
                               "refconv_mobilenet_v1")
    return torch_model, paddle_model


def test_refconv_mobilenet_v1_parity(mobilenet_pair):
    torch_model, paddle_model = mobilenet_pair
    x = np.random.default_rng(1).standard_normal((2, 3, 32, 32)).astype("float32")
    # eval and train-mode outputs; gradients are compared per layer above (float32 gradients of a
    # random deep net under train-mode batch norm are ill-conditioned, see check_parity)
    report = check_parity(torch_model, paddle_model, x, "refconv_mobilenet_v1", grads=False)
    assert report.ok, report.summary()


def test_refconv_mobilenet_v1_round_trips_bit_exactly(mobilenet_pair):
    torch_model, paddle_model = mobilenet_pair
    torch_state = paddle_to_torch(paddle_model.state_dict(), "refconv_mobilenet_v1", num_classes=10)
    assert all(torch.equal(torch_state[k], v) for k, v in torch_model.state_dict().items())
    paddle_state = torch_to_paddle(torch_state, "refconv_mobilenet_v1", num_classes=10)
    assert all(np.array_equal(paddle_state[k].numpy(), v.numpy()) for k, v in paddle_model.state_dict().items())


def test_official_weights_fold_into_plain_mobilenet_v1(mobilenet_pair):
    torch_model, _ = mobilenet_pair
    state = torch_to_paddle(torch_model.state_dict(), "refconv_mobilenet_v1", num_classes=10)
    model = create_model("refconv_mobilenet_v1", num_classes=10)
    model.set_state_dict(state)
    model.eval()
    reparameterize(model)
    plain = create_model("mobilenet_v1", num_classes=10)
    plain.set_state_dict(model.state_dict())
    plain.eval()
    x = np.random.default_rng(2).standard_normal((2, 3, 32, 32)).astype("float32")
    expected = torch_model.eval()(torch.tensor(x)).detach().numpy()
    assert np.abs(plain(paddle.to_tensor(x)).numpy() - expected).max() <= TOL * max(1.0, np.abs(expected).max())
