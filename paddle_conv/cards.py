"""Model cards: what a registered model is, what it expects and which weights exist for it.

Every model of the registry carries a :class:`ModelCard` (as timm's ``pretrained_cfg`` and
torchvision's weights metadata): the task, the default input ``[C, H, W]``, the normalisation
and resize interpolation of its inputs, the name of its classifier layer, the upstream project
and state-dict layout it matches, and its :class:`WeightEntry` list (pretrained weights).

    >>> import paddle_conv as pc
    >>> card = pc.model_card("oct_resnet50")
    >>> card.task, card.input_size, card.classifier
    ('classification', (3, 224, 224), 'fc')
    >>> pc.list_models(task="detection")
    ['ssd_lite']
"""

from dataclasses import asdict, dataclass, field
from typing import Any, Dict, Iterable, Optional, Tuple

#: The tasks a model can have.
TASKS = ("classification", "detection")

#: Normalisations: ImageNet's (RGB, 0..1), CIFAR-10's (as SHI-Labs/Compact-Transformers) and [-1, 1].
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
CIFAR10_MEAN, CIFAR10_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
HALF_MEAN, HALF_STD = (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)


@dataclass(frozen=True)
class WeightEntry:
    """One published weights file of one model: where it is, what it holds, how it becomes ours.

    Args:
        model: the registered model name the weights fit.
        name: the entry's name among the model's weights, e.g. ``"in1k"``.
        urls: download addresses, tried in order.
        file_name: the file's name in the download cache.
        file_format: ``"torch"`` (an upstream ``.pth``), ``"paddle"`` (``.pdparams``) or ``"keras"``
            (``.weights.h5``).
        converter: how the file becomes a Paddle state dict: ``"torch"`` (:mod:`weights_bridge`),
            ``"keras"``, or ``"paddle"`` (already ours).
        license, upstream, dataset: provenance (license as an SPDX identifier where there is one).
        metrics: the published figures, e.g. ``{"top1": 77.64}`` (percent) or ``{"mAP": 77.43}``.
        num_classes, input_size, mean, std: what the weights were trained with (``[C, H, W]``,
            normalisation of RGB values in 0..1).
        sha256: the file's SHA-256; None: unknown (nothing to verify the download against).
        md5: the MD5 a publisher gives instead of a SHA-256.
        size: the file's size in bytes where the publisher gives it: the download stops beyond it.
    """

    model: str
    name: str
    urls: Tuple[str, ...]
    file_name: str
    file_format: str
    converter: str
    license: str
    upstream: str
    dataset: str
    metrics: Dict[str, float] = field(default_factory=dict)
    num_classes: int = 1000
    input_size: Tuple[int, int, int] = (3, 224, 224)
    mean: Tuple[float, ...] = IMAGENET_MEAN
    std: Tuple[float, ...] = IMAGENET_STD
    sha256: Optional[str] = None
    md5: Optional[str] = None
    size: Optional[int] = None

    def __hash__(self) -> int:  # metrics is a dict: hash by the entry's identity
        return hash((self.model, self.name))


