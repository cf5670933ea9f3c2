"""``paddle.vision.models`` networks registered by their Paddle names (ResNet-18/34/50/101, MobileNetV1/V2/V3,
ShuffleNetV2 x1.0, DenseNet-121; ``refconv_mobilenet_v1``), so configs can refocus or train them: ``[N, 3, H, W]
-> [N, num_classes]``, with ``scale`` the width multiplier where Paddle has it. The ResNets also take
PaddleClas's ``layer_type`` and ``use_first_short_conv`` keys (docs/models.md).
"""

from paddle import nn
from paddle.vision import models as vision_models
from paddle.vision.models import mobilenetv2, mobilenetv3, resnet

from ..cards import RESNET_STAGES, KeyMapping, ModelCard, WeightEntry, sequential_stages, stride_stages
from ..layers.diverse_branch import DiverseBranchBlock
from ..layers.fast_conv import use_fast_convolutions
from ..pretrained.catalog import IMAGENET, dli14_weights
from ..refconv import refocus
from ..registry import register_model

_HAPI = "https://paddle-hapi.bj.bcebos.com/models/"


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


def _card(name, classifier="fc", **fields):
    """The card of the ``paddle.vision.models`` model ``name``: its published weights, paper figures and ``fields``."""
    return ModelCard(upstream="PaddlePaddle/Paddle (paddle.vision.models)", layout="paddle.vision.models",
                     classifier=classifier, weights=VISION_WEIGHTS.get(name, ()), paper=VISION_PAPERS.get(name),
                     **fields)


def _mobilenet_v3_stages(block_strides):
    return stride_stages([("conv", 2), *((f"blocks.{i}", s) for i, s in enumerate(block_strides)), ("lastconv", 1)])


def _mobilenet_v3_keys(squeeze_excite):
    """torchvision's ``features.i.block.j`` -> paddle.vision's names, for blocks with (1) or without (0) a
    squeeze-excite (every block but the first expands its input)."""
    renames = [(r"^features\.0\b", "conv"), (rf"^features\.{len(squeeze_excite) + 1}\b", "lastconv")]
    for i, se in enumerate(squeeze_excite):
        parts = ["expand_conv"] * (i > 0) + ["bottleneck_conv"] + ["mid_se"] * se + ["linear_conv"]
        renames += [(rf"^features\.{i + 1}\.block\.{j}\b", f"blocks.{i}.{part}") for j, part in enumerate(parts)]
    return KeyMapping(tuple(renames))


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


# Every builder: ``paddle.vision.models.<name>`` (never downloading weights); ShuffleNetV2, DenseNet and MobileNetV1
# have no residual additions to drop.
@register_model(card=_card("resnet18", stages=RESNET_STAGES, residual_branches=((resnet.BasicBlock, "bn2"),)))
def resnet18(num_classes=1000, layer_type="ConvBNLayer", use_first_short_conv=False):
    """ResNet-18 (He et al., CVPR 2016), with PaddleClas's ResNet keys (module docstring)."""
    return paddleclas_resnet(vision_models.resnet18, num_classes, layer_type, use_first_short_conv)


@register_model(card=_card("resnet34", stages=RESNET_STAGES, residual_branches=((resnet.BasicBlock, "bn2"),)))
def resnet34(num_classes=1000, layer_type="ConvBNLayer", use_first_short_conv=False):
    """ResNet-34 (He et al., CVPR 2016), with PaddleClas's ResNet keys (module docstring)."""
    return paddleclas_resnet(vision_models.resnet34, num_classes, layer_type, use_first_short_conv)


@register_model(card=_card("resnet50", stages=RESNET_STAGES, residual_branches=((resnet.BottleneckBlock, "bn3"),)))
def resnet50(num_classes=1000, layer_type="ConvBNLayer"):
    """ResNet-50 (He et al., CVPR 2016), with PaddleClas's ResNet keys (module docstring)."""
    return paddleclas_resnet(vision_models.resnet50, num_classes, layer_type, False)


@register_model(card=_card("resnet101", stages=RESNET_STAGES, residual_branches=((resnet.BottleneckBlock, "bn3"),)))
def resnet101(num_classes=1000, layer_type="ConvBNLayer"):
    """ResNet-101 (He et al., CVPR 2016), with PaddleClas's ResNet keys (module docstring)."""
    return paddleclas_resnet(vision_models.resnet101, num_classes, layer_type, False)


