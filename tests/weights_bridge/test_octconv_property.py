"""Property test: Paddle's OctaveConv equals the torch reference on drawn settings.

Channels, alpha_in/alpha_out, kernel, stride 1/2, padding, dilation, groups (depthwise
included) and input size are drawn. Sizes are multiples of 4: upstream floors odd sizes
in its pooling (and fails), where paddle_conv takes ceil(H/2) (tests/layers cover odd sizes).
Padding is "same" wherever the up-sampled l2h output is added to h2h (upstream requires it).
"""

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from paddle_conv.layers.octconv import OctaveConv
from weights_bridge import parity
from weights_bridge.references.octconv_torch import OctaveConv as TorchOctaveConv

ALPHAS = [0, 0.25, 0.5, 0.75]


@st.composite
def octconv_cases(draw):
    depthwise = draw(st.booleans())
    alpha_in = draw(st.sampled_from(ALPHAS))
    if depthwise:
        in_channels = draw(st.sampled_from([4, 8, 12]))
        groups, out_channels, alpha_out = in_channels, in_channels * draw(st.sampled_from([1, 2])), alpha_in
    else:
        groups = draw(st.sampled_from([1, 2, 4]))
        in_channels = 4 * groups * draw(st.integers(1, 2))
        out_channels = 4 * groups * draw(st.integers(1, 2))
        alpha_out = draw(st.sampled_from(ALPHAS))
    kernel = draw(st.sampled_from([1, 3, 5]))
    dilation = draw(st.sampled_from([1, 2]))
    same = dilation * (kernel - 1) // 2
    adds_l2h = alpha_in > 0 and not depthwise
    padding = same if adds_l2h else draw(st.integers(0, same + 1))
    size = (4 * draw(st.integers(1, 4)), 4 * draw(st.integers(1, 4)))
    return dict(in_channels=in_channels, out_channels=out_channels, kernel_size=kernel, alpha_in=alpha_in,
                alpha_out=alpha_out, stride=draw(st.sampled_from([1, 2])), padding=padding, dilation=dilation,
                groups=groups), size, draw(st.integers(0, 2**16))


def _builds(cls, kwargs):
    try:
        return cls(**kwargs)
    except (ValueError, RuntimeError):  # channels not divisible by a branch's groups
        return None


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.filter_too_much,
                                                                   HealthCheck.too_slow])
@given(octconv_cases())
def test_octave_conv_matches_reference(case):
    kwargs, (h, w), seed = case
    # the smallest map a branch convolves is h/4 (low branch after stride 2)
    smallest = min(h, w) // (4 if kwargs["stride"] == 2 else 2)
    reach = kwargs["dilation"] * (kwargs["kernel_size"] - 1) - 2 * kwargs["padding"]
    assume(smallest > reach)
    torch_conv, paddle_conv = _builds(TorchOctaveConv, kwargs), _builds(OctaveConv, kwargs)
    assume(torch_conv is not None and paddle_conv is not None)
    parity.randomize_torch_(torch_conv, seed)
    parity.paddle_twin(torch_conv, paddle_conv)
    rng = np.random.default_rng(seed)
    lo = int(kwargs["alpha_in"] * kwargs["in_channels"])
    x_h = rng.standard_normal((2, kwargs["in_channels"] - lo, h, w)).astype("float32")
    x = (x_h, rng.standard_normal((2, lo, h // 2, w // 2)).astype("float32")) if lo else x_h
    report = parity.check_parity(torch_conv, paddle_conv, (x,))
    assert report.ok, f"{kwargs} {(h, w)}\n{report.summary()}"