@dataclass(frozen=True)
class ModelCard:
    """What a registered model is and expects.

    Args:
        task: ``"classification"`` or ``"detection"`` (one of :data:`TASKS`).
        input_size: default input ``[C, H, W]``.
        mean, std: input normalisation (RGB, 0..1) the model is meant for.
        interpolation: resize interpolation of its inputs (``"bilinear"``, ``"bicubic"``).
        classifier: name of the classifier layer (``"fc"``, ``"classifier.fc"``); None for a
            detector, whose heads are not one layer.
        num_classes: default number of classes of the builder.
        stages: the feature stages in order, each the names of its sublayers; stage ``k`` (from 1)
            ends at output stride ``2**k``, as the five conv blocks of PaddleClas's VGG (a ResNet's:
            the stem conv, then ``layer1`` with the stem's pooling, ``layer2`` ... ``layer4``).
            ``Arch.stop_grad_layers: N`` freezes the first N. Empty: not listed.
        residual_branches: where stochastic depth (``Arch.drop_path_rate``) drops: ``(block class,
            name of the sublayer whose output ends the block's residual branch[, attribute of the block
            that is true when it has its shortcut])``, e.g. ``((BottleneckBlock, "bn3"),)``. Empty: no
            residual blocks (a model taking its own ``drop_path_rate``/``stochastic_depth`` needs none).
        upstream: the project whose model this one matches (None: this project's own design).
        layout: the state-dict layout the model's names and shapes follow.
        weights: pretrained weights, :class:`WeightEntry` (empty: none published yet).
        paper: what the paper (or the authors' code) reports, for :mod:`paddle_conv.summary`:
            ``{"params", "macs" (multiply-accumulates of one image), "size", "num_classes", "source"}``.
        quick_check: a small instance for quick checks (the per-model tests, the plugin walk-through):
            ``{"kwargs": builder arguments, "input_size": [C, H, W], "fixed_size": whether an export needs
            a fixed H and W}``; the family's model whose card has one is the family's representative.
        torch_reference: whether the model has a PyTorch reference (:mod:`weights_bridge.references`);
            False for weights that come from elsewhere (Keras).
        optional_layers: layers a builder option leaves out (PP-LCNet's ``last_conv`` with
            ``use_last_conv=False``): their tensors in a weights file are skipped, and one line says so,
            as PaddleClas's loader skips the tensors a model lacks.
    """

    task: str = "classification"
    input_size: Tuple[int, int, int] = (3, 224, 224)
    mean: Tuple[float, ...] = IMAGENET_MEAN
    std: Tuple[float, ...] = IMAGENET_STD
    interpolation: str = "bilinear"
    classifier: Optional[str] = "fc"
    num_classes: int = 1000
    stages: Tuple[Tuple[str, ...], ...] = ()
    residual_branches: Tuple[tuple, ...] = ()
    upstream: Optional[str] = None
    layout: str = "paddle_conv"
    weights: Tuple[WeightEntry, ...] = field(default=())
    paper: Optional[Dict[str, Any]] = None
    quick_check: Optional[Dict[str, Any]] = None
    torch_reference: bool = True
    optional_layers: Tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"ModelCard.task must be one of {TASKS}, got {self.task!r}")
        if len(self.input_size) != 3:
            raise ValueError(f"ModelCard.input_size must be [C, H, W], got {self.input_size!r}")

    @property
    def pretrained(self) -> bool:
        """Whether any pretrained weights are listed."""
        return bool(self.weights)

    def to_dict(self) -> Dict[str, Any]:
        """The card as plain data (tuples as lists), e.g. for JSON."""
        return _plain(asdict(self))


def stride_stages(layers: Iterable[Tuple[str, int]]) -> Tuple[Tuple[str, ...], ...]:
    """A card's ``stages`` from the feature layers ``[(sublayer name, stride)]`` in forward order:
    each layer joins the stage of the stride its output has (stage ``k`` ends at ``2**k``; layers
    before the first downsampling belong to stage 1)."""
    stages: list = []
    total = 1
    for name, stride in layers:
        total *= stride
        stage = max(1, total.bit_length() - 1)  # log2 of the power of two
        while len(stages) < stage:
            stages.append([])
        stages[stage - 1].append(name)
    return tuple(tuple(stage) for stage in stages)


def sequential_stages(prefix: str, strides: Iterable[int]) -> Tuple[Tuple[str, ...], ...]:
    """:func:`stride_stages` of the sublayers ``prefix.0``, ``prefix.1``, ... with ``strides``."""
    return stride_stages((f"{prefix}.{i}", s) for i, s in enumerate(strides))


#: The stages of the ResNet layout (torchvision's, ``paddle.vision``'s): the stem conv (stride 2),
#: ``layer1`` after the stem's max pooling (4), ``layer2`` (8), ``layer3`` (16), ``layer4`` (32).
RESNET_STAGES = (("conv1", "bn1"), ("layer1",), ("layer2",), ("layer3",), ("layer4",))


def _plain(value: Any) -> Any:
    if isinstance(value, type):
        return value.__name__
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def format_card(name: str, card: ModelCard) -> str:
    """The card as printable ``key: value`` lines."""
    rows = [
        ("model", name),
        ("task", card.task),
        ("input size", "x".join(str(d) for d in card.input_size)),
        ("mean / std", f"{list(card.mean)} / {list(card.std)}"),
        ("interpolation", card.interpolation),
        ("classifier", card.classifier or "-"),
        ("num classes", card.num_classes),
        ("upstream", card.upstream or "- (this project's own design)"),
        ("state-dict layout", card.layout),
        ("weights", ", ".join(f"{w.name} ({w.dataset})" for w in card.weights) or "none published yet"),
    ]
    return "\n".join(f"{key + ':':<19}{value}" for key, value in rows)