#: paddle.vision's MobileNetV1 layers ``(name, stride)``: the stem and 13 separable blocks.
MOBILENET_V1_LAYERS = (("conv1", 2), ("conv2_1", 1), ("conv2_2", 2), ("conv3_1", 1), ("conv3_2", 2), ("conv4_1", 1),
                       ("conv4_2", 2), *((f"conv5_{i}", 1) for i in range(1, 6)), ("conv5_6", 2), ("conv6", 1))
#: MobileNetV1's stages (also those of its RefConv form).
MOBILENET_V1_STAGES = stride_stages(MOBILENET_V1_LAYERS)


def mobilenet_v1_renames(prefix=""):
    """``(torch pattern, paddle name)`` renames of d-li14's MobileNetV1 (``features.0`` stem, ``features.i.{0,1,3,4}``
    depthwise conv, BN, pointwise conv, BN) to paddle.vision's, under ``prefix`` on both sides."""
    p = prefix.replace(".", r"\.")
    renames = [(rf"^{p}features\.0\.", f"{prefix}conv1.")]
    for i, (name, _) in enumerate(MOBILENET_V1_LAYERS[1:], start=1):
        renames += [(rf"^{p}features\.{i}\.{j}\b", f"{prefix}{name}._{kind}wise_conv.{k}")
                    for j, kind, k in ((0, "depth", 0), (1, "depth", 1), (3, "point", 0), (4, "point", 1))]
    return tuple(renames)


@register_model(card=_card("mobilenet_v1", stages=MOBILENET_V1_STAGES, torch_keys=KeyMapping(mobilenet_v1_renames()),
                           quick_check={"kwargs": {}, "input_size": (3, 32, 32)}))
def mobilenet_v1(num_classes=1000, scale=1.0):
    """MobileNetV1 (Howard et al., arXiv:1704.04861)."""
    return use_fast_convolutions(vision_models.mobilenet_v1(scale=scale, num_classes=num_classes))


@register_model(card=ModelCard(upstream="Aiolus-X/RefConv (RepConv layers)", stages=MOBILENET_V1_STAGES,
                               layout="paddle.vision.models.mobilenet_v1, 3x3 convs as RefConv"))
def refconv_mobilenet_v1(num_classes=1000, map_k=3):
    """MobileNetV1 (width 1.0) with its 3x3 convs refocused (RefConv, arXiv:2310.10563); ``reparameterize`` gives
    back a plain ``mobilenet_v1``."""
    return refocus(mobilenet_v1(num_classes=num_classes), min_kernel=3, map_k=map_k)


@register_model(card=_card("mobilenet_v2", "classifier.1", residual_branches=(
        (mobilenetv2.InvertedResidual, "conv", "use_res_connect"),),
    stages=sequential_stages("features", [2, 1, 2, 1, 2, 1, 1, 2, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1])))
def mobilenet_v2(num_classes=1000, scale=1.0):
    """MobileNetV2 (Sandler et al., CVPR 2018)."""
    return use_fast_convolutions(vision_models.mobilenet_v2(scale=scale, num_classes=num_classes))


@register_model(card=_card("mobilenet_v3_small", "classifier.3", residual_branches=(
        (mobilenetv3.InvertedResidual, "linear_conv", "use_res_connect"),),
    stages=_mobilenet_v3_stages([2, 2, 1, 2, 1, 1, 1, 1, 2, 1, 1]),
    torch_keys=_mobilenet_v3_keys([1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1])))
def mobilenet_v3_small(num_classes=1000, scale=1.0):
    """MobileNetV3-Small (Howard et al., ICCV 2019)."""
    return use_fast_convolutions(vision_models.mobilenet_v3_small(scale=scale, num_classes=num_classes))


@register_model(card=_card("mobilenet_v3_large", "classifier.3", residual_branches=(
        (mobilenetv3.InvertedResidual, "linear_conv", "use_res_connect"),),
    stages=_mobilenet_v3_stages([1, 2, 1, 2, 1, 1, 2, 1, 1, 1, 1, 1, 2, 1, 1]),
    torch_keys=_mobilenet_v3_keys([0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1])))
def mobilenet_v3_large(num_classes=1000, scale=1.0):
    """MobileNetV3-Large (Howard et al., ICCV 2019)."""
    return use_fast_convolutions(vision_models.mobilenet_v3_large(scale=scale, num_classes=num_classes))


