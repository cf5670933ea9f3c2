"""Export a model's inference form for Paddle Inference and ONNX: :func:`export`; tools/export.py's from a config."""

import contextlib
import copy
import json
import os
import secrets
import shutil
import stat
import tempfile
from typing import Any, Callable, Dict, Optional, Sequence

import paddle

from ..build import build_model, stage_checkpoint
from ..errors import ConfigError, WeightsError, abbreviate
from ..fuse import fuse, reparameterize
from ..io import read_json
from ..models.distillation import DistillationModel
from ..registry import model_card
from ..state_dict import load_pretrained
from .inference import available_device, export_model, model_files
from .layer_forms import rewrite_layers
from .onnx import DEFAULT_OPSET, check_onnx_export, export_onnx

#: File name (prefix) of the exported model inside ``Global.save_inference_dir``.
INFERENCE_NAME = "inference"
#: The export's description of the model, beside it: ``{"Arch", "image_shape", "input_shape", "task", "onnx_opset"}``.
EXPORT_CONFIG = "inference_config.json"


def prepare_for_export(model: paddle.nn.Layer, probe_shape: Sequence[int], tune: bool = False,
                       form: Optional[str] = None) -> paddle.nn.Layer:
    """The inference form of a copy of ``model``: eval mode, re-parameterized, BN folded (checked on a random
    ``probe_shape`` ``[N, C, H, W]`` input), every layer offering ``export_forms()`` in its form: ``form``
    (see :func:`.layer_forms.rewrite_layers`), or the fastest at ``probe_shape`` with ``tune``."""
    model = copy.deepcopy(model)
    model.eval()
    reparameterize(model)
    model = fuse(model, input_shape=list(probe_shape))
    rewrite_layers(model, probe_shape, "tune" if tune else form)
    return model


def export(model, prefix, input_shape=(None, 3, 224, 224), onnx=False, tune=False, opset_version=DEFAULT_OPSET,
           form=None):
    """Write the inference form of ``model`` (:func:`prepare_for_export`; ``model`` is unchanged) to
    ``<prefix>.json`` + ``.pdiparams`` and, with ``onnx``, ``<prefix>.onnx``. ``input_shape`` ``[N, C, H, W]``,
    None for a free dimension (read as batch 1 and 224 pixels where the layers are prepared).
    Returns ``{"prefix", "files", "onnx", "opset", "model"}``."""
    probe = [d if d is not None else (1 if i == 0 else 224) for i, d in enumerate(input_shape)]
    return _write(prepare_for_export(model, probe, tune=tune, form=form), prefix, input_shape, onnx, opset_version)


def _write(deploy_model, prefix, input_shape, onnx, opset_version):
    result = {"prefix": prefix, "files": export_model(deploy_model, prefix, input_shape), "onnx": None,
              "opset": None, "model": deploy_model}
    if onnx:
        result["onnx"] = prefix + ".onnx"
        result["opset"] = export_onnx(prefix, result["onnx"], opset_version)
    return result


def input_spec_shape(cfg):
    """``[None, C, None, None]``, or ``[None, C, S, S]`` for a model built for one size (``Arch.input_size``)."""
    size = cfg["Arch"].get("input_size")
    return [None, cfg["Global"]["image_shape"][0], size, size]


def probe_shape(cfg):
    """A concrete input of the exported shape: batch 2, ``Global.image_shape`` where the size is free."""
    return [2] + [d if d is not None else g for d, g in zip(input_spec_shape(cfg)[1:], cfg["Global"]["image_shape"])]


def detector_export_config(det_cfg, stage, weights=None):
    """The export config (``Arch`` + ``Global``) of ``stage`` of a detection config: its ``Teacher`` or
    ``Student`` with ``weights`` (default: the stage's best), written to ``<Global.output_dir>/<stage>/inference/``."""
    arch = dict(det_cfg["Teacher" if stage == "teacher" else "Student"]["Arch"])
    if "input_size" not in arch:
        arch["input_size"] = model_card(arch["name"]).input_size[-1]
    size, folder = arch["input_size"], os.path.join(det_cfg["Global"]["output_dir"], stage, "inference")
    return {"Arch": arch, "Global": {"pretrained_model": stage_checkpoint(det_cfg, stage, weights),
                                     "save_inference_dir": folder, "image_shape": [3, size, size],
                                     "device": available_device()}}


def load_trained_model(cfg: Dict[str, Any]) -> paddle.nn.Layer:
    """The network of ``cfg`` with all the weights of ``Global.pretrained_model``; WeightsError naming a missing or
    mis-shaped one, NaN/Inf weights or a negative BatchNorm variance (it exports, then computes NaN)."""
    weights = cfg["Global"]["pretrained_model"]
    if not weights:
        raise ConfigError("Global.pretrained_model: export needs trained weights; pass "
                          "-o Global.pretrained_model=output/<arch>/best_model")
    network = build_model(cfg["Arch"], pretrained=False)
    report = load_pretrained(network, weights)
    bad = report["missing"] + [name for name, _, _ in report["mismatched"]]
    if bad:
        raise WeightsError(f"{weights}: does not match {cfg['Arch']['name']} as configured: "
                           f"{len(report['missing'])} missing, {len(report['mismatched'])} mis-shaped "
                           f"({', '.join(bad[:8])}{', ...' if len(bad) > 8 else ''}); check Arch against the "
                           "config the weights were trained with")
    for name, layer in network.named_sublayers():
        variance = getattr(layer, "_variance", None)  # BatchNorm's running variance
        if variance is not None and float(variance.min()) < 0:
            raise WeightsError(f"{weights}: {name} has a negative running variance ({float(variance.min()):.3g}), "
                               "which no training writes: the file is damaged; export another checkpoint")
    return network


