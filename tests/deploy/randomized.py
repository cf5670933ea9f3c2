"""Test helper: give a model non-trivial BN statistics, so BN folding and parity checks mean something."""

import numpy as np
import paddle


def randomize_batchnorm(model, seed=0):
    """Random running mean/variance and affine terms for every BatchNorm2D, and no all-zero trainable
    parameter (DCN offsets and RefConv transforms start at zero), so every branch is exercised."""
    rng = np.random.default_rng(seed)
    for layer in model.sublayers():
        if isinstance(layer, paddle.nn.BatchNorm2D):
            n = layer._mean.shape[0]
            layer._mean.set_value(rng.normal(0, 0.2, n).astype("float32"))
            layer._variance.set_value(rng.uniform(0.5, 1.5, n).astype("float32"))
            layer.weight.set_value(rng.uniform(0.3, 0.8, n).astype("float32"))
            layer.bias.set_value(rng.normal(0, 0.2, n).astype("float32"))
    for p in model.parameters():
        if not p.stop_gradient and not np.any(p.numpy()):
            p.set_value(rng.normal(0, 1e-3, p.shape).astype("float32"))
    return model
