"""Plain baselines from ``paddle.vision.models``, registered by their Paddle names: ResNet-50 and
MobileNetV1 (for comparison with the octave models), and the other architectures the RefConv seed
refocuses that Paddle ships (MobileNetV2, MobileNetV3 small/large, ShuffleNetV2 x1.0,
ResNet-18/34/101, DenseNet-121), so ``Arch: {name: mobilenet_v2, refocus: {...}}`` works from a
config. Each builder takes ``num_classes`` (and ``scale``, the width multiplier, where Paddle has it);
input ``[N, 3, H, W]``, output ``[N, num_classes]``.

The ResNets also take PaddleClas's ResNet keys (``ppcls/arch/backbone/legendary_models/resnet.py``):
``layer_type`` (``"ConvBNLayer"``, or ``"DiverseBranchBlock"``: every conv + BN of the residual
blocks, not the stem's nor the shortcuts', trained as a
:class:`~paddle_conv.layers.DiverseBranchBlock`) and, on ResNet-18/34, ``use_first_short_conv``
(true: the first block gets PaddleClas's 1x1 conv + BN shortcut; false, the default here, is
Paddle's and the paper's identity shortcut).
"""

import dataclasses

from paddle import nn
from paddle.vision import models as vision_models
from paddle.vision.models import mobilenetv2, mobilenetv3, resnet

from ..cards import RESNET_STAGES, ModelCard, WeightEntry, sequential_stages, stride_stages
from ..layers.diverse_branch import DiverseBranchBlock
from ..layers.fast_conv import use_fast_convolutions
from ..pretrained.catalog import IMAGENET, dli14_weights
from ..registry import register_model

#: All follow ``paddle.vision.models`` (PaddlePaddle/Paddle) names and shapes.
_VISION = ModelCard(upstream="PaddlePaddle/Paddle (paddle.vision.models)", layout="paddle.vision.models")
_HAPI = "https://paddle-hapi.bj.bcebos.com/models/"

# name -> (title, takes a width multiplier ``scale``, classifier layer)
VISION_MODELS = {
    "resnet18": ("ResNet-18 (He et al., CVPR 2016)", False, "fc"),
    "resnet34": ("ResNet-34 (He et al., CVPR 2016)", False, "fc"),
    "resnet50": ("ResNet-50 (He et al., CVPR 2016)", False, "fc"),
    "resnet101": ("ResNet-101 (He et al., CVPR 2016)", False, "fc"),
    "mobilenet_v1": ("MobileNetV1 (Howard et al., arXiv:1704.04861)", True, "fc"),
    "mobilenet_v2": ("MobileNetV2 (Sandler et al., CVPR 2018)", True, "classifier.1"),
    "mobilenet_v3_small": ("MobileNetV3-Small (Howard et al., ICCV 2019)", True, "classifier.3"),
    "mobilenet_v3_large": ("MobileNetV3-Large (Howard et al., ICCV 2019)", True, "classifier.3"),
    "shufflenet_v2_x1_0": ("ShuffleNetV2 x1.0 (Ma et al., ECCV 2018)", False, "_fc"),
    "densenet121": ("DenseNet-121 (Huang et al., CVPR 2017)", False, "out"),
}

#: Where each model's residual branches end (``ModelCard.residual_branches``; ShuffleNetV2 and DenseNet
#: concatenate instead of adding, MobileNetV1 has no shortcuts).
VISION_BRANCHES = {
    **{name: ((resnet.BasicBlock, "bn2"),) for name in ("resnet18", "resnet34")},
    **{name: ((resnet.BottleneckBlock, "bn3"),) for name in ("resnet50", "resnet101")},
    "mobilenet_v2": ((mobilenetv2.InvertedResidual, "conv", "use_res_connect"),),
    **{name: ((mobilenetv3.InvertedResidual, "linear_conv", "use_res_connect"),)
       for name in ("mobilenet_v3_small", "mobilenet_v3_large")},
}


def _hapi(model, file_name, md5, host=_HAPI):
    return WeightEntry(model=model, name="paddle_imagenet", urls=(host + file_name,), file_name=file_name,
                       file_format="paddle", converter="paddle", license="Apache-2.0",
                       upstream="PaddlePaddle/Paddle (paddle.vision.models)", dataset="imagenet-1k", metrics={},
                       md5=md5, **IMAGENET)


