"""A ``paddle.nn.Linear`` that trains faster on CPU: its dygraph forward is one ``paddle.addmm``.

Paddle's ``F.linear`` with a bias is a matrix product plus a broadcast ``add``, and the ``add``'s
backward sums the output gradient over all rows with a slow reduction: on a 2-core AMD EPYC a
``[8192, 512]`` bias gradient took 50-65 ms of CPU time, about as much as the matrix products of
the layer's backward, where ``addmm``'s backward takes a fraction of it (a ``[8192, 256] ->
512`` layer forward + backward: 105 against 143 ms). The output is the same up to float rounding
(the bias enters the matrix product's sum first instead of last). Static graphs (``to_static``,
export) keep ``F.linear``, which every runtime and ONNX know.
"""

import paddle
from paddle import nn


class AddmmLinear(nn.Linear):
    """``nn.Linear`` (same arguments, parameters ``weight [in, out]`` and ``bias [out]``) whose
    dygraph forward with a bias is ``paddle.addmm(bias, x, weight)`` over the flattened rows.

    Shape: ``[..., in]`` in, ``[..., out]`` out.
    """

    def forward(self, x):
        if self.bias is None or not paddle.in_dynamic_mode():
            return super().forward(x)
        rows = x.reshape([-1, x.shape[-1]])
        return paddle.addmm(self.bias, rows, self.weight).reshape([*x.shape[:-1], self.weight.shape[1]])
