"""The SSD training-step pair computes the same loss in both frameworks, and the interleaved timer
times every step once per round."""

import numpy as np

from paddle_conv.benchmark.detection_step import interleaved, random_boxes, ssd_steps


def test_random_boxes_are_valid_ground_truths():
    boxes = random_boxes(np.random.default_rng(0), 7, 21)
    assert boxes.shape == (7, 5) and boxes.dtype == np.float32
    assert (boxes[:, 2:4] > boxes[:, :2]).all() and (boxes[:, :4] >= 0).all() and (boxes[:, :4] <= 1).all()
    assert set(boxes[:, 4]) <= set(range(20))


def test_thin_ssd_steps_agree_and_are_timed():
    steps = ssd_steps(batch=1, width=0.0625, num_classes=5)
    losses = {name: step() for name, step in steps.items()}
    assert losses["paddle"] > 0
    np.testing.assert_allclose(losses["paddle"], losses["torch"], rtol=1e-4)
    times = interleaved(steps, rounds=2, warmup=0)
    assert set(times) == {"paddle", "torch"}
    for per_step in times.values():
        assert len(per_step["wall_ms"]) == len(per_step["cpu_ms"]) == 2
        assert min(per_step["wall_ms"]) > 0
