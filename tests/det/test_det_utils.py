"""Priors, box utilities, batched matching, decoding + NMS and VOC mAP."""

import numpy as np
import paddle
import pytest
import torch

from paddle_conv.det import (
    VOC_SSD300,
    box_iou,
    center_size,
    decode,
    detect,
    encode,
    match,
    pad_targets,
    point_form,
    prior_boxes,
    voc_map,
)
from paddle_conv.det.voc_map import average_precision
from paddle_conv.errors import ConfigError
from weights_bridge.references.ssd_loss_torch import match_image


def test_voc_ssd300_has_8732_clipped_priors():
    priors = prior_boxes(VOC_SSD300).numpy()
    assert (
        priors.shape == (38 * 38 * 4 + 19 * 19 * 6 + 10 * 10 * 6 + 5 * 5 * 6 + 3 * 3 * 4 + 4, 4) == (8732, 4)
    )
    assert priors.min() >= 0 and priors.max() <= 1
    np.testing.assert_allclose(priors[0], [4 / 300, 4 / 300, 0.1, 0.1], rtol=1e-6)  # (0.5/37.5, .., 30/300)
    np.testing.assert_allclose(priors[1, 2], np.sqrt(30 * 60) / 300, rtol=1e-6)
    np.testing.assert_allclose(
        priors[-1], [0.5, 0.5, 0.88 / np.sqrt(2), 1.0], rtol=1e-6
    )  # 0.88*sqrt(2) clipped


def test_prior_config_errors():
    with pytest.raises(ConfigError, match="one entry per feature map"):
        prior_boxes({**VOC_SSD300, "steps": [8, 16]})
    with pytest.raises(ConfigError, match="lacks min_dim"):
        prior_boxes({k: v for k, v in VOC_SSD300.items() if k != "min_dim"})


def test_forms_iou_encode_decode_roundtrip():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 0.5, (6, 2))
    corners = paddle.to_tensor(np.concatenate([xy, xy + rng.uniform(0.1, 0.5, (6, 2))], 1).astype("float32"))
    np.testing.assert_allclose(point_form(center_size(corners)).numpy(), corners.numpy(), atol=1e-6)
    iou = box_iou(corners, corners).numpy()
    np.testing.assert_allclose(np.diag(iou), 1.0, rtol=1e-6)
    assert np.all(iou <= 1 + 1e-6) and np.allclose(iou, iou.T)
    half = paddle.to_tensor([[0.0, 0.0, 0.5, 1.0]]), paddle.to_tensor([[0.25, 0.0, 0.75, 1.0]])
    np.testing.assert_allclose(box_iou(*half).numpy(), [[1 / 3]], rtol=1e-6)
    priors = center_size(corners[::-1])
    np.testing.assert_allclose(decode(encode(corners, priors), priors).numpy(), corners.numpy(), atol=1e-5)


def test_batched_match_equals_per_image_reference():
    rng = np.random.default_rng(1)
    priors = prior_boxes(VOC_SSD300)
    targets = []
    for n in [3, 0, 7, 1]:
        xy = rng.uniform(0, 0.6, (n, 2))
        targets.append(
            np.concatenate([xy, xy + rng.uniform(0.02, 0.4, (n, 2)), rng.integers(0, 5, (n, 1))], 1)
            .astype("float32")
            .reshape(n, 5)
        )
    # two truths sharing one best prior: the later one keeps it, as upstream's loop does
    targets.append(np.array([[0.1, 0.1, 0.3, 0.3, 1], [0.1, 0.1, 0.3, 0.3, 2]], "float32"))
    loc_t, conf_t = match(*pad_targets(targets), priors)
    for i, t in enumerate(targets):
        if len(t) == 0:
            assert not conf_t[i].numpy().any()
            continue
        ref_loc, ref_conf = match_image(
            0.5, torch.tensor(t[:, :4]), torch.tensor(t[:, 4]), torch.tensor(priors.numpy()), (0.1, 0.2)
        )
        np.testing.assert_array_equal(conf_t[i].numpy(), ref_conf.numpy())
        pos = ref_conf.numpy() > 0
        assert pos.sum() >= len(t) - 1  # every distinct truth has its own positive
        np.testing.assert_allclose(loc_t[i].numpy()[pos], ref_loc.numpy()[pos], rtol=1e-5, atol=1e-5)
    shared = int(paddle.argmax(box_iou(paddle.to_tensor(targets[-1][:1, :4]), point_form(priors))))
    assert int(conf_t[-1, shared]) == 3  # label 2 + background offset: the later truth won


def test_detect_decodes_and_suppresses():
    priors = paddle.to_tensor([[0.3, 0.3, 0.2, 0.2], [0.31, 0.3, 0.2, 0.2], [0.7, 0.7, 0.2, 0.2]])
    conf = paddle.to_tensor([[[0.0, 5.0, 0.0], [0.0, 4.0, 0.0], [0.0, 0.0, 6.0]]])
    (dets,) = detect(paddle.zeros([1, 3, 4]), conf, priors, score_thresh=0.5, nms_thresh=0.45)
    assert dets.shape == (2, 6)  # the second box of class 0 overlaps the first: suppressed
    np.testing.assert_allclose(dets[:, :4], [[0.6, 0.6, 0.8, 0.8], [0.2, 0.2, 0.4, 0.4]], atol=1e-6)
    assert dets[:, 5].tolist() == [1, 0] and dets[0, 4] > dets[1, 4]
    (none,) = detect(paddle.zeros([1, 3, 4]), paddle.zeros([1, 3, 3]), priors, score_thresh=0.9)
    assert none.shape == (0, 6)


def test_voc_map_perfect_partial_and_11_point():
    gts = [np.array([[0, 0, 0.5, 0.5, 0], [0.5, 0.5, 1, 1, 1]]), np.array([[0.2, 0.2, 0.4, 0.4, 0]])]
    perfect = [np.c_[g[:, :4], np.ones(len(g)), g[:, 4]] for g in gts]
    assert voc_map(perfect, gts, 2)[0] == pytest.approx(1.0)
    # class 0: one hit (score .9), one false positive (.8), the second object found last (.7)
    dets = [
        np.array([[0, 0, 0.5, 0.5, 0.9, 0], [0.6, 0, 0.9, 0.2, 0.8, 0]]),
        np.array([[0.2, 0.2, 0.4, 0.4, 0.7, 0]]),
    ]
    m, aps = voc_map(dets, gts, 2)
    assert aps[1] == 0.0  # an object never detected
    assert aps[0] == pytest.approx(0.5 * 1.0 + 0.5 * 2 / 3)
    assert voc_map(dets, gts, 2, use_11_point=True)[1][0] == pytest.approx((6 * 1.0 + 5 * 2 / 3) / 11)
    assert average_precision(np.array([]), np.array([]), use_11_point=True) == 0.0
