"""Every registered model family exports (RefConv re-parameterized, BN folded), runs in Paddle
Inference within 1e-5 of dygraph and in ONNX Runtime within 1e-4 (small models, small inputs)."""

import numpy as np
import paddle
import pytest

import paddle_conv as pc
from paddle_conv.deploy import Predictor, export_model
from paddle_conv.deploy.export import prepare_for_export
from paddle_conv.deploy.onnx import OPSET_RANGE, OnnxPredictor, export_onnx, onnx_available
from paddle_conv.errors import PaddleConvError
from paddle_conv.layers import DeformConv2D, RefConv2D
from paddle_conv.registry import MODELS
from tests.deploy.randomized import randomize_batchnorm

# family module -> (a small registered model of it, builder arguments, input shape, export shape)
FAMILIES = {
    "baselines": ("mobilenet_v1", {}, [2, 3, 32, 32], [None, 3, None, None]),
    "oct_mobilenet": ("oct_mobilenet", {}, [2, 3, 33, 47], [None, 3, None, None]),  # odd sizes
    "oct_resnet": ("oct_resnet26", {}, [1, 3, 32, 32], [None, 3, None, None]),
    "cct": ("cct_2_3x2_32", {}, [2, 3, 32, 32], [None, 3, 32, 32]),  # token grid fixed at export
    "cct_keras": ("cct_keras_cifar", {}, [2, 3, 32, 32], [None, 3, 32, 32]),  # token grid fixed at export
    "conv_resnet": ("resnet50_dcn", {}, [1, 3, 32, 32], [None, 3, None, None]),  # deformable conv
    "refconv_mobilenet": ("refconv_mobilenet_v1", {}, [2, 3, 32, 32], [None, 3, None, None]),
    "tiny_cnn": ("tiny_cnn", {}, [2, 3, 32, 32], [None, 3, None, None]),
    "ssd_lite": ("ssd_lite", {"backbone": "tiny_cnn", "input_size": 64}, [2, 3, 64, 64], [None, 3, 64, 64]),
    "ssd300": ("ssd300_vgg16", {"width": 0.0625}, [1, 3, 300, 300], [None, 3, 300, 300]),  # a thin SSD300
}
ONNX_OK, ONNX_MISSING = onnx_available()


def test_every_registered_family_has_an_export_case():
    families = {MODELS.get(name).__module__.rsplit(".", 1)[-1] for name in pc.list_models()}
    assert families <= set(FAMILIES), f"add an export case for: {sorted(families - set(FAMILIES))}"


def _outputs(out):
    out = out if isinstance(out, (tuple, list)) else [out]
    return [o.numpy() for o in out]


def _max_rel(got, want):
    return max(float(np.abs(g - w).max()) / max(float(np.abs(w).max()), 1.0) for g, w in zip(got, want))


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_exports_to_paddle_inference_and_onnx(family, tmp_path):
    name, kwargs, shape, spec = FAMILIES[family]
    model = pc.create_model(name, num_classes=5, **kwargs)
    randomize_batchnorm(model)
    model.eval()
    x = np.random.default_rng(1).standard_normal(shape).astype("float32")
    want = _outputs(model(paddle.to_tensor(x)))
    assert max(float(np.abs(w).max()) for w in want) > 0.1  # a comparison on near-zero outputs proves nothing

    deploy = prepare_for_export(model, shape)
    kinds = [type(layer) for layer in deploy.sublayers()]
    assert RefConv2D not in kinds
    # every BN is folded, except those after a deformable conv (paddle_conv.fuse folds Conv2D only)
    assert kinds.count(paddle.nn.BatchNorm2D) <= kinds.count(DeformConv2D)
    prefix = str(tmp_path / "inference")
    export_model(deploy, prefix, spec)
    got = Predictor(prefix, device="cpu", threads=1)(x)
    assert _max_rel(got, want) <= 1e-5

    if not ONNX_OK:
        pytest.skip(f"ONNX part skipped: {ONNX_MISSING}")
    opset = export_onnx(prefix, str(tmp_path / "inference.onnx"))
    assert opset >= (19 if family == "conv_resnet" else 13)  # DeformConv is an opset-19 operator
    assert _max_rel(OnnxPredictor(str(tmp_path / "inference.onnx"), threads=1)(x), want) <= 1e-4


def test_onnx_opset_outside_paddle2onnx_range_is_refused_before_it_aborts(tmp_path):
    # paddle2onnx 2.1 aborts the whole process (SIGABRT) on an opset it does not know
    with pytest.raises(PaddleConvError, match=rf"outside what paddle2onnx supports \({OPSET_RANGE[0]}\.\."):
        export_onnx(str(tmp_path / "inference"), str(tmp_path / "m.onnx"), opset_version=OPSET_RANGE[1] + 1)
