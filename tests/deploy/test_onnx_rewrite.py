"""OctConv's 0/1 transposed-convolution up-sampling becomes ONNX ``Resize`` (exact), nothing else
is touched; an exported octave model gives the same outputs in ONNX Runtime with and without it."""

import numpy as np
import pytest

from paddle_conv.deploy.onnx import onnx_available

ONNX_OK, ONNX_MISSING = onnx_available()
pytestmark = pytest.mark.skipif(not ONNX_OK, reason=ONNX_MISSING)


def _upsampling_weight(channels, per_group):
    weight = np.zeros([channels, per_group, 2, 2], np.float32)
    weight[np.arange(channels), np.arange(channels) % per_group] = 1
    return weight


def _deconv_model(weight, opset=13, bias=False, strides=(2, 2)):
    from onnx import TensorProto, helper, numpy_helper

    channels, per_group = weight.shape[:2]
    inputs = ["x", "w"] + (["b"] if bias else [])
    node = helper.make_node("ConvTranspose", inputs, ["y"], kernel_shape=[2, 2], strides=list(strides),
                            group=channels // per_group)
    inits = [numpy_helper.from_array(weight, "w")]
    if bias:
        inits.append(numpy_helper.from_array(np.ones(channels, np.float32), "b"))
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, None)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _run(model, x):
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


@pytest.mark.parametrize("channels,per_group", [(6, 2), (5, 1), (4, 4)])
def test_upsampling_becomes_an_exact_resize(channels, per_group):
    from paddle_conv.deploy.onnx_rewrite import upsampling_as_resize

    model = _deconv_model(_upsampling_weight(channels, per_group))
    x = np.random.default_rng(0).standard_normal([2, channels, 3, 5]).astype(np.float32)
    want = _run(model, x)
    assert upsampling_as_resize(model) == 1
    assert [n.op_type for n in model.graph.node] == ["Resize"]
    got = _run(model, x)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got, x.repeat(2, axis=2).repeat(2, axis=3))


@pytest.mark.parametrize("case", ["weight", "bias", "stride", "opset"])
def test_other_transposed_convolutions_are_left_alone(case):
    from paddle_conv.deploy.onnx_rewrite import upsampling_as_resize

    weight = _upsampling_weight(6, 2)
    if case == "weight":
        weight[0, 0, 1, 1] = 2.0
    model = _deconv_model(weight, opset=10 if case == "opset" else 13, bias=case == "bias",
                          strides=(1, 1) if case == "stride" else (2, 2))
    assert upsampling_as_resize(model) == 0
    assert [n.op_type for n in model.graph.node] == ["ConvTranspose"]


def test_exported_octave_model_same_outputs_with_resize(tmp_path):
    import onnx
    import paddle

    import paddle_conv as pc
    from paddle_conv.deploy import export_model
    from paddle_conv.deploy.export import prepare_for_export
    from paddle_conv.deploy.onnx import OnnxPredictor, export_onnx
    from tests.deploy.randomized import randomize_batchnorm

    paddle.seed(0)
    model = pc.create_model("oct_resnet26", num_classes=5)
    randomize_batchnorm(model)
    model.eval()
    x = np.random.default_rng(1).standard_normal([1, 3, 30, 34]).astype("float32")  # odd low-frequency maps
    prefix = str(tmp_path / "inference")
    export_model(prepare_for_export(model, x.shape), prefix, [None, 3, None, None])
    outputs, op_types = {}, {}
    for resize in (False, True):
        path = str(tmp_path / f"resize_{resize}.onnx")
        export_onnx(prefix, path, resize_upsampling=resize)
        op_types[resize] = [n.op_type for n in onnx.load(path).graph.node]
        outputs[resize] = OnnxPredictor(path, threads=1)(x)[0]
    deconvs = op_types[False].count("ConvTranspose")
    assert deconvs > 0 and "Resize" not in op_types[False]
    assert op_types[True].count("Resize") == deconvs and "ConvTranspose" not in op_types[True]
    scale = float(np.abs(outputs[False]).max())
    assert scale > 0.1
    assert float(np.abs(outputs[True] - outputs[False]).max()) <= 1e-5 * scale
