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
from tests.deploy.randomized import randomize_batchnorm
from tests.registry_cases import family_cases

CASES = family_cases()
ONNX_OK, ONNX_MISSING = onnx_available()


def _outputs(out):
    out = out if isinstance(out, (tuple, list)) else [out]
    return [o.numpy() for o in out]


def _max_rel(got, want):
    return max(float(np.abs(g - w).max()) / max(float(np.abs(w).max()), 1.0) for g, w in zip(got, want))


@pytest.mark.parametrize("case", CASES, ids=[case.family for case in CASES])
def test_family_exports_to_paddle_inference_and_onnx(case, tmp_path):
    name, kwargs, shape, spec = case.name, case.kwargs, case.shape, case.spec
    paddle.seed(0)  # the same weights whatever ran before (the output-size check below depends on them)
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
    assert opset >= (19 if DeformConv2D in kinds else 13)  # DeformConv is an opset-19 operator
    assert _max_rel(OnnxPredictor(str(tmp_path / "inference.onnx"), threads=1)(x), want) <= 1e-4


def test_onnx_opset_outside_paddle2onnx_range_is_refused_before_it_aborts(tmp_path):
    # paddle2onnx 2.1 aborts the whole process (SIGABRT) on an opset it does not know
    with pytest.raises(PaddleConvError, match=rf"outside what paddle2onnx supports \({OPSET_RANGE[0]}\.\."):
        export_onnx(str(tmp_path / "inference"), str(tmp_path / "m.onnx"), opset_version=OPSET_RANGE[1] + 1)