#: Published weights of each, ``pretrained=True`` loading the first: Paddle's own (file, MD5), then others.
VISION_WEIGHTS = {name: (_hapi(name, *paddle_file), *others) for name, paddle_file, others in (
    ("resnet18", ("resnet18.pdparams", "cf548f46534aa3560945be4b95cd11c4"), ()),
    ("resnet34", ("resnet34.pdparams", "8d2275cf8706028345f78ac0e1d31969"), ()),
    ("resnet50", ("resnet50.pdparams", "ca6f485ee1ab0492d38f323885b0ad80"), (
        dli14_weights("resnet50", "imagenet_cosine_dli14", "1_aconGn2oZB1Bvgq65g2tsqSI7CSPAEt", 77.150, 93.468),
        dli14_weights("resnet50", "imagenet_step_dli14", "1n7H6WNrvtf0eyWeWotbWD1kb95iVWaze", 76.010, 92.834),
        WeightEntry(model="resnet50", name="imagenet_torchvision_v1", file_name="resnet50-0676ba61.pth",
                    urls=("https://download.pytorch.org/models/resnet50-0676ba61.pth",), file_format="torch",
                    converter="torch", license="BSD-3-Clause",
                    upstream="pytorch/vision (ResNet50_Weights.IMAGENET1K_V1)", dataset="imagenet-1k",
                    metrics={"top1": 76.130, "top5": 92.862}, sha256="0676ba61", **IMAGENET))),
    ("resnet101", ("resnet101.pdparams", "02f35f034ca3858e1e54d4036443c92d"), ()),
    ("mobilenet_v1", ("mobilenetv1_1.0.pdparams", "3033ab1975b1670bef51545feb65fc45"), (
        dli14_weights("mobilenet_v1", "imagenet_cosine_dli14", "14FBekvITT77z2LX_2utFGMteK3gxN1vn", 72.238, 90.536),)),
    ("mobilenet_v2", ("mobilenet_v2_x1.0.pdparams", "0340af0a901346c8d46f4529882fb63d"), ()),
    ("mobilenet_v3_small", ("mobilenet_v3_small_x1.0.pdparams", "34fe0e7c1f8b00b2b056ad6788d0590c"), ()),
    ("mobilenet_v3_large", ("mobilenet_v3_large_x1.0.pdparams", "118db5792b4e183b925d8e8e334db3df"), ()),
    ("shufflenet_v2_x1_0", ("shufflenet_v2_x1_0.pdparams", "122d42478b9e81eb49f8a9ede327b1a4"), ()),
    ("densenet121", ("DenseNet121_pretrained.pdparams", "db1b239ed80a905290fd8b01d3af08e4",
                     "https://paddle-imagenet-models-name.bj.bcebos.com/dygraph/"), ()))}

#: What the papers report (``ModelCard.paper``).
VISION_PAPERS = {
    "resnet50": dict(params=25.557e6, macs=4.089e9, size=224, num_classes=1000,
                     source="He et al. 2016, as measured by d-li14/octconv.pytorch"),
    "mobilenet_v1": dict(params=4.2e6, macs=569e6, size=224, num_classes=1000,
                         source="Howard et al. 2017 (1.0 MobileNet-224)"),
}


def _mobilenet_v3_stages(block_strides):
    return stride_stages([("conv", 2), *((f"blocks.{i}", s) for i, s in enumerate(block_strides)), ("lastconv", 1)])


#: The feature stages of each (stage k ends at stride 2**k; ``ModelCard.stages``).
VISION_STAGES = {
    **{name: RESNET_STAGES for name in ("resnet18", "resnet34", "resnet50", "resnet101")},
    "mobilenet_v1": stride_stages([("conv1", 2), ("conv2_1", 1), ("conv2_2", 2), ("conv3_1", 1), ("conv3_2", 2),
                                   ("conv4_1", 1), ("conv4_2", 2), *((f"conv5_{i}", 1) for i in range(1, 6)),
                                   ("conv5_6", 2), ("conv6", 1)]),
    "mobilenet_v2": sequential_stages("features", [2, 1, 2, 1, 2, 1, 1, 2, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1]),
    "mobilenet_v3_small": _mobilenet_v3_stages([2, 2, 1, 2, 1, 1, 1, 1, 2, 1, 1]),
    "mobilenet_v3_large": _mobilenet_v3_stages([1, 2, 1, 2, 1, 1, 2, 1, 1, 1, 1, 1, 2, 1, 1]),
    "shufflenet_v2_x1_0": stride_stages([("_conv1", 2), ("_max_pool", 2),  # blocks "<stage>_<i>", i from 1
                                         *((f"{stage}_{i}", 2 if i == 1 else 1) for stage, repeats
                                           in ((2, 4), (3, 8), (4, 4)) for i in range(1, repeats + 1)),
                                         ("_last_conv", 1)]),
    "densenet121": stride_stages([("conv1_func", 2), ("pool2d_max", 2), ("db_conv_2", 1),  # then transition, block
                                  *((name, stride) for i in (3, 4, 5)
                                    for name, stride in ((f"tr_conv{i - 1}_blk", 2), (f"db_conv_{i}", 1))),
                                  ("batch_norm", 1)]),
}


