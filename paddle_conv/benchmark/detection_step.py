"""A training-step timing pair for SSD300 + MultiBoxLoss, ours against the torch reference, and its timer."""

import time

import numpy as np

__all__ = ["interleaved", "random_boxes", "ssd_steps"]


def random_boxes(rng, count, num_classes):
    """``[count, 5]`` float32 boxes ``x1, y1, x2, y2`` in the unit square, then a class in ``0..num_classes - 2``."""
    corner = rng.uniform(0.0, 0.6, (count, 2))
    size = rng.uniform(0.1, 0.4, (count, 2))
    labels = rng.integers(0, num_classes - 1, (count, 1))
    return np.concatenate([corner, corner + size, labels], axis=1).astype("float32")


def ssd_steps(batch=2, threads=1, width=1.0, num_classes=21, seed=0):
    """``{"paddle": step, "torch": step}``: forward, MultiBoxLoss (``loss_l + loss_c``), backward of
    ``ssd300_vgg16`` (``width`` scales its channels) on one random ``[batch, 3, 300, 300]`` input with
    1 to 5 random boxes per image, ours and the torch reference holding the same weights."""
    import paddle
    import torch

    from paddle_conv.losses import MultiBoxLoss
    from weights_bridge.parity import model_pair
    from weights_bridge.references.ssd_loss_torch import MultiBoxLossReference

    torch.set_num_threads(threads)
    rng = np.random.default_rng(seed)
    ref, model = model_pair("ssd300_vgg16", seed=seed, num_classes=num_classes, width=width)
    model.train()
    ref.train()
    x = rng.standard_normal((batch, 3, 300, 300)).astype("float32")
    targets = [random_boxes(rng, int(rng.integers(1, 6)), num_classes) for _ in range(batch)]
    ours, theirs = MultiBoxLoss(num_classes=num_classes), MultiBoxLossReference(num_classes=num_classes)
    x_paddle, t_paddle = paddle.to_tensor(x), [paddle.to_tensor(t) for t in targets]
    x_torch, t_torch = torch.from_numpy(x), [torch.from_numpy(t) for t in targets]

    def paddle_step():
        loss_l, loss_c = ours(model(x_paddle), t_paddle)
        (loss_l + loss_c).backward()
        model.clear_gradients()
        return float(loss_l + loss_c)

    def torch_step():
        loss_l, loss_c = theirs(ref(x_torch), t_torch)
        (loss_l + loss_c).backward()
        ref.zero_grad()
        return float((loss_l + loss_c).detach())

    return {"paddle": paddle_step, "torch": torch_step}


def interleaved(steps, rounds=5, warmup=1, before=None):
    """Time each of ``steps`` once per round, in turn, after ``warmup`` calls, ``before[name]()`` untimed before
    every call: ``{name: {"wall_ms": [...], "cpu_ms": [...]}}``."""
    before = before or {}
    for name, step in steps.items():
        for _ in range(warmup):
            before.get(name, lambda: None)()
            step()
    times = {name: {"wall_ms": [], "cpu_ms": []} for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            before.get(name, lambda: None)()
            wall, cpu = time.perf_counter(), time.process_time()
            step()
            times[name]["wall_ms"].append((time.perf_counter() - wall) * 1e3)
            times[name]["cpu_ms"].append((time.process_time() - cpu) * 1e3)
    return times
