"""Keras 3 weights of the seed's CCT (``model.save_weights("model.weights.h5")``) -> ``cct_keras_cifar``: each
layer is a group ``layers/<snake_case class name>[_<n>]`` holding ``vars/0``, ``vars/1``, ... (docs/cct.md)."""

import re
from collections import OrderedDict

import numpy as np
import paddle

from paddle_conv.errors import WeightsError
from paddle_conv.factory import create_model

from .convert import key_problems
from .safe_hdf5 import checked_datasets, open_hdf5

__all__ = ["KERAS_MODELS", "keras_to_paddle", "read_keras_weights"]

#: Registered models whose Keras 3 weights this module converts.
KERAS_MODELS = ("cct_keras_cifar",)

_NUMBERED = re.compile(r"^(?P<base>.+?)(?:_(?P<n>\d+))?$")


def read_keras_weights(path):
    """``{layer path: [arrays in vars order]}`` of a Keras 3 ``.weights.h5`` file, checked first (:mod:`.safe_hdf5`)."""
    f, size = open_hdf5(path)  # missing, not a regular file, not HDF5: one clear WeightsError
    layers = {}
    try:
        with f:
            if "layers" not in f:
                raise WeightsError(f"{path!r} has no 'layers' group: it is not a Keras 3 .weights.h5 file; "
                                   "save the Keras model with model.save_weights('model.weights.h5')")
            for name, dataset in checked_datasets(f, path, size).items():
                if name.startswith("layers/") and "/vars/" in name:
                    layer, _, index = name[len("layers/"):].rpartition("/vars/")
                    if index.isdigit():
                        layers.setdefault(layer, {})[int(index)] = np.asarray(dataset[()])
    except (OSError, KeyError, TypeError, RuntimeError) as exc:
        raise WeightsError(f"cannot read {path!r} as HDF5 ({type(exc).__name__}); it is truncated or not a "
                           "Keras .weights.h5 file: save it again with model.save_weights(...)") from None
    return {layer: [v[i] for i in sorted(v)] for layer, v in layers.items()}


def _numbered(names, base, parent=""):
    """Of ``names``, the layers ``<parent><base>``, ``<parent><base>_1``, ... in Keras's numbering order."""
    found = []
    for name in set(names):
        head, _, last = name.rpartition("/")
        match = _NUMBERED.match(last)
        if head + "/" * bool(head) == parent and match["base"] == base:
            found.append((int(match["n"] or 0), name))
    return [name for _, name in sorted(found)]


def _find(layers, suffix, path):
    """The arrays of the one layer named ``suffix`` (WeightsError when there is none or several)."""
    hits = [arrays for name, arrays in layers.items() if name == suffix or name.endswith("/" + suffix)]
    if len(hits) != 1:
        raise WeightsError(f"{path!r} has no {suffix} layer; the seed's model has one")
    return hits[0]


def _seed_cct_state(layers, path):
    """The Paddle state dict (numpy arrays) of the seed's CCT layers."""
    tokenizer = [n for n in layers if "/conv_model/layers/conv2d" in n]
    if not tokenizer:
        raise WeightsError(f"{path!r} has no tokenizer convolutions (*/conv_model/layers/conv2d): it is not "
                           "the weights of the seed's Keras CCT")
    conv_parent = tokenizer[0].rpartition("/")[0] + "/"
    attention = _numbered([n.rpartition("/")[0] for n in layers if n.endswith("/query_dense")], "multi_head_attention")
    norms = [layers[n] for n in _numbered(layers, "layer_normalization")]
    dense = [layers[n] for n in _numbered(layers, "dense")]
    depth = len(attention)
    if len(norms) != 2 * depth + 1 or len(dense) != 2 * depth + 1:
        raise WeightsError(f"{path!r}: {depth} attention layers need {2 * depth + 1} layer norms and dense "
                           f"layers, found {len(norms)} and {len(dense)}: not the seed's Keras CCT")
    state = OrderedDict()
    for i, name in enumerate(_numbered(layers, "conv2d", conv_parent)):
        (kernel,) = layers[name]
        state[f"tokenizer.{i}.0.weight"] = kernel.transpose(3, 2, 0, 1)
    state["positional_emb"] = _find(layers, "position_embedding", path)[0][None]
    for i, mha in enumerate(attention):
        q, k, v, out = (layers.get(f"{mha}/{part}_dense") for part in ("query", "key", "value", "output"))
        if any(part is None for part in (q, k, v, out)):
            raise WeightsError(f"{path!r}: {mha} lacks query/key/value/output_dense")
        prefix = f"blocks.{i}."
        state[prefix + "norm1.weight"], state[prefix + "norm1.bias"] = norms[2 * i]
        state[prefix + "attn.qkv.weight"] = np.concatenate([w.reshape(w.shape[0], -1) for w, _ in (q, k, v)], 1)
        state[prefix + "attn.qkv.bias"] = np.concatenate([b.reshape(-1) for _, b in (q, k, v)])
        state[prefix + "attn.proj.weight"] = out[0].reshape(-1, out[0].shape[-1])
        state[prefix + "attn.proj.bias"] = out[1]
        state[prefix + "norm2.weight"], state[prefix + "norm2.bias"] = norms[2 * i + 1]
        for j in range(2):
            state[f"{prefix}mlp.{j}.weight"], state[f"{prefix}mlp.{j}.bias"] = dense[2 * i + j]
    state["norm.weight"], state["norm.bias"] = norms[-1]
    state["attention_pool.weight"], state["attention_pool.bias"] = _find(layers, "sequence_pooling/attention", path)
    state["fc.weight"], state["fc.bias"] = dense[-1]
    return state


def keras_to_paddle(path, model="cct_keras_cifar", num_classes=None):
    """Convert the Keras 3 weights file ``path`` to the state dict of ``create_model(model)`` (``num_classes``:
    the file's by default), every key and shape checked against the model (WeightsError)."""
    if model not in KERAS_MODELS:
        raise WeightsError(f"model {model!r} has no Keras weights converter; Keras-convertible models: "
                           f"{', '.join(KERAS_MODELS)}")
    state = _seed_cct_state(read_keras_weights(path), path)
    num_classes = state["fc.bias"].shape[0] if num_classes is None else num_classes
    with paddle.LazyGuard():
        expected = {k: tuple(v.shape) for k, v in create_model(model, num_classes=num_classes).state_dict().items()}
    problems = key_problems({k: v.shape for k, v in state.items()}, expected)
    if problems:
        raise WeightsError(f"{path!r} does not fit {model} (num_classes={num_classes}): " + "; ".join(problems))
    return OrderedDict((k, paddle.to_tensor(np.ascontiguousarray(v, dtype="float32"))) for k, v in state.items())
