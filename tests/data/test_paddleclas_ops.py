"""PaddleClas's image ops: deterministic ones equal PaddleClas's own outputs, random ones follow the seed.

``paddleclas_ops_reference.npz`` holds the outputs of PaddleClas's ``ppcls/data/preprocess/ops/
operators.py`` (PaddleClas commit d178931fc, ops run standalone in a scratch folder, PIL backend;
``test_paddleclas_ops_cv2.py`` tests the cv2 backend)
on the PNG image stored in the same file: decode, resize, crop, normalize, to-CHW and the Infer
pipeline of ``ImageNet/ResNet/ResNet50.yaml`` at small sizes.
"""

import io
import os
import random

import numpy as np
import pytest
from PIL import Image

from paddle_conv.data import TRANSFORMS, build_transforms
from paddle_conv.data.paddleclas_ops import (
    CropImage,
    DecodeImage,
    NormalizeImage,
    RandCropImage,
    RandFlipImage,
    ResizeImage,
    ToCHWImage,
    parse_number,
)
from paddle_conv.errors import ConfigError, DataError

REF = np.load(os.path.join(os.path.dirname(__file__), "paddleclas_ops_reference.npz"))
PNG = REF["image_png"].tobytes()


def decoded():
    return DecodeImage(to_rgb=True, channel_first=False, backend="pil")(PNG)


def test_decode_matches_paddleclas_from_bytes_and_from_the_datasets_pil_image():
    np.testing.assert_array_equal(decoded(), REF["decode_rgb"])
    np.testing.assert_array_equal(DecodeImage(to_rgb=False, backend="pil")(PNG), REF["decode_bgr"])
    np.testing.assert_array_equal(DecodeImage(channel_first=True)(PNG), REF["decode_chw"])
    with Image.open(io.BytesIO(PNG)) as pil:  # what ImageNetDataset hands the first op
        np.testing.assert_array_equal(DecodeImage()(pil.convert("RGB")), REF["decode_rgb"])


@pytest.mark.parametrize("interp", ["bilinear", "bicubic", "nearest", "lanczos", "box"])
def test_resize_short_matches_paddleclas_pil_backend(interp):
    out = ResizeImage(resize_short=11, interpolation=interp, backend="pil")(decoded())
    np.testing.assert_array_equal(out, REF[f"resize_short11_{interp}"])


def test_resize_size_crop_normalize_tochw_match_paddleclas():
    img = decoded()
    np.testing.assert_array_equal(ResizeImage(size=[15, 9], backend="pil")(img), REF["resize_size_15x9"])
    np.testing.assert_array_equal(CropImage(size=8)(img), REF["crop_8"])
    np.testing.assert_array_equal(CropImage(size=[10, 6])(img), REF["crop_10x6"])
    hwc = NormalizeImage(scale="1.0/255.0", mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225], order="")(img)
    np.testing.assert_array_equal(hwc, REF["norm_hwc"])
    chw = NormalizeImage(scale=1 / 255, mean=[0.5] * 3, std=[0.5] * 3, order="chw")(img.transpose(2, 0, 1))
    np.testing.assert_array_equal(chw, REF["norm_chw"])
    np.testing.assert_array_equal(NormalizeImage(order="", channel_num=4)(img), REF["norm_4ch"])
    np.testing.assert_array_equal(ToCHWImage()(hwc), REF["tochw"])


def test_infer_pipeline_from_config_entries_matches_paddleclas():
    ops = [{"DecodeImage": {"to_rgb": True, "channel_first": False, "backend": "pil"}},
           {"ResizeImage": {"resize_short": 12, "backend": "pil"}}, {"CropImage": {"size": 10}},
           {"NormalizeImage": {"scale": 1.0 / 255.0, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
                               "order": ""}}, {"ToCHWImage": None}]
    np.testing.assert_array_equal(build_transforms(ops, to_chw=False)(PNG), REF["pipeline"])
    # a data set's ops end in [H, W, C]; like PaddleClas's data sets, we transpose after them
    np.testing.assert_array_equal(build_transforms(ops[:-1])(PNG), REF["pipeline"])


def test_scale_strings_are_parsed_not_evaluated():
    assert parse_number("1.0/255.0", "k") == pytest.approx(1 / 255)
    assert parse_number("1./255.", "k") == pytest.approx(1 / 255)
    with pytest.raises(ConfigError, match="k: expected a number"):
        parse_number("__import__('os')", "k")


def test_random_crop_and_flip_follow_the_seed():
    img = decoded()
    crop = RandCropImage(size=7, backend="pil", interpolation="bicubic")
    random.seed(3)
    first = crop(img)
    random.seed(3)
    np.testing.assert_array_equal(crop(img), first)
    assert first.shape == (7, 7, 3)
    flips = set()
    for seed in range(8):
        random.seed(seed)
        out = RandFlipImage(flip_code=1)(img)
        flips.add(bool(np.array_equal(out, img[:, ::-1])))
        assert np.array_equal(out, img) or np.array_equal(out, img[:, ::-1])
    assert flips == {True, False}
    random.seed(0)
    both = [RandFlipImage(flip_code=-1)(img) for _ in range(6)]
    assert any(np.array_equal(b, img[::-1, ::-1]) for b in both)


