"""PP-LCNet (Cui et al., arXiv:2109.15099) with PaddleClas's model keys and state-dict names (its
``ppcls/arch/backbone/legendary_models/pp_lcnet.py``); docs/models.md describes the keys.
Input ``[N, 3, H, W]``, output ``[N, num_classes]``.
"""

import numbers

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from ..cards import ModelCard, WeightEntry, stride_stages
from ..errors import ConfigError
from ..layers.depthwise import DepthwiseConv2D
from ..layers.squeeze_excite import SqueezeExcite
from ..pretrained.catalog import IMAGENET
from ..registry import register_variant

__all__ = ["PPLCNetClassifier"]

#: Blocks of each stage: ``(kernel, in channels, out channels, stride, SE)`` at scale 1; the first
#: block's stride of ``blocks3`` ... ``blocks6`` is ``stride_list[1:]``'s.
STAGES = {
    "blocks2": [(3, 16, 32, 1, False)],
    "blocks3": [(3, 32, 64, 2, False), (3, 64, 64, 1, False)],
    "blocks4": [(3, 64, 128, 2, False), (3, 128, 128, 1, False)],
    "blocks5": [(3, 128, 256, 2, False)] + [(5, 256, 256, 1, False)] * 5,
    "blocks6": [(5, 256, 512, 2, True), (5, 512, 512, 1, True)],
}
#: The published widths (``PPLCNet_x0_25`` ... ``PPLCNet_x2_5``) and what the paper and PaddleClas's model
#: table report of each: parameters (millions), FLOPs (millions of multiply-adds) at 224x224 and 1000
#: classes, ImageNet-1k top-1 and top-5 of PaddleClas's weights, and those of its SSLD-distilled ones.
SCALES = {0.25: (1.5, 18, (51.86, 75.65), None), 0.35: (1.6, 29, (58.09, 80.83), None),
          0.5: (1.9, 47, (63.14, 84.66), (66.10, 86.46)), 0.75: (2.4, 99, (68.18, 88.30), None),
          1.0: (3.0, 161, (71.32, 90.03), (74.39, 92.09)), 1.5: (4.5, 342, (73.71, 91.53), None),
          2.0: (6.5, 590, (75.18, 92.27), None), 2.5: (9.0, 906, (76.60, 93.00), (80.82, 95.33))}
#: Where PaddleClas publishes them (its ``MODEL_URLS``; ``use_ssld`` adds ``_ssld`` before ``_pretrained``).
PADDLECLAS_URL = "https://paddle-imagenet-models-name.bj.bcebos.com/dygraph/legendary_models/"


def make_divisible(value, divisor=8):
    """``value`` rounded to the nearest multiple of ``divisor`` (at least ``divisor``), raised by one
    ``divisor`` when rounding lost more than 10%."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


class ConvBNHardswish(nn.Layer):
    """``k x k`` conv (no bias, Kaiming normal; depthwise: the fast :class:`DepthwiseConv2D`), BN without
    weight decay, hardswish: ``[N, cin, H, W] -> [N, cout, H/s, W/s]``."""

    def __init__(self, cin, cout, kernel, stride=1, depthwise=False):
        super().__init__()
        conv = DepthwiseConv2D if depthwise else nn.Conv2D
        self.conv = conv(cin, cout, kernel, stride, (kernel - 1) // 2, groups=cin if depthwise else 1,
                         weight_attr=nn.initializer.KaimingNormal(), bias_attr=False)
        no_decay = paddle.ParamAttr(regularizer=paddle.regularizer.L2Decay(0.0))
        self.bn = nn.BatchNorm2D(cout, weight_attr=no_decay, bias_attr=no_decay)

    def forward(self, x):
        return F.hardswish(self.bn(self.conv(x)))


class DepthwiseSeparable(nn.Layer):
    """Depthwise conv-BN-hardswish, optional SE (reduction 4, hard sigmoid), pointwise conv-BN-hardswish:
    ``[N, cin, H, W] -> [N, cout, H/s, W/s]``."""

    def __init__(self, cin, cout, kernel, stride, use_se):
        super().__init__()
        self.dw_conv = ConvBNHardswish(cin, cin, kernel, stride, depthwise=True)
        self.se = SqueezeExcite(cin, 4, F.hardsigmoid, names=("conv1", "conv2")) if use_se else None
        self.pw_conv = ConvBNHardswish(cin, cout, 1)

    def forward(self, x):
        x = self.dw_conv(x)
        return self.pw_conv(x if self.se is None else self.se(x))


def _check_keys(scale, stride_list, use_last_conv, class_expand, dropout_prob, lr_mult_list):
    """ConfigError naming the first of PaddleClas's keys with a value PP-LCNet cannot take."""
    def stride_ok(s):
        pair = isinstance(s, (list, tuple)) and len(s) == 2
        return all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in (s if pair else [s]))

    if not isinstance(stride_list, (list, tuple)) or len(stride_list) != 5 or not all(map(stride_ok, stride_list)):
        raise ConfigError(f"Arch.stride_list: expected 5 strides (a positive integer or an [h, w] pair each: the "
                          f"stem's, then the first block's of blocks3 ... blocks6), got {stride_list!r}")
    if (not isinstance(lr_mult_list, (list, tuple)) or len(lr_mult_list) != 6
            or not all(isinstance(v, numbers.Real) and not isinstance(v, bool) and v >= 0 for v in lr_mult_list)):
        raise ConfigError(f"Arch.lr_mult_list: expected 6 learning-rate multipliers >= 0 (the stem's, then "
                          f"blocks2 ... blocks6), got {lr_mult_list!r}")
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real) or not 0 < scale <= 16:
        raise ConfigError(f"Arch.scale: expected a width multiplier in (0, 16], got {scale!r}")
    if not isinstance(use_last_conv, bool):
        raise ConfigError(f"Arch.use_last_conv: expected true or false, got {use_last_conv!r}")
    if isinstance(class_expand, bool) or not isinstance(class_expand, int) or not 1 <= class_expand <= 65536:
        raise ConfigError(f"Arch.class_expand: expected the last conv's width, 1 to 65536, got {class_expand!r}")
    if isinstance(dropout_prob, bool) or not isinstance(dropout_prob, numbers.Real) or not 0 <= dropout_prob < 1:
        raise ConfigError(f"Arch.dropout_prob: expected a probability in [0, 1), got {dropout_prob!r}")