#: ShuffleNetV2 x1.0's stages: ``(number, units)``; paddle.vision names unit ``i`` of stage ``n`` ``"{n}_{i + 1}"``.
SHUFFLENET_V2_UNITS = ((2, 4), (3, 8), (4, 4))
#: a unit's branch -> {torchvision's Sequential index: paddle.vision sublayer}; a stage's first unit adds ``_2``
_SHUFFLE_BRANCHES = {"branch1": {0: "_conv_dw_1.0", 1: "_conv_dw_1.1", 2: "_conv_linear_1.0", 3: "_conv_linear_1.1"},
                     "branch2": {0: "_conv_pw{}.0", 1: "_conv_pw{}.1", 3: "_conv_dw{}.0", 4: "_conv_dw{}.1",
                                 5: "_conv_linear{}.0", 6: "_conv_linear{}.1"}}


def _shufflenet_v2_keys():
    """torchvision's ``conv1``, ``stageS.i.branchB.j``, ``conv5``, ``fc`` -> paddle.vision's names."""
    renames = [(r"^conv1\.", "_conv1."), (r"^conv5\.", "_last_conv."), (r"^fc\b", "_fc")]
    for stage, units in SHUFFLENET_V2_UNITS:
        for unit in range(units):
            block = f"{stage}_{unit + 1}."
            renames += [(rf"^stage{stage}\.{unit}\.{branch}\.{i}\b", block + part.format("" if unit else "_2"))
                        for branch, parts in _SHUFFLE_BRANCHES.items() if branch == "branch2" or not unit
                        for i, part in parts.items()]
    return KeyMapping(tuple(renames))


@register_model(card=_card("shufflenet_v2_x1_0", "_fc", torch_keys=_shufflenet_v2_keys(), stages=stride_stages(
    [("_conv1", 2), ("_max_pool", 2), *((f"{stage}_{i}", 2 if i == 1 else 1) for stage, units in SHUFFLENET_V2_UNITS
                                        for i in range(1, units + 1)), ("_last_conv", 1)])))
def shufflenet_v2_x1_0(num_classes=1000):
    """ShuffleNetV2 x1.0 (Ma et al., ECCV 2018)."""
    return use_fast_convolutions(vision_models.shufflenet_v2_x1_0(num_classes=num_classes))


def _densenet_keys(blocks=4):
    """torchvision's ``features.denseblockB.denselayerL.{norm,conv}{1,2}``, ``features.transitionB``, ``norm0/5``,
    ``classifier`` -> paddle.vision's; its published file's older ``norm.1`` spelling read as ``norm1``."""
    renames = [(r"^features\.conv0\b", "conv1_func._conv"), (r"^features\.norm0\b", "conv1_func._batch_norm"),
               (r"^features\.norm5\b", "batch_norm"), (r"^classifier\b", "out")]
    for b in range(1, blocks + 1):
        layer, paddle = rf"^features\.denseblock{b}\.denselayer(\d+)\.", rf"db_conv_{b + 1}.conv{b + 1}_\1.bn_ac_func"
        renames += [(layer + rf"{kind}{i}\b", f"{paddle}{i}.{part}") for i in (1, 2)
                    for kind, part in (("norm", "_batch_norm"), ("conv", "_conv"))]
        renames += [(rf"^features\.transition{b}\.{kind}\b", f"tr_conv{b + 1}_blk.conv_ac_func.{part}")
                    for kind, part in (("norm", "_batch_norm"), ("conv", "_conv")) if b < blocks]
    aliases = ((r"^(features\.denseblock\d+\.denselayer\d+\.(?:norm|conv))\.([12])\.", r"\1\2."),)
    return KeyMapping(tuple(renames), aliases=aliases)


@register_model(card=_card("densenet121", "out", torch_keys=_densenet_keys(), stages=stride_stages(  # transition, block
    [("conv1_func", 2), ("pool2d_max", 2), ("db_conv_2", 1), *((name, stride) for i in (3, 4, 5) for name, stride
                                                              in ((f"tr_conv{i - 1}_blk", 2), (f"db_conv_{i}", 1))),
     ("batch_norm", 1)])))
def densenet121(num_classes=1000):
    """DenseNet-121 (Huang et al., CVPR 2017)."""
    return use_fast_convolutions(vision_models.densenet121(num_classes=num_classes))
