"""Training-curve parity: same initial weights, same batches, SGD with momentum, 10 steps.

The model is a small octave-convolution net (split, octave stride 2, merge, linear) built from
both frameworks' Conv_BN_ACT, on a learnable task with batch 16. (A full Oct-MobileNet on a
4-image random-label batch is chaotic: torch float32 itself leaves its float64 curve by 1e-2
within 3 steps, and so does any comparison.)
"""

import numpy as np
import paddle
import torch

from paddle_conv.layers.octconv import Conv_BN_ACT
from weights_bridge import parity
from weights_bridge.references.octconv_torch import Conv_BN_ACT as TorchConvBNAct

LAYERS = [dict(in_channels=3, out_channels=16, kernel_size=3, alpha_in=0, alpha_out=0.5, padding=1),
          dict(in_channels=16, out_channels=32, kernel_size=3, alpha_in=0.5, alpha_out=0.5, stride=2, padding=1),
          dict(in_channels=32, out_channels=32, kernel_size=3, alpha_in=0.5, alpha_out=0, padding=1)]


class TorchNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(*[TorchConvBNAct(**kw) for kw in LAYERS])
        self.fc = torch.nn.Linear(32, 10)

    def forward(self, x):
        return self.fc(self.body(x)[0].mean(dim=(2, 3)))


class PaddleNet(paddle.nn.Layer):
    def __init__(self):
        super().__init__()
        self.body = paddle.nn.Sequential(*[Conv_BN_ACT(**kw) for kw in LAYERS])
        self.fc = paddle.nn.Linear(32, 10)

    def forward(self, x):
        return self.fc(self.body(x)[0].mean(axis=(2, 3)))


def test_loss_curves_agree():
    torch.manual_seed(0)
    torch_model = TorchNet()
    paddle_model = parity.paddle_twin(torch_model, PaddleNet())
    rng = np.random.default_rng(0)
    prototypes = rng.standard_normal((10, 3, 16, 16)).astype("float32")
    batches = []
    for _ in range(10):
        labels = rng.integers(0, 10, 16)
        x = prototypes[labels] + 0.5 * rng.standard_normal((16, 3, 16, 16)).astype("float32")
        batches.append((x, labels.astype("int64")))
    t_losses, p_losses = parity.training_curves(torch_model, paddle_model, batches, lr=0.2, momentum=0.9,
                                                weight_decay=1e-4)
    rel = np.abs(np.array(p_losses) - np.array(t_losses)) / np.abs(np.array(t_losses))
    print("torch ", np.round(t_losses, 5), "\npaddle", np.round(p_losses, 5), "\nmax rel", rel.max())
    assert t_losses[-1] < 0.9 * t_losses[0]  # it learns
    assert rel.max() < 1e-3, (t_losses, p_losses)