def test_cv2_backend_without_opencv_is_noted_and_uses_pil(monkeypatch):
    from paddle_conv import notes
    from paddle_conv.data import paddleclas_ops

    monkeypatch.setattr(paddleclas_ops, "cv2", None)
    monkeypatch.setattr(notes, "NOTES", {})  # this test's note stays here
    out = ResizeImage(resize_short=11)(decoded())
    np.testing.assert_array_equal(out, REF["resize_short11_bilinear"])
    assert "OpenCV (cv2) is not installed" in notes.NOTES["ResizeImage.backend"]


@pytest.mark.parametrize("entry", [
    {"AutoAugment": {}}, {"RandAugment": {"num_layers": 2, "magnitude": 9}}, {"RandAugmentV2": {}},
    {"RandAugmentV3": {"num_layers": 2, "interpolation": "bicubic"}},
    {"TimmAutoAugment": {"config_str": "rand-m9-mstd0.5-inc1", "img_size": 16, "interpolation": "bicubic"}},
    {"RandomErasing": {"EPSILON": 1.0, "sl": 0.1, "sh": "1/3", "r1": 0.5, "mode": "pixel"}},
    {"Cutout": {"n_holes": 1, "length": 6}}, {"GridMask": {"d1": 4, "d2": 9, "rotate": 1, "ratio": 0.5}},
    {"HideAndSeek": {}}, {"ColorJitter": {"brightness": 0.4, "contrast": 0.4, "saturation": 0.4}},
    {"PCALighting": {}},
])
def test_augmentations_keep_the_shape_and_repeat_under_the_same_seed(entry):
    (name, kwargs), = entry.items()
    op = TRANSFORMS.build(name, **kwargs)
    img = decoded()

    def run(seed):
        random.seed(seed)
        np.random.seed(seed)
        return np.asarray(op(img.copy()))

    a, b = run(5), run(5)
    assert a.shape == img.shape
    np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(run(s), img) for s in range(6)), f"{name} never changed the image"


def test_random_erasing_erases_one_rectangle_with_the_mean():
    img = np.ones((20, 20, 3), np.float32)
    random.seed(1)
    out = TRANSFORMS.build("RandomErasing", EPSILON=1.0, mean=[0.0, 0.0, 0.0], mode="const")(img)
    erased = np.all(out == 0, axis=2)
    ys, xs = np.nonzero(erased)
    assert erased.sum() == (ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1) > 0


def test_bad_op_arguments_name_the_key():
    with pytest.raises(ConfigError, match="TimmAutoAugment.config_str"):
        TRANSFORMS.build("TimmAutoAugment", config_str="original-mstd0.5")
    with pytest.raises(ConfigError, match="RandFlipImage.flip_code"):
        RandFlipImage(flip_code=2)
    with pytest.raises(ConfigError, match="ResizeImage.interpolation"):
        ResizeImage(resize_short=8, interpolation="cubicish", backend="pil")


def test_padv2_pads_around_the_image_and_random_crop_image_cuts_its_size():
    img = np.full((3, 4, 3), 200, dtype="uint8")
    centre = TRANSFORMS.build("Padv2", size=[8, 5], pad_mode=1, fill_value=0)(img)  # [w, h]
    assert centre.shape == (5, 8, 3) and centre.dtype == np.float32
    assert (centre[1:4, 2:6] == 200).all() and centre.sum() == 200 * 3 * 4 * 3
    right = TRANSFORMS.build("Padv2", size=6, pad_mode=0)(img)
    assert (right[:3, :4] == 200).all() and (right[3:] == 127.5).all()
    with pytest.raises(DataError, match="larger than the padded size"):
        TRANSFORMS.build("Padv2", size=[2, 2])(img)
    random.seed(0)
    crops = {TRANSFORMS.build("RandomCropImage", size=[4, 3])(centre).sum() for _ in range(20)}
    assert TRANSFORMS.build("RandomCropImage", size=[4, 3])(centre).shape == (3, 4, 3) and len(crops) > 1


def test_timm_auto_augment_prob_zero_leaves_every_image():
    img = (np.random.default_rng(0).random((16, 16, 3)) * 255).astype("uint8")
    never = TRANSFORMS.build("TimmAutoAugment", config_str="rand-m9-mstd0.5-inc1", img_size=16, prob=0.0)
    always = TRANSFORMS.build("TimmAutoAugment", config_str="rand-m9-n3-mstd0.5-inc1-p1.0", img_size=16, prob=1.0)
    random.seed(1)
    np.random.seed(1)
    assert all(np.array_equal(np.asarray(never(img)), img) for _ in range(5))
    assert any(not np.array_equal(np.asarray(always(img)), img) for _ in range(5))
    with pytest.raises(ConfigError, match="TimmAutoAugment.prob"):
        TRANSFORMS.build("TimmAutoAugment", config_str="rand-m9", prob=1.5)


