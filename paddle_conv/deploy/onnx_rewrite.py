"""Rewrite an exported ONNX model for ONNX Runtime: OctConv's up-sampling, a 0/1 ``ConvTranspose`` it cannot run
in its blocked layout, as the equal ``Resize`` (nearest, scale 2), which it can (docs/benchmarks.md)."""

import numpy as np

__all__ = ["RESIZE_MIN_OPSET", "upsampling_as_resize"]

#: the first opset whose ``Resize`` takes ``scales`` as its third input and ``coordinate_transformation_mode``
RESIZE_MIN_OPSET = 11


def _constant(name, initializers, producers, numpy_helper):
    """The value of tensor ``name`` when it is an initializer or a Constant (through Identity), else None."""
    while name not in initializers:
        node = producers.get(name)
        if node is None or node.op_type not in ("Identity", "Constant"):
            return None
        if node.op_type == "Constant":
            value = [a.t for a in node.attribute if a.name == "value"]
            return numpy_helper.to_array(value[0]) if value else None
        name = node.input[0]
    return numpy_helper.to_array(initializers[name])


def _is_nearest_upsampling(node, weight, helper):
    """Whether the ConvTranspose ``node`` with ``weight`` copies each pixel into a 2x2 block."""
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if (len(node.input) > 2 and node.input[2]) or weight is None or weight.ndim != 4:
        return False
    if (list(attrs.get("strides", [1, 1])) != [2, 2] or list(attrs.get("kernel_shape", weight.shape[2:])) != [2, 2]
            or any(attrs.get("pads", [])) or list(attrs.get("dilations", [1, 1])) != [1, 1]
            or any(attrs.get("output_padding", [])) or attrs.get("output_shape")
            or attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET")):
        return False
    channels, per_group = weight.shape[:2]
    if weight.shape[2:] != (2, 2) or per_group * attrs.get("group", 1) != channels:
        return False
    expected = np.zeros_like(weight)
    expected[np.arange(channels), np.arange(channels) % per_group] = 1
    return np.array_equal(weight, expected)


def upsampling_as_resize(model):
    """Replace in place every ``ConvTranspose`` of the ``onnx.ModelProto`` ``model`` that is a nearest 2x
    up-sampling by ``Resize``; returns how many (0 below opset :data:`RESIZE_MIN_OPSET`)."""
    from onnx import helper, numpy_helper

    opset = max((op.version for op in model.opset_import if op.domain in ("", "ai.onnx")), default=0)
    graph = model.graph
    if opset < RESIZE_MIN_OPSET:
        return 0
    initializers = {t.name: t for t in graph.initializer}
    producers = {out: node for node in graph.node for out in node.output}
    scales = "paddle_conv_upsampling_scales"
    nodes, replaced = [], 0
    for node in graph.node:
        if node.op_type == "ConvTranspose" and _is_nearest_upsampling(
                node, _constant(node.input[1], initializers, producers, numpy_helper), helper):
            replaced += 1
            node = helper.make_node("Resize", [node.input[0], "", scales], list(node.output),
                                    name=f"{node.name or 'upsampling'}_resize", mode="nearest",
                                    coordinate_transformation_mode="asymmetric", nearest_mode="floor")
        nodes.append(node)
    if replaced:
        graph.initializer.append(numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), scales))
        del graph.node[:]
        graph.node.extend(nodes)
    return replaced
