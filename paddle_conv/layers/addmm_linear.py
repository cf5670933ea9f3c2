"""A ``paddle.nn.Linear`` whose dygraph forward is one ``paddle.addmm`` (a cheaper bias gradient on CPU,
docs/benchmarks.md); static graphs keep ``F.linear``."""

import paddle
from paddle import nn


class AddmmLinear(nn.Linear):
    """``nn.Linear`` (same parameters) computing ``paddle.addmm(bias, x, weight)``: ``[..., in] -> [..., out]``."""

    def forward(self, x):
        if self.bias is None or not paddle.in_dynamic_mode():
            return super().forward(x)
        rows = x.reshape([-1, x.shape[-1]])
        return paddle.addmm(self.bias, rows, self.weight).reshape([*x.shape[:-1], self.weight.shape[1]])
