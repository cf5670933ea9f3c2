"""Export a trained model for deployment: re-parameterize, fold BatchNorm, save, optionally ONNX.

:func:`prepare_for_export` makes the inference form of a model (a copy; the original is left
as it is): every :class:`~paddle_conv.layers.RefConv2D` folded back into a plain ``Conv2D``
(:func:`paddle_conv.refconv.reparameterize`), then every eval-mode BatchNorm folded into the
convolution before it (:func:`paddle_conv.fuse`, self-checked on a probe input). The OctConv
layers' fast path is their default forward, so nothing needs switching.

:func:`export_from_config` is what ``tools/export.py`` runs; :func:`detector_export_config` makes
its config for one stage of a detection config (``configs/ssd_kd_shapes.yaml``).
"""

import copy
import os

from ..build import build_model
from ..errors import ConfigError, WeightsError
from ..fuse import fuse
from ..layers import RefConv2D
from ..refconv import reparameterize
from ..registry import model_card
from ..state_dict import load_pretrained
from .inference import available_device, export_model
from .onnx import DEFAULT_OPSET, export_onnx

#: File name (prefix) of the exported model inside ``Global.save_inference_dir``.
INFERENCE_NAME = "inference"


def prepare_for_export(model, probe_shape):
    """The inference form of ``model``: a copy in eval mode, RefConv re-parameterized, BN folded.

    ``probe_shape`` ``[N, C, H, W]`` is the random input :func:`paddle_conv.fuse` checks the
    folded model on (the model's working size).
    """
    model = copy.deepcopy(model)
    model.eval()
    if any(isinstance(layer, RefConv2D) for layer in model.sublayers()):
        reparameterize(model)
    return fuse(model, input_shape=list(probe_shape))


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
        arch["input_size"] = model_card(arch["name"]).input_size[-1]
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


def export_from_config(cfg, onnx=False, opset_version=DEFAULT_OPSET):
    """Export ``Global.pretrained_model`` of ``cfg`` to ``Global.save_inference_dir``.

    Writes ``inference.json`` (``.pdmodel`` on Paddle 2) + ``inference.pdiparams`` and, with
    ``onnx``, ``inference.onnx``. Returns ``{"prefix", "files", "onnx", "opset"}``.
    """
    network = load_trained_model(cfg)
    spec = input_spec_shape(cfg)
    deploy_model = prepare_for_export(network, probe_shape(cfg))
    prefix = os.path.join(cfg["Global"]["save_inference_dir"], INFERENCE_NAME)
    files = export_model(deploy_model, prefix, spec)
    result = {"prefix": prefix, "files": files, "onnx": None, "opset": None, "model": deploy_model}
    if onnx:
        result["onnx"] = prefix + ".onnx"
        result["opset"] = export_onnx(prefix, result["onnx"], opset_version)
    return result
