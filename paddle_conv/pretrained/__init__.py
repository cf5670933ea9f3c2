"""Published weights: the catalog of the model cards, the download cache, and loading them.

    >>> import paddle_conv as pc
    >>> model = pc.create_model("oct_resnet50", pretrained=True)            # d-li14's ImageNet weights
    >>> model = pc.create_model("cct_7_3x1_32", pretrained="cifar100_300ep")
    >>> pc.list_pretrained("cct_*")                                         # entries, and which are cached

Each family module lists its published weights on its models' cards (``ModelCard.weights``);
:func:`paddle_conv.create_model` (:mod:`paddle_conv.factory`) loads them.
"""

from .download import cache_dir, download_path, fetch
from .loader import load_weights, resolve_entry

__all__ = ["cache_dir", "download_path", "fetch", "load_weights", "resolve_entry"]
