"""MultiScaleSampler / MultiScaleDataset: PaddleClas's batch sizes per scale, one size per batch,
every sample each epoch, order from (seed, epoch), bad images and configs named."""

import numpy as np
import pytest
from PIL import Image

from paddle_conv.config import load_config
from paddle_conv.data import MultiScaleDataset, MultiScaleSampler
from paddle_conv.data.guarded_loader import GuardedDataLoader
from paddle_conv.errors import ConfigError, DataError
from paddle_conv.notes import NOTES
from tests.config.test_config import write_config
from tests.data.test_samplers import Sized


def test_batch_size_per_scale_keeps_the_pixels_of_the_first_scale():
    sampler = MultiScaleSampler(Sized(10), scales=[160, 192, 224, 288, 320], first_bs=500)
    # int(160 * 160 * 500 / s**2): PaddleClas's PPLCNetV2 numbers
    assert sampler.scales == [(160, 160, 500), (192, 192, 347), (224, 224, 255), (288, 288, 154), (320, 320, 125)]


def test_sizes_round_down_to_divided_factor_but_the_base_pixels_do_not():
    sampler = MultiScaleSampler(Sized(10), scales=[[100, 100], [200, 70]], first_bs=10, divided_factor=32)
    # base 100 * 100 * 10 pixels; 100 -> 96 (100000 / 96**2 = 10.85), [200, 70] -> [192, 64] (8.1)
    assert sampler.scales == [(96, 96, 10), (192, 64, 8)]
    evaluation = MultiScaleSampler(Sized(10), scales=[100, 200], first_bs=10, is_training=False)
    assert evaluation.scales == [(100, 100, 10)]  # the first scale only, unrounded


def test_each_batch_has_one_size_and_its_scales_batch_size_and_an_epoch_covers_every_sample():
    sampler = MultiScaleSampler(Sized(50), scales=[64, 96, 128], first_bs=8, seed=3)
    sizes = {(w, h): n for w, h, n in sampler.scales}
    batches = list(sampler)
    assert len(batches) == len(sampler) and len({(b[0][0], b[0][1]) for b in batches}) > 1
    for batch in batches:
        width, height = batch[0][:2]
        assert {(w, h) for w, h, _ in batch} == {(width, height)} and len(batch) == sizes[width, height]
    indices = [i for batch in batches for _, _, i in batch]
    assert sorted(indices[:50]) == list(range(50))  # every sample once, then the last batch is filled up
    assert sum(len(b) for b in batches[:-1]) < 50 <= len(indices)  # batches are drawn until they cover 50


def test_sizes_are_drawn_once_from_the_seed_and_each_epochs_order_from_seed_and_epoch():
    def sizes(s):
        return [(b[0][0], len(b)) for b in s]

    first = MultiScaleSampler(Sized(40), scales=[64, 96, 128], first_bs=8, seed=7)
    epochs = []
    for epoch in range(3):
        first.set_epoch(epoch)
        epochs.append(list(first))
    assert sizes(epochs[0]) == sizes(epochs[1]) == sizes(epochs[2])  # PaddleClas: one schedule per run
    assert epochs[0] != epochs[1]  # a new order every epoch
    resumed = MultiScaleSampler(Sized(40), scales=[64, 96, 128], first_bs=8, seed=7)
    resumed.set_epoch(2)
    assert list(resumed) == epochs[2]  # a resumed run sees the same batches
    other = MultiScaleSampler(Sized(40), scales=[64, 96, 128], first_bs=8, seed=8)
    assert sizes(other) != sizes(epochs[0])
    ordered = MultiScaleSampler(Sized(40), scales=[64], first_bs=8, shuffle=False)
    assert [i for b in ordered for _, _, i in b] == list(range(40))


@pytest.mark.parametrize("kwargs, key", [({"scales": []}, "scales"), ({"scales": [16, 64]}, "scales"),
                                         ({"first_bs": 0}, "first_bs"), ({"divided_factor": 0}, "divided_factor")])
def test_bad_arguments_name_the_key(kwargs, key):
    with pytest.raises(ConfigError, match=f"MultiScaleSampler.{key}"):
        MultiScaleSampler(Sized(4), **{"scales": [64], "first_bs": 2, **kwargs})