# ------------------------------------------------------- the formats images really come in (issue 26)
def _encoded(kind):
    """Bytes of a generated image of ``kind`` (16-bit ones written by OpenCV, which PIL cannot write)."""
    import cv2

    rng = np.random.default_rng(len(kind))
    if kind in ("png_rgb16", "png_rgba16"):
        pixels = rng.integers(0, 65536, (9, 11, 4 if kind == "png_rgba16" else 3)).astype(np.uint16)
        return cv2.imencode(".png", pixels)[1].tobytes()
    images = {
        "png_grey16": lambda: Image.fromarray(rng.integers(0, 65536, (9, 11)).astype(np.uint16)),
        "tiff_grey16": lambda: Image.fromarray(rng.integers(0, 65536, (9, 11)).astype(np.uint16)),
        "png_grey8": lambda: Image.fromarray(rng.integers(0, 256, (9, 11)).astype(np.uint8)),
        "png_la": lambda: Image.fromarray(rng.integers(0, 256, (9, 11, 2)).astype(np.uint8), "LA"),
        "png_rgba": lambda: Image.fromarray(rng.integers(0, 256, (9, 11, 4)).astype(np.uint8), "RGBA"),
        "png_palette": lambda: Image.fromarray(rng.integers(0, 256, (9, 11, 3)).astype(np.uint8)).quantize(16),
        "png_1bit": lambda: Image.fromarray(rng.integers(0, 2, (9, 11)).astype(bool)),
        "jpeg_cmyk": lambda: Image.fromarray(rng.integers(0, 256, (16, 16, 4)).astype(np.uint8), "CMYK"),
        "tiff_float32": lambda: Image.fromarray(rng.random((9, 11)).astype(np.float32) * 300, "F"),
    }
    image, buffer = images[kind](), io.BytesIO()
    extra = {"transparency": 3} if kind == "png_palette" else {"quality": 100} if kind == "jpeg_cmyk" else {}
    image.save(buffer, kind.split("_")[0].upper(), **extra)
    return buffer.getvalue()


DEPTHS = ["png_grey16", "png_rgb16", "png_rgba16", "tiff_grey16", "png_grey8", "png_la", "png_rgba", "png_palette",
          "png_1bit", "jpeg_cmyk"]


@pytest.mark.parametrize("kind", DEPTHS)
def test_high_depth_and_odd_mode_images_decode_to_opencvs_imread_color_values(kind, tmp_path, monkeypatch):
    """Every decode path (DecodeImage's pil backend, its PIL fallback for cv2, the data sets'
    read_image, infer's load_image) gives the array cv2.imdecode(..., IMREAD_COLOR) gives."""
    cv2 = pytest.importorskip("cv2")
    from paddle_conv.data import paddleclas_ops
    from paddle_conv.data.common import read_image
    from paddle_conv.deploy.classify import load_image

    data = _encoded(kind)
    expected = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1]
    assert expected.std() > 10  # a clipped 16-bit image would be flat white
    np.testing.assert_array_equal(DecodeImage(backend="pil")(data), expected)
    np.testing.assert_array_equal(DecodeImage(backend="cv2")(data), expected)
    path = tmp_path / f"image.{kind.split('_')[0]}"
    path.write_bytes(data)
    np.testing.assert_array_equal(np.asarray(read_image(str(path))), expected)
    chw = load_image(str(path), lambda image: np.asarray(image).transpose(2, 0, 1))
    np.testing.assert_array_equal(chw.transpose(1, 2, 0), expected)
    monkeypatch.setattr(paddleclas_ops, "cv2", None)
    np.testing.assert_array_equal(DecodeImage(backend="cv2")(data), expected)


def test_32_bit_float_images_are_refused_as_opencv_refuses_them(tmp_path):
    cv2 = pytest.importorskip("cv2")
    from paddle_conv.data.common import read_image
    from paddle_conv.errors import DataError

    data = _encoded("tiff_float32")
    assert cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) is None
    with pytest.raises(DataError, match="32-bit float samples, which OpenCV's IMREAD_COLOR cannot decode"):
        DecodeImage(backend="pil")(data)
    (tmp_path / "x.tiff").write_bytes(data)
    with pytest.raises(DataError, match=r"x\.tiff.*32-bit float samples"):
        read_image(str(tmp_path / "x.tiff"))


def test_posterize_to_zero_bits_is_black_not_an_error():
    """timm's increasing posterize reaches 0 bits at magnitude 10 (m9 + mstd noise): PULC traffic_sign crashed."""
    from paddle_conv.data.augment import IMAGE_OPS

    img = Image.fromarray(np.full((4, 4, 3), 200, dtype="uint8"))
    assert np.asarray(IMAGE_OPS["Posterize"](img, 0, None, None)).max() == 0
    assert np.asarray(IMAGE_OPS["Posterize"](img, 1, None, None)).max() == 128
    assert IMAGE_OPS["Posterize"](img, 8, None, None) is img