def exported_network(network):
    """A DistillationModel's member ``Arch.infer_model_name`` (as PaddleClas exports), else ``network``."""
    if not isinstance(network, DistillationModel):
        return network
    if network.infer_model_name is None:
        raise ConfigError("Arch.infer_model_name: the export of a DistillationModel holds one of its models; name "
                          f"it, e.g. -o Arch.infer_model_name={network.eval_member_name or network.member_names[-1]}")
    return network.infer_model()


@contextlib.contextmanager
def staged_folder(folder, key="Global.save_inference_dir"):
    """Yield a new empty folder beside ``folder`` (absent, or holding only an export's files: never a project
    folder); on success it replaces ``folder`` as a whole, on failure it is removed and ``folder`` left as it was."""
    folder = os.path.abspath(folder)
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise ConfigError(f"{key}={folder} is a file; the export writes a folder there: move the file away or "
                          f"pass -o {key}=ANOTHER_FOLDER")
    others = sorted(e for e in os.listdir(folder) if not e.startswith(INFERENCE_NAME)) if os.path.isdir(folder) else []
    if others:
        raise ConfigError(f"{key}={folder} holds other files than an export ({abbreviate(others, 80)}); the export "
                          f"replaces the folder as a whole: pass -o {key}=A_FOLDER_OF_ITS_OWN")
    parent, name = os.path.split(folder)
    staged = os.path.join(parent, f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        os.makedirs(parent, exist_ok=True)
        os.mkdir(staged)  # mode 0o777 less the umask
    except OSError as exc:
        raise ConfigError(f"{key}={folder}: cannot create the folder ({exc.strerror}); pass -o {key}=A_WRITABLE_"
                          "FOLDER") from None
    backup = None
    try:
        if os.path.isdir(folder):
            os.chmod(staged, stat.S_IMODE(os.stat(folder).st_mode))  # replacing keeps the mode
        yield staged
        if os.path.isdir(folder):
            backup = tempfile.mkdtemp(prefix=f".{name}.", suffix=".old", dir=parent)
            os.replace(folder, backup)  # an empty folder is replaced
        try:
            os.replace(staged, folder)
        except BaseException:
            if backup:
                os.replace(backup, folder)
                backup = None
            raise
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    finally:
        if backup:
            shutil.rmtree(backup, ignore_errors=True)


def export_from_config(cfg: Dict[str, Any], onnx: bool = False, opset_version: int = DEFAULT_OPSET,
                       verify: Optional[Callable[[Dict[str, Any]], Any]] = None, tune: bool = False) -> Dict[str, Any]:
    """Export ``Global.pretrained_model`` of ``cfg`` and :data:`EXPORT_CONFIG` to ``Global.save_inference_dir``, all
    or nothing: options are checked first, and the staged folder replaces the old one once ``verify(result)`` has
    returned. Returns :func:`export`'s dict and ``"verified"`` (what ``verify`` returned)."""
    if onnx:
        check_onnx_export(opset_version)
    network = exported_network(load_trained_model(cfg))
    spec = input_spec_shape(cfg)
    deploy_model = prepare_for_export(network, probe_shape(cfg), tune=tune)
    folder = cfg["Global"]["save_inference_dir"]
    with staged_folder(folder) as staged:
        result = _write(deploy_model, os.path.join(staged, INFERENCE_NAME), spec, onnx, opset_version)
        task = "detection" if hasattr(deploy_model, "priors") else "classification"
        with open(os.path.join(staged, EXPORT_CONFIG), "w", encoding="utf-8") as f:
            json.dump({"Arch": cfg["Arch"], "image_shape": list(cfg["Global"]["image_shape"]), "input_shape": spec,
                       "task": task, "onnx_opset": result["opset"]}, f, indent=2)
        result["verified"] = None if verify is None else verify(result)
    final = os.path.join(folder, INFERENCE_NAME)
    result.update(prefix=final, files=list(model_files(final)), onnx=result["onnx"] and final + ".onnx")
    return result


def read_export_config(folder):
    """The :data:`EXPORT_CONFIG` of an exported model folder, or None for an export without one."""
    path = os.path.join(folder, EXPORT_CONFIG)
    if not os.path.lexists(path):
        return None
    meta = read_json(path, lambda exc: f"{path} is damaged ({type(exc).__name__}: {exc}); export the model again "
                                       "with tools/export.py", "export description")
    if not isinstance(meta, dict) or not isinstance(meta.get("Arch"), dict) or meta.get("task") not in (
            "classification", "detection"):
        raise WeightsError(f"{path} is not an export description of tools/export.py; export the model again")
    return meta