#: PaddleClas's ``layer_type`` values: the conv + BN of each residual block, as is or as a Diverse Branch Block.
RESNET_LAYER_TYPES = ("ConvBNLayer", "DiverseBranchBlock")


def use_diverse_branches(network):
    """Turn every conv + BN of ``network``'s residual blocks (not the stem's, not the shortcuts') into a
    DiverseBranchBlock (its BN becomes an ``nn.Identity``); returns ``network``."""
    for block in network.sublayers():
        if isinstance(block, (resnet.BasicBlock, resnet.BottleneckBlock)):
            for i in (1, 2, 3):
                conv = getattr(block, f"conv{i}", None)
                if conv is not None:
                    setattr(block, f"conv{i}", DiverseBranchBlock(conv._in_channels, conv._out_channels,
                                                                  conv._kernel_size[0], conv._stride[0], conv._groups))
                    setattr(block, f"bn{i}", nn.Identity())
    return network


def paddleclas_resnet(build, num_classes, layer_type, use_first_short_conv):
    """``build(num_classes=...)`` (a ``paddle.vision`` ResNet) with PaddleClas's ResNet keys (module docstring)."""
    if layer_type not in RESNET_LAYER_TYPES:
        raise ValueError(f"layer_type={layer_type!r}: use one of {', '.join(RESNET_LAYER_TYPES)}")
    network = build(num_classes=num_classes)
    if use_first_short_conv:
        channels = network.layer1[0].conv1._in_channels
        network.layer1[0].downsample = nn.Sequential(nn.Conv2D(channels, channels, 1, bias_attr=False),
                                                     nn.BatchNorm2D(channels))
    return use_fast_convolutions(use_diverse_branches(network) if layer_type == "DiverseBranchBlock" else network)


def vision_builder(name):
    """The registered builder of ``paddle.vision.models.<name>`` (never downloads weights)."""
    title, scaled, _ = VISION_MODELS[name]
    build = getattr(vision_models, name)
    if name in ("resnet18", "resnet34"):
        def builder(num_classes=1000, layer_type="ConvBNLayer", use_first_short_conv=False):
            return paddleclas_resnet(build, num_classes, layer_type, use_first_short_conv)
    elif name.startswith("resnet"):  # the first block's shortcut is a projection (64 -> 256 channels)
        def builder(num_classes=1000, layer_type="ConvBNLayer"):
            return paddleclas_resnet(build, num_classes, layer_type, False)
    elif scaled:
        def builder(num_classes=1000, scale=1.0):
            return use_fast_convolutions(build(scale=scale, num_classes=num_classes))
    else:
        def builder(num_classes=1000):
            return use_fast_convolutions(build(num_classes=num_classes))
    builder.__name__ = builder.__qualname__ = name
    width = " (width multiplier ``scale``, default 1.0)" if scaled else ""
    keys = " with PaddleClas's ResNet keys (module docstring)" if name.startswith("resnet") else ""
    builder.__doc__ = (f"{title}{width} from ``paddle.vision.models``{keys}; input ``[N, 3, H, W]``, "
                       f"output ``[N, num_classes]``.")
    return builder


for _name, (_, _, _classifier) in VISION_MODELS.items():  # registered by the names listed above
    register_model(vision_builder(_name), name=_name, card=dataclasses.replace(
        _VISION, classifier=_classifier, stages=VISION_STAGES.get(_name, ()),
        residual_branches=VISION_BRANCHES.get(_name, ()), weights=VISION_WEIGHTS.get(_name, ()),
        paper=VISION_PAPERS.get(_name), quick_check={"kwargs": {}, "input_size": (3, 32, 32)} if _name == "mobilenet_v1"
        else None))
del _name, _classifier
