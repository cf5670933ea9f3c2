"""PaddleClas's image ops with ``backend: cv2`` (its default): the same arrays as PaddleClas's own ops.

``paddleclas_ops_cv2_reference.npz`` holds the outputs of PaddleClas's ``ppcls/data/preprocess/ops/
operators.py`` (the commit and the OpenCV version are stored in it; ops run standalone in a scratch
folder, with this file's :data:`CASES` and :func:`run_ops`) on a JPEG (EXIF orientation 6) and on a
PNG stored in the same file: decode, resize (``resize_short`` and ``size``, every interpolation),
crops, normalize, to-CHW, the ``Infer`` and ``Train`` pipelines of ``ImageNet/ResNet/ResNet50.yaml``
at small sizes, and random crops and flips after ``random.seed``. ``test_paddleclas_ops_themselves``
runs PaddleClas's ops directly when a PaddleClas checkout is on PYTHONPATH.
"""

import functools
import os
import random

import numpy as np
import pytest

from paddle_conv import notes
from paddle_conv.data import build_transforms, paddleclas_ops
from paddle_conv.data.paddleclas_ops import DecodeImage

REF_PATH = os.path.join(os.path.dirname(__file__), "paddleclas_ops_cv2_reference.npz")
IMAGES = ("jpg", "png")
INTERPOLATIONS = ("nearest", "bilinear", "area", "bicubic", "lanczos")
DECODE = {"DecodeImage": {"to_rgb": True, "channel_first": False}}
IMAGENET_NORM = {"NormalizeImage": {"scale": "1.0/255.0", "mean": [0.485, 0.456, 0.406],
                                    "std": [0.229, 0.224, 0.225], "order": ""}}

#: ``{name: (transform_ops, seed)}``: PaddleClas config entries run on each image's bytes (after
#: ``random.seed(seed)`` and ``np.random.seed(seed)`` when ``seed`` is not None).
CASES = {
    "decode_rgb": ([DECODE], None),
    "decode_bgr": ([{"DecodeImage": {"to_rgb": False}}], None),
    "decode_chw": ([{"DecodeImage": {"channel_first": True}}], None),
    "decode_not_np": ([{"DecodeImage": {"to_np": False}}], None),
    **{f"resize_short11_{i}": ([DECODE, {"ResizeImage": {"resize_short": 11, "interpolation": i}}], None)
       for i in INTERPOLATIONS},
    "resize_short11_default": ([DECODE, {"ResizeImage": {"resize_short": 11}}], None),
    **{f"resize_size_15x9_{i}": ([DECODE, {"ResizeImage": {"size": [15, 9], "interpolation": i}}], None)
       for i in INTERPOLATIONS},
    **{f"resize_size_37x29_{i}": ([DECODE, {"ResizeImage": {"size": [37, 29], "interpolation": i}}], None)
       for i in INTERPOLATIONS},
    "resize_size_13": ([DECODE, {"ResizeImage": {"size": 13}}], None),
    "crop_8": ([DECODE, {"CropImage": {"size": 8}}], None),
    "crop_10x6": ([DECODE, {"CropImage": {"size": [10, 6]}}], None),
    "crop_at_ratio": ([DECODE, {"CropImageAtRatio": {"size": 8, "pad": 3}}], None),
    "norm_hwc": ([DECODE, IMAGENET_NORM], None),
    "norm_chw": ([{"DecodeImage": {"channel_first": True}},
                  {"NormalizeImage": {"scale": 1 / 255, "mean": [0.5] * 3, "std": [0.5] * 3, "order": "chw"}}], None),
    "norm_4ch": ([DECODE, {"NormalizeImage": {"order": "", "channel_num": 4}}], None),
    "norm_fp16": ([DECODE, {"NormalizeImage": {"order": "", "output_fp16": True}}], None),
    "tochw": ([DECODE, IMAGENET_NORM, {"ToCHWImage": None}], None),
    # ResNet50.yaml's Infer.transforms (resize_short 256 / crop 224 scaled down) and Train.transform_ops
    "infer_resnet50": ([DECODE, {"ResizeImage": {"resize_short": 12}}, {"CropImage": {"size": 10}}, IMAGENET_NORM,
                        {"ToCHWImage": None}], None),
    **{f"train_resnet50_seed{s}": ([DECODE, {"RandCropImage": {"size": 9}}, {"RandFlipImage": {"flip_code": 1}},
                                    IMAGENET_NORM], s) for s in range(3)},
    **{f"rand_crop_{i}_seed4": ([DECODE, {"RandCropImage": {"size": [9, 7], "interpolation": i, "scale": [0.3, 1.0],
                                                            "use_log_aspect": True}}], 4)
       for i in INTERPOLATIONS + ("random",)},
    **{f"rand_flip{c}_seed{s}": ([DECODE, {"RandFlipImage": {"flip_code": c}}], s) for c in (0, -1) for s in (0, 1)},
}


def run_ops(build, ops, data, seed):
    """``data`` (image bytes) through ``ops`` built by ``build(name, kwargs)``, after seeding."""
    if seed is not None:
        random.seed(seed)
        np.random.seed(seed)
    for entry in ops:
        (name, kwargs), = entry.items()
        data = build(name, dict(kwargs or {}))(data)
    return np.asarray(data)


