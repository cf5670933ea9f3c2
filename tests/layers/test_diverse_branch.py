import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

from paddle_conv.layers import DiverseBranchBlock
from paddle_conv.layers.diverse_branch import PaddedBatchNorm


def randomize(layer, seed=0):
    """Random weights and BatchNorm statistics (a freshly built block has unit norms)."""
    rng = np.random.default_rng(seed)
    for name, param in layer.named_parameters():
        value = rng.uniform(0.5, 1.5, param.shape) if name.endswith("_variance") else rng.normal(0, 0.3, param.shape)
        param.set_value(value.astype("float32"))
    return layer


@pytest.mark.parametrize("cin, cout, k, stride, groups", [
    (4, 6, 3, 1, 1), (4, 6, 3, 2, 1), (4, 8, 1, 1, 1), (4, 8, 5, 2, 2), (8, 8, 3, 1, 2),
    (6, 6, 3, 2, 6),  # depthwise: no 1x1 branch, pooling on the input, a 2 C_in wide 1x1 -> kxk branch
])
def test_reparameterized_conv_computes_the_block_in_eval_mode(cin, cout, k, stride, groups):
    block = randomize(DiverseBranchBlock(cin, cout, k, stride=stride, groups=groups))
    x = paddle.to_tensor(np.random.default_rng(1).normal(size=[2, cin, 9, 10]).astype("float32"))
    block.train()
    block(x).mean().backward()  # the training form trains (batch statistics): gradients reach every branch
    assert all(p.grad is not None for p in block.parameters() if p.trainable and not p.stop_gradient)
    block.eval()
    want = block(x).numpy()
    conv = block.reparameterize()
    got = conv(x).numpy()
    assert got.shape == want.shape == (2, cout, (9 - 1) // stride + 1, (10 - 1) // stride + 1)
    assert np.abs(got - want).max() <= 1e-5 * np.abs(want).max()
    assert conv.weight.shape == [cout, cin // groups, k, k] and conv.bias.shape == [cout]
    kind = ("DepthwiseConv2D" if groups == cin == cout
            else "PointwiseConv2D" if k == 1 and groups == 1 else "DenseConv2D")
    assert type(conv).__name__ == kind and not conv.training


def test_branches_and_the_identity_start():
    block = DiverseBranchBlock(4, 6, 3)
    branches = {name.split(".")[0] for name, _ in block.named_parameters()}
    assert branches == {"dbb_origin", "dbb_1x1", "dbb_avg", "dbb_1x1_kxk"}
    assert not np.any(block.dbb_1x1_kxk.idconv1.weight.numpy())  # its kernel starts as the identity
    x = paddle.randn([1, 4, 5, 5])
    np.testing.assert_allclose(block.dbb_1x1_kxk.idconv1(x).numpy(), x.numpy(), atol=0)
    assert DiverseBranchBlock(4, 4, 3, groups=4).dbb_1x1 is None


def test_padded_norm_equals_the_norm_of_a_zero_padded_input():
    norm = randomize(PaddedBatchNorm(3, 2))
    norm.eval()
    x = paddle.randn([2, 3, 4, 5])
    want = norm.bn(F.pad(x, [2, 2, 2, 2]))
    np.testing.assert_allclose(norm(x).numpy(), want.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("kwargs, match", [
    ({"kernel_size": 2}, "odd int"),
    ({"kernel_size": 3, "groups": 4}, "divisible by groups=4"),
    ({"kernel_size": 3, "groups": 6, "in_channels": 12}, "equal to out_channels"),
])
def test_bad_arguments_name_the_problem(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DiverseBranchBlock(**{"in_channels": 6, "out_channels": 6, **kwargs})
