"""Shapes (generated) and VOCDetection (on a tiny VOC tree written here) detection data."""

import numpy as np
import pytest
from PIL import Image

from paddle_conv.data import DATASETS, Shapes, VOCDetection, collate_detection
from paddle_conv.errors import DataError


def test_shapes_deterministic_exact_boxes():
    a, b = Shapes(8, 64, seed=3), Shapes(8, 64, seed=3)
    for i in range(8):
        (ia, ta), (ib, tb) = a[i], b[i]
        np.testing.assert_array_equal(ia, ib)
        np.testing.assert_array_equal(ta, tb)
        assert ia.shape == (3, 64, 64) and 1 <= len(ta) <= 4
        assert np.all((ta[:, :4] >= 0) & (ta[:, :4] <= 1)) and set(ta[:, 4]) <= {0, 1, 2}
    assert not np.array_equal(Shapes(8, 64, seed=4)[0][0], a[0][0])
    # the box is the exact pixel extent of the drawn shape (one shape: every non-background pixel)
    lone = Shapes(4, 64, seed=5, max_objects=1)
    for i in range(4):
        image, target = lone.draw(i)
        px = np.asarray(image).astype(int)
        corner = px[-1, -1] if np.any(target[:, :2] == 0) else px[0, 0]  # a corner the shape leaves free
        ys, xs = np.nonzero(np.any(px != corner, axis=-1))
        np.testing.assert_allclose(target[0, :4] * 64, [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])


def test_shapes_flip_mirrors_boxes():
    plain, flipped = Shapes(1, 32, seed=0), Shapes(1, 32, seed=0, flip=True)
    np.random.seed(0)
    seen = set()
    for _ in range(10):
        image, target = flipped[0]
        if np.array_equal(image, plain[0][0]):
            seen.add("same")
        else:
            np.testing.assert_array_equal(image, plain[0][0][:, :, ::-1])
            np.testing.assert_allclose(target[:, [0, 2]], 1 - plain[0][1][:, [2, 0]], atol=1e-6)
            seen.add("flipped")
    assert seen == {"same", "flipped"}


def _write_voc(root, objects):
    (root / "Annotations").mkdir(parents=True)
    (root / "JPEGImages").mkdir()
    (root / "ImageSets" / "Main").mkdir(parents=True)
    for image_id, objs in objects.items():
        Image.new("RGB", (200, 100), (10, 20, 30)).save(root / "JPEGImages" / f"{image_id}.jpg")
        body = "".join(
            f"<object><name>{n}</name><difficult>{d}</difficult><bndbox><xmin>{x1}</xmin><ymin>{y1}</ymin>"
            f"<xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox></object>"
            for n, d, (x1, y1, x2, y2) in objs
        )
        (root / "Annotations" / f"{image_id}.xml").write_text(
            f"<annotation><size><width>200</width><height>100</height><depth>3</depth></size>{body}</annotation>"
        )
    (root / "ImageSets" / "Main" / "trainval.txt").write_text("\n".join(objects) + "\n")


def test_voc_loader(tmp_path):
    root = tmp_path / "VOC2007"
    _write_voc(root, {"000001": [("dog", 0, (21, 11, 120, 60)), ("person", 1, (1, 1, 10, 10))], "000002": []})
    ds = DATASETS.build("VOCDetection", root=str(root), image_size=64)
    assert len(ds) == 2
    image, target = ds[0]
    assert image.shape == (3, 64, 64)
    np.testing.assert_allclose(target, [[0.1, 0.1, 0.6, 0.6, 11]], rtol=1e-6)  # difficult dropped, 1-based
    assert ds[1][1].shape == (0, 5)
    hard = VOCDetection(str(root), image_size=64, keep_difficult=True)
    target, difficult, size = hard.annotation(0)
    assert difficult.tolist() == [False, True] and size == (200, 100) and target[1, 4] == 14
    images, padded = collate_detection([ds[0], ds[1]])
    assert images.shape == (2, 3, 64, 64) and padded.shape == (2, 1, 5) and padded[1, 0, 4] == -1


def test_voc_errors(tmp_path):
    with pytest.raises(DataError, match="list file"):
        VOCDetection(str(tmp_path))
    root = tmp_path / "VOC"
    _write_voc(root, {"a": [("unicorn", 0, (1, 1, 5, 5))]})
    with pytest.raises(DataError, match="unicorn"):
        VOCDetection(str(root))[0]
