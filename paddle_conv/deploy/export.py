"""Export a trained model for deployment: re-parameterize, fold BatchNorm, save, optionally ONNX.

:func:`prepare_for_export` makes the inference form of a model (a copy; the original is left
as it is): every :class:`~paddle_conv.layers.RefConv2D` folded back into a plain ``Conv2D``
(:func:`paddle_conv.refconv.reparameterize`), then every eval-mode BatchNorm folded into the
convolution before it (:func:`paddle_conv.fuse`, self-checked on a probe input), then every
OctaveConv rewritten into its fastest exact formulation (:mod:`.octconv_rewrite`).
:func:`export` is the one Python call doing all of it and writing the files.

:func:`export_from_config` is what ``tools/export.py`` runs; :func:`detector_export_config` makes
its config for one stage of a detection config (``configs/ssd_kd_shapes.yaml``).
"""

import copy
import inspect
import os

from ..engine.checkpoint import load_pretrained
from ..engine.trainer import build_model
from ..errors import ConfigError, WeightsError
from ..fuse import fuse
from ..layers import RefConv2D
from ..refconv import reparameterize
from ..registry import MODELS
from .inference import available_device, export_model
from .octconv_rewrite import Formulation, fit, rewrite_octconv
from .onnx import DEFAULT_OPSET, export_onnx

#: File name (prefix) of the exported model inside ``Global.save_inference_dir``.
INFERENCE_NAME = "inference"


def prepare_for_export(model, probe_shape, tune=False, octconv=None):
    """The inference form of ``model``: a copy in eval mode, RefConv re-parameterized, BN folded,
    OctaveConv rewritten (by the measured rule, or timed on this machine with ``tune``).

    ``probe_shape`` ``[N, C, H, W]`` is the random input :func:`paddle_conv.fuse` checks the
    folded model on (the model's working size), and the shape the OctaveConv layers are tuned for.
    ``octconv`` (for measurements): ``"layer"`` keeps OctaveConv's own forward, a formulation
    name (e.g. ``"merge_low+broadcast"``) applies it wherever it fits; ``"tune"`` is ``tune=True``.
    """
    model = copy.deepcopy(model)
    model.eval()
    if any(isinstance(layer, RefConv2D) for layer in model.sublayers()):
        reparameterize(model)
    model = fuse(model, input_shape=list(probe_shape))
    if octconv in (None, "rule", "tune"):
        rewrite_octconv(model, probe_shape, tune=tune or octconv == "tune")
    elif octconv != "layer":
        formulation = Formulation.parse(octconv)
        rewrite_octconv(model, probe_shape, choose=lambda conv, *shapes: fit(conv, formulation))
    return model


def export(model, prefix, input_shape=(None, 3, 224, 224), onnx=False, tune=False, opset_version=DEFAULT_OPSET,
           octconv=None):
    """Export ``model`` for deployment in one call: RefConv re-parameterized, BN folded, every
    OctaveConv in its fastest exact formulation; writes ``<prefix>.json`` + ``<prefix>.pdiparams``
    (Paddle Inference) and, with ``onnx``, ``<prefix>.onnx``. ``model`` is left unchanged.

    ``input_shape`` ``[N, C, H, W]``, None for a free dimension (a fixed size lets the exported
    graph skip the crops that odd sizes need); the layers are prepared at this shape with None
    read as batch 1 and 224 pixels. ``octconv``: see :func:`prepare_for_export`.
    Returns ``{"prefix", "files", "onnx", "opset", "model"}``.
    """
    probe = [d if d is not None else (1 if i == 0 else 224) for i, d in enumerate(input_shape)]
    deploy_model = prepare_for_export(model, probe, tune=tune, octconv=octconv)
    files = export_model(deploy_model, prefix, input_shape)
    result = {"prefix": prefix, "files": files, "onnx": None, "opset": None, "model": deploy_model}
    if onnx:
        result["onnx"] = prefix + ".onnx"
        result["opset"] = export_onnx(prefix, result["onnx"], opset_version)
    return result