class PPLCNetClassifier(nn.Layer):
    """PP-LCNet with PaddleClas's model keys (module docstring); ``[N, 3, H, W] -> [N, num_classes]``."""

    def __init__(self, num_classes=1000, scale=1.0, stride_list=(2, 2, 2, 2, 2), use_last_conv=True,
                 class_expand=1280, dropout_prob=0.2, lr_mult_list=(1.0,) * 6):
        super().__init__()
        _check_keys(scale, stride_list, use_last_conv, class_expand, dropout_prob, lr_mult_list)
        self.conv1 = ConvBNHardswish(3, make_divisible(16 * scale), 3, stride_list[0])
        for i, (name, blocks) in enumerate(STAGES.items()):
            first_stride = stride_list[i] if i else 1  # blocks2 keeps the stem's resolution
            stage = nn.Sequential(*(DepthwiseSeparable(make_divisible(cin * scale), make_divisible(cout * scale), k,
                                                       first_stride if j == 0 else s, se)
                                    for j, (k, cin, cout, s, se) in enumerate(blocks)))
            setattr(self, name, stage)
        for layer, mult in zip([self.conv1, *(getattr(self, name) for name in STAGES)], lr_mult_list):
            for param in layer.parameters():
                param.optimize_attr["learning_rate"] = float(mult)
        width = make_divisible(STAGES["blocks6"][-1][2] * scale)
        self.last_conv = nn.Conv2D(width, class_expand, 1, bias_attr=False) if use_last_conv else None
        self.dropout = nn.Dropout(dropout_prob, mode="downscale_in_infer") if use_last_conv else None
        self.fc = nn.Linear(class_expand if use_last_conv else width, num_classes)

    def forward(self, x):
        x = self.conv1(x)
        for name in STAGES:
            x = getattr(self, name)(x)
        x = F.adaptive_avg_pool2d(x, 1)
        if self.last_conv is not None:
            x = self.dropout(F.hardswish(self.last_conv(x)))
        return self.fc(paddle.flatten(x, 1))


def _weights(model, scale):
    """PaddleClas's ImageNet-1k ``.pdparams`` of this width (state-dict names as ours), then its SSLD ones."""
    upstream_name = f"PPLCNet_x{model[9:]}"
    plain, ssld = SCALES[scale][2:]
    files = ((tag, f"{upstream_name}{infix}_pretrained.pdparams", top)
             for tag, infix, top in (("in1k", "", plain), ("in1k_ssld", "_ssld", ssld)) if top)
    return tuple(WeightEntry(model=model, name=tag, urls=(PADDLECLAS_URL + file,), file_name=file, file_format="paddle",
                             converter="paddle", license="Apache-2.0", upstream="PaddlePaddle/PaddleClas",
                             dataset="imagenet-1k", metrics={"top1": top[0], "top5": top[1]}, **IMAGENET)
                 for tag, file, top in files)


def _width(name, scale):
    """Register ``name``: PP-LCNet at width ``scale`` with PaddleClas's keys (:class:`PPLCNetClassifier`;
    input ``[N, 3, H, W]``, output ``[N, num_classes]``); returns the builder."""
    def build(num_classes=1000, scale=scale, stride_list=(2, 2, 2, 2, 2), use_last_conv=True, class_expand=1280,
              dropout_prob=0.2, lr_mult_list=(1.0,) * 6):
        return PPLCNetClassifier(num_classes, scale, stride_list, use_last_conv, class_expand, dropout_prob,
                                 lr_mult_list)

    params, macs = SCALES[scale][:2]
    card = ModelCard(stages=stride_stages([("conv1", 2), ("blocks2", 1), *((stage, 2) for stage in list(STAGES)[1:])]),
                     upstream="PaddlePaddle/PaddleClas", layout="PaddlePaddle/PaddleClas", torch_reference=False,
                     optional_layers=("last_conv",),  # use_last_conv=False: PULC's configs load the rest
                     weights=_weights(name, scale),
                     paper=dict(params=params * 1e6, macs=macs * 1e6, size=224, num_classes=1000,
                                source=f"Cui et al. 2021, PP-LCNet x{scale} (PaddleClas's PPLCNet_x"
                                       f"{str(scale).replace('.', '_')})"),
                     quick_check={"kwargs": {}, "input_size": (3, 40, 56)} if scale == 0.25 else None)
    return register_variant(name, build, card,
                            f"PP-LCNet at width {scale} (PaddleClas's PPLCNet_x{name[9:]}); see PPLCNetClassifier.")


pplcnet_x0_25 = _width("pplcnet_x0_25", 0.25)
pplcnet_x0_35 = _width("pplcnet_x0_35", 0.35)
pplcnet_x0_5 = _width("pplcnet_x0_5", 0.5)
pplcnet_x0_75 = _width("pplcnet_x0_75", 0.75)
pplcnet_x1_0 = _width("pplcnet_x1_0", 1.0)
pplcnet_x1_5 = _width("pplcnet_x1_5", 1.5)
pplcnet_x2_0 = _width("pplcnet_x2_0", 2.0)
pplcnet_x2_5 = _width("pplcnet_x2_5", 2.5)