OPS = [{"DecodeImage": {"to_rgb": True, "channel_first": False}},
       {"RandCropImage": {"size": 224, "use_log_aspect": True, "interpolation": "bilinear"}},
       {"RandFlipImage": {"flip_code": 1}},
       {"NormalizeImage": {"scale": "1.0/255.0", "mean": [0.5] * 3, "std": [0.5] * 3, "order": ""}}]


@pytest.fixture
def image_list(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(6):
        Image.fromarray((rng.random((40, 48, 3)) * 255).astype("uint8")).save(tmp_path / f"img{i}.png")
    (tmp_path / "list.txt").write_text("".join(f"img{i}.png {i % 2}\n" for i in range(6)))
    return tmp_path


def test_dataset_reads_each_sample_at_the_batchs_width_and_height(image_list):
    data = MultiScaleDataset(str(image_list), str(image_list / "list.txt"), OPS)
    image, label = data[(64, 32, 3)]
    assert image.shape == (3, 32, 64) and image.dtype == np.float32 and label.tolist() == [1]
    ops = [{"DecodeImage": {}}, {"ResizeImage": {"resize_short": 256}}, {"CropImage": {"size": 224}}]
    resized = MultiScaleDataset(str(image_list), str(image_list / "list.txt"), ops)
    assert resized[(40, 24, 0)][0].shape == (3, 24, 40)  # both size ops take the batch's size
    with pytest.raises(ConfigError, match="needs one of RandCropImage, ResizeImage, CropImage"):
        MultiScaleDataset(str(image_list), str(image_list / "list.txt"), [{"DecodeImage": {}}])


def test_loader_batches_have_one_size_each_and_a_bad_image_stops_naming_the_file(image_list):
    data = MultiScaleDataset(str(image_list), str(image_list / "list.txt"), OPS)
    sampler = MultiScaleSampler(data, scales=[32, 64], first_bs=4, seed=4)  # sizes 32, 64, 32
    shapes = [tuple(images.shape) for images, _ in GuardedDataLoader(data, batch_sampler=sampler)]
    expected = [(n, 3, h, w) for w, h, n in sampler.batches]
    assert shapes == expected and len(set(shapes)) > 1
    (image_list / "img2.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match=r"img2\.png.*list\.txt:3"):
        list(GuardedDataLoader(data, batch_sampler=sampler))


def _multi_scale(cfg, sampler=None, dataset="MultiScaleDataset"):
    cfg["DataLoader"]["Train"]["dataset"] = {"name": dataset, "image_root": ".", "cls_label_path": "list.txt",
                                             "transform_ops": OPS}
    cfg["DataLoader"]["Train"]["sampler"] = sampler or {"name": "MultiScaleSampler", "scales": [160, 224],
                                                        "first_bs": 8}


def test_config_keys_defaults_pairing_and_the_note_on_replaced_arguments(tmp_path):
    note = "DataLoader.Train.dataset.transform_ops[1].RandCropImage"
    NOTES.pop(note, None)
    cfg = load_config(write_config(tmp_path, _multi_scale))
    assert cfg["DataLoader"]["Train"]["sampler"] == {"name": "MultiScaleSampler", "scales": [160, 224], "first_bs": 8,
                                                     "divided_factor": 32, "is_training": True, "shuffle": True,
                                                     "seed": None}
    assert NOTES[note].startswith("MultiScaleDataset replaces its arguments (")
    assert all(arg in NOTES[note].split(")")[0] for arg in ("size", "use_log_aspect", "interpolation"))
    cases = [
        (lambda c: _multi_scale(c, {"name": "MultiScaleSampler", "scales": [160], "first_bs": 8, "batch_size": 4}),
         "sampler.batch_size: unknown key"),
        (lambda c: _multi_scale(c, {"name": "MultiScaleSampler", "scales": [160]}), "sampler.first_bs: missing"),
        (lambda c: _multi_scale(c, {"name": "MultiScaleSampler", "scales": "224", "first_bs": 8}), "sampler.scales"),
        (lambda c: _multi_scale(c, {"batch_size": 8}), "sampler.name: MultiScaleDataset needs the MultiScaleSampler"),
        (lambda c: _multi_scale(c, dataset="ImageNetDataset"), "dataset.name: MultiScaleSampler needs the Multi"),
    ]
    for edit, message in cases:
        with pytest.raises(ConfigError, match=message):
            load_config(write_config(tmp_path, edit))