def input_spec_shape(cfg):
    """The exported input shape: any batch and size, or any batch of ``[C, S, S]`` for a model
    built for one input size ``S`` (an ``input_size`` argument, e.g. ``ssd_lite``)."""
    channels, height, width = cfg["Global"]["image_shape"]
    size = cfg["Arch"].get("input_size")
    if size is not None:
        return [None, channels, size, size]
    return [None, channels, None, None]


def probe_shape(cfg):
    """A concrete input of the exported shape: batch 2, ``Global.image_shape`` where the size is free."""
    return [2] + [d if d is not None else g for d, g in zip(input_spec_shape(cfg)[1:], cfg["Global"]["image_shape"])]


def detector_export_config(det_cfg, stage, weights=None):
    """The export config (``Arch`` + ``Global``) of one stage of a validated detection config.

    ``stage`` (``teacher`` | ``student_kd`` | ``student``, as in ``tools/eval_det.py``) picks the
    ``Teacher`` or ``Student`` architecture; the weights are ``weights`` or the stage's ``best``
    checkpoint, and the model is written to ``<Global.output_dir>/<stage>/inference/``.
    """
    arch = dict(det_cfg["Teacher" if stage == "teacher" else "Student"]["Arch"])
    if "input_size" not in arch:
        arch["input_size"] = inspect.signature(MODELS.get(arch["name"])).parameters["input_size"].default
    stage_dir = os.path.join(det_cfg["Global"]["output_dir"], stage)
    return {
        "Arch": arch,
        "Global": {
            "pretrained_model": weights or os.path.join(stage_dir, "best"),
            "save_inference_dir": os.path.join(stage_dir, "inference"),
            "image_shape": [3, arch["input_size"], arch["input_size"]],
            "device": available_device(),
        },
    }


def load_trained_model(cfg):
    """The network of ``cfg`` with the weights of ``Global.pretrained_model``, all of them.

    Export refuses partial weights: any parameter missing from the file or of another shape
    raises WeightsError naming it.
    """
    weights = cfg["Global"]["pretrained_model"]
    if not weights:
        raise ConfigError("Global.pretrained_model: export needs trained weights; pass "
                          "-o Global.pretrained_model=output/<arch>/best_model")
    network = build_model(cfg["Arch"])
    report = load_pretrained(network, weights)
    bad = report["missing"] + [name for name, _, _ in report["mismatched"]]
    if bad:
        raise WeightsError(f"{weights}: does not match {cfg['Arch']['name']} as configured: "
                           f"{len(report['missing'])} missing, {len(report['mismatched'])} mis-shaped "
                           f"({', '.join(bad[:8])}{', ...' if len(bad) > 8 else ''}); check Arch against the "
                           "config the weights were trained with")
    return network


def export_from_config(cfg, onnx=False, opset_version=DEFAULT_OPSET, tune=False):
    """Export ``Global.pretrained_model`` of ``cfg`` to ``Global.save_inference_dir``.

    Writes ``inference.json`` (``.pdmodel`` on Paddle 2) + ``inference.pdiparams`` and, with
    ``onnx``, ``inference.onnx``; ``tune``: time the OctaveConv formulations on this machine
    (:mod:`paddle_conv.deploy.octconv_tune`). Returns ``{"prefix", "files", "onnx", "opset"}``.
    """
    network = load_trained_model(cfg)
    spec = input_spec_shape(cfg)
    deploy_model = prepare_for_export(network, probe_shape(cfg), tune=tune)
    prefix = os.path.join(cfg["Global"]["save_inference_dir"], INFERENCE_NAME)
    files = export_model(deploy_model, prefix, spec)
    result = {"prefix": prefix, "files": files, "onnx": None, "opset": None, "model": deploy_model}
    if onnx:
        result["onnx"] = prefix + ".onnx"
        result["opset"] = export_onnx(prefix, result["onnx"], opset_version)
    return result