def ours(name, kwargs):
    return build_transforms([{name: kwargs}], to_chw=False)


@functools.cache
def reference():
    return dict(np.load(REF_PATH))


def image(kind):
    return reference()[f"image_{kind}"].tobytes()


def assert_same(out, expected, what):
    assert out.shape == expected.shape and out.dtype == expected.dtype, (what, out.shape, out.dtype)
    if out.dtype == np.uint8:
        np.testing.assert_array_equal(out, expected, err_msg=what)
    else:
        np.testing.assert_allclose(out, expected, rtol=0, atol=1e-6, err_msg=what)


needs_cv2 = pytest.mark.skipif(
    paddleclas_ops.cv2 is None,
    reason="OpenCV is not installed (pip install opencv-python-headless, in the train extra): backend cv2 "
           "falls back to PIL, whose values differ slightly")


@needs_cv2
@pytest.mark.parametrize("kind", IMAGES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_cv2_backend_matches_paddleclas_recorded(case, kind):
    ops, seed = CASES[case]
    assert_same(run_ops(ours, ops, image(kind), seed), reference()[f"{case}_{kind}"], f"{case} on the {kind}")


def test_reference_is_from_paddleclas_and_opencv():
    ref = reference()
    assert len(str(ref["paddleclas_commit"])) == 40
    assert {f"{case}_{kind}" for case in CASES for kind in IMAGES} <= set(ref)
    # the JPEG is stored 31 high, 23 wide, with EXIF orientation 6 (rotate 90 clockwise): OpenCV turns it
    assert ref["decode_rgb_jpg"].shape == (23, 31, 3)


@needs_cv2
def test_data_sets_and_infer_hand_decode_image_the_file_bytes(tmp_path):
    from paddle_conv.data import ImageNetDataset
    from paddle_conv.deploy.classify import load_image

    (tmp_path / "a.jpg").write_bytes(image("jpg"))
    (tmp_path / "list.txt").write_text("a.jpg 0\n")
    ops = CASES["infer_resnet50"][0]
    expected = reference()["infer_resnet50_jpg"]
    assert_same(load_image(tmp_path / "a.jpg", build_transforms(ops, to_chw=False)), expected, "tools/infer.py")
    # a data set's ops end in [H, W, C]; it transposes after them
    data = ImageNetDataset(str(tmp_path), str(tmp_path / "list.txt"), transform=build_transforms(ops[:-1]))
    assert_same(data[0][0], expected, "ImageNetDataset")


@needs_cv2
def test_undecodable_bytes_name_the_image(tmp_path):
    from paddle_conv.data import ImageNetDataset
    from paddle_conv.errors import DataError

    ppm = tmp_path / "a.ppm"  # PIL reads the header, OpenCV refuses the truncated pixels
    ppm.write_bytes(b"P6\n4 4\n255\n" + bytes(5))
    (tmp_path / "list.txt").write_text("a.ppm 0\n")
    data = ImageNetDataset(str(tmp_path), str(tmp_path / "list.txt"), transform=build_transforms([DECODE]))
    with pytest.raises(DataError, match=r"cannot read image '.*a\.ppm' \(listed at .*list\.txt:1\): OpenCV cannot"):
        data[0]


def test_without_opencv_pil_decodes_upright_and_a_note_says_so(monkeypatch):
    monkeypatch.setattr(paddleclas_ops, "cv2", None)
    monkeypatch.setattr(notes, "NOTES", {})  # this test's note stays here
    decoded = DecodeImage()(image("jpg"))
    assert "OpenCV (cv2) is not installed" in notes.NOTES["DecodeImage.backend"]
    expected = reference()["decode_rgb_jpg"]  # OpenCV's pixels: the same orientation, JPEG decoders differ
    assert decoded.shape == expected.shape
    assert np.abs(decoded.astype(int) - expected).max() <= 8  # 0 with Pillow 13 and OpenCV 4.6 or 5.0
    assert DecodeImage(backend="pil")(image("jpg")).shape == (31, 23, 3)  # PaddleClas's PIL ignores EXIF
    np.testing.assert_array_equal(DecodeImage()(image("png")), reference()["decode_rgb_png"])


def _paddleclas_operators():
    try:
        from ppcls.data.preprocess.ops import operators
        from ppcls.utils import logger
    except ImportError as exc:
        pytest.skip(f"PaddleClas is not importable ({exc}): put a PaddleClas 2.6 source checkout on PYTHONPATH")
    logger.init_logger()  # as PaddleClas's engine does: DecodeImage(to_np=False) logs a warning
    return operators


@needs_cv2
@pytest.mark.parametrize("kind", IMAGES)
def test_paddleclas_ops_themselves(kind):
    operators = _paddleclas_operators()
    for case, (ops, seed) in sorted(CASES.items()):
        expected = run_ops(lambda name, kwargs: getattr(operators, name)(**kwargs), ops, image(kind), seed)
        assert_same(run_ops(ours, ops, image(kind), seed), expected, f"{case} on the {kind}")
