"""Model cards: what a registered model is, what it expects and which weights are published for it."""

import re
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
    """One published weights file of one model: ``file_format`` ``"torch"``, ``"paddle"`` or ``"keras"``; the
    registered ``converter`` making it a Paddle state dict (``"paddle"``: none); ``metrics`` in percent; what it
    was trained with (``input_size`` ``[C, H, W]``); checksums (None: unknown); ``size``: bytes, the download's cap.
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
class KeyMapping:
    r"""How one family's Paddle names differ from its torch reference's (docs/weights-bridge.md).

    ``renames``: ``(torch_pattern, paddle_replacement)`` regexes (``re.sub``, in order) on torch keys and module
    paths, e.g. ``(r"\bmlp\b", "ffn")``; ``transforms``: ``(torch_key_pattern, to_paddle, to_torch)`` numpy
    functions for layouts beyond a Linear transpose; ``merged``: Paddle keys (``re.fullmatch``) that concatenate
    several renamed torch tensors along axis 0; ``aliases``: ``(old_pattern, reference_name)`` older spellings
    of a checkpoint's keys.
    """

    renames: tuple = ()
    transforms: tuple = ()
    merged: tuple = ()
    aliases: tuple = ()

    def paddle_key(self, torch_key):
        for pattern, repl in self.renames:
            torch_key = re.sub(pattern, repl, torch_key)
        return torch_key

    def reference_key(self, checkpoint_key):
        """The reference's name of a torch checkpoint's key (its :attr:`aliases` resolved)."""
        for pattern, repl in self.aliases:
            checkpoint_key = re.sub(pattern, repl, checkpoint_key)
        return checkpoint_key

    def transform_for(self, torch_key):
        for pattern, to_paddle, to_torch in self.transforms:
            if re.fullmatch(pattern, torch_key):
                return to_paddle, to_torch
        return None

    def is_merged(self, paddle_key):
        return any(re.fullmatch(pattern, paddle_key) for pattern in self.merged)


@dataclass(frozen=True)
class ModelCard:
    """What a registered model is and expects (docs/adding-a-family.md: what each field is for).

    ``input_size``: ``[C, H, W]``; ``mean``/``std``: RGB in 0..1; ``stages``: the sublayer names of each stage, stage
    ``k`` ending at stride ``2**k``; ``residual_branches``: ``(block class, sublayer ending its residual branch[,
    attribute true when the block has its shortcut])``; ``upstream``: None for our design; ``paper``: ``{"params",
    "macs", "size", "num_classes", "source"}``; ``quick_check``: ``{"kwargs", "input_size", "fixed_size"}``.
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
    torch_keys: KeyMapping = KeyMapping()
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
    """A card's ``stages`` from the feature layers ``[(sublayer name, stride)]`` in forward order (layers
    before the first downsampling belong to stage 1)."""
    stages: list = []
    total = 1
    for name, stride in layers:
        total *= stride
        stage = max(1, total.bit_length() - 1)  # log2 of the power of two
        stages += [[] for _ in range(stage - len(stages))]
        stages[stage - 1].append(name)
    return tuple(tuple(stage) for stage in stages)


def sequential_stages(prefix: str, strides: Iterable[int]) -> Tuple[Tuple[str, ...], ...]:
    """:func:`stride_stages` of the sublayers ``prefix.0``, ``prefix.1``, ... with ``strides``."""
    return stride_stages((f"{prefix}.{i}", s) for i, s in enumerate(strides))


#: The stages of the ResNet layout (torchvision's, ``paddle.vision``'s): the stem conv, ``layer1`` ... ``layer4``.
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
