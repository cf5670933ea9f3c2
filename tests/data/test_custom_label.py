"""CustomLabelDataset: the label made by RandomRot90 or BlurImage (PaddleClas's semantics)."""

import os
import random

import numpy as np
import pytest
from PIL import Image

from paddle_conv.data import CustomLabelDataset, build_transforms
from paddle_conv.data.custom_label import BlurImage, RandomRot90
from paddle_conv.errors import ConfigError
from tests.tools.test_paddleclas_real_configs import CONFIGS

DECODE = {"DecodeImage": {"to_rgb": True, "channel_first": False}}


def test_random_rot90_label_is_the_quarter_turns():
    img = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    random.seed(0)
    seen = set()
    for _ in range(40):
        turned, turns = RandomRot90().labelled(img)
        np.testing.assert_array_equal(turned, np.rot90(img, turns))  # counter-clockwise, as PaddleClas's np.rot90
        seen.add(turns)
    assert seen == {0, 1, 2, 3}
    assert RandomRot90()(img).shape in {(2, 3, 3), (3, 2, 3)}  # in another data set: the image alone


def test_blur_image_labels_blurred_images_one():
    rng = np.random.default_rng(0)
    img = (rng.random((32, 40, 3)) * 255).astype(np.uint8)
    same, label = BlurImage(ratio=0.0).labelled(img)
    assert label == 0 and same is img
    random.seed(1)
    np.random.seed(1)
    for _ in range(6):  # gaussian and motion blurs: smoother than the noise image
        blurred, label = BlurImage(ratio=1.0).labelled(img)
        assert label == 1 and blurred.shape == img.shape and blurred.dtype == np.uint8
        assert np.abs(np.diff(blurred.astype(float), axis=1)).mean() < np.abs(np.diff(img.astype(float), axis=1)).mean()
    with pytest.raises(ConfigError, match="BlurImage.ratio"):
        BlurImage(ratio=2)


@pytest.fixture
def plain_list(tmp_path):
    for i in range(4):
        Image.fromarray(np.full((12, 16, 3), 40 * i, np.uint8)).save(tmp_path / f"img{i}.png")
    (tmp_path / "list.txt").write_text("".join(f"img{i}.png\tignored\n" for i in range(4)) + "\n")
    return tmp_path


def test_dataset_labels_each_image_by_its_op(plain_list):
    ops = [DECODE, {"RandomRot90": None}]
    random.seed(3)
    data = CustomLabelDataset(str(plain_list), str(plain_list / "list.txt"), ops, "random_rot90_orientation",
                              delimiter="\t", num_classes=4)
    assert len(data) == 4
    for i in range(4):
        image, label = data[i]
        assert label.dtype == np.int64 and label.shape == (1,) and 0 <= label[0] < 4
        assert image.shape == ((3, 12, 16) if label[0] % 2 == 0 else (3, 16, 12))  # [C, H, W]
        assert (image == 40 * i).all()


def test_dataset_refuses_a_label_no_op_makes_or_too_few_classes(plain_list):
    args = (str(plain_list), str(plain_list / "list.txt"))
    with pytest.raises(ConfigError, match="'blur_image' is made by none of its transform_ops.*RandomRot90"):
        CustomLabelDataset(*args, [DECODE, {"RandomRot90": None}], "blur_image", delimiter="\t")
    with pytest.raises(ConfigError, match="Arch.class_num=2.*set Arch.class_num to 4"):
        CustomLabelDataset(*args, [DECODE, {"RandomRot90": None}], "random_rot90_orientation", "\t", num_classes=2)


def test_label_ops_alter_only_the_image_in_another_pipeline():
    img = np.zeros((4, 6, 3), np.uint8)
    assert build_transforms([{"RandomRot90": None}], to_chw=False)(img).shape in {(4, 6, 3), (6, 4, 3)}


def test_config_check_refuses_a_label_key_no_op_makes(tmp_path):
    """``--check`` and training agree: the label key is checked with the config, before any data is read."""
    from paddle_conv.config import load_config
    config = os.path.join(CONFIGS, "PULC/clarity_assessment/PPLCNet_x1_0.yaml")
    if not os.path.isfile(config):
        pytest.skip(f"no PaddleClas configs at {CONFIGS}")
    with pytest.raises(ConfigError, match=r"DataLoader\.Train\.dataset\.label_key.*'blur' is made by none.*BlurImage"):
        load_config(config, ["Arch.name=pplcnet_x0_25", "Arch.class_num=2",
                             "DataLoader.Train.dataset.label_key=blur"])
