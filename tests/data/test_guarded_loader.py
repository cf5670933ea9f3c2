"""paddle_conv.data.guarded_loader: a sample that cannot be read stops the run in seconds, naming the file.

Paddle 3.3's DataLoader reads samples in a helper thread (``num_workers: 0``, where an exception
used to hang the main thread for ever) or in worker processes (where it used to come back as
a ``SystemError``). Each test runs a real process with a timeout, one per data set type.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from paddle_conv.data import Shapes
from paddle_conv.data.guarded_loader import GuardedDataLoader
from paddle_conv.errors import DataError

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 90  # seconds: process start and Paddle's import on a loaded machine; a hang never ends


def _run(tmp, argv):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        done = subprocess.run([sys.executable, *argv], cwd=tmp, env=env, capture_output=True, text=True,
                              timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{argv[:2]} hung for {TIMEOUT} s on a bad sample")
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert done.returncode == 2 and len(errors) == 1 and "Traceback" not in done.stderr, done.stderr[-3000:]
    return errors[0]


def _images(folder, names):
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        Image.new("RGB", (16, 16), (40 * i, 80, 0)).save(folder / name)


def _train_config(tmp, dataset, num_workers):
    cfg = yaml.safe_load((ROOT / "configs" / "digits_quick.yaml").read_text())
    cfg["Global"].update(output_dir=str(tmp / "out"), epochs=1, use_visualdl=False, eval_during_train=False,
                         image_shape=[3, 16, 16])
    cfg["Arch"]["class_num"] = 2
    cfg["DataLoader"] = {"Train": {"dataset": {**dataset, "transform_ops": [{"ToTensor": None}]},
                                   "sampler": {"batch_size": 2, "shuffle": False, "drop_last": False},
                                   "loader": {"num_workers": num_workers}}}
    cfg["Metric"] = {"Train": [{"TopkAcc": {"topk": [1]}}]}
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.mark.parametrize("num_workers", [0, 1])
def test_image_list_with_a_truncated_image_exits_2_naming_it_and_its_list_line(tmp_path, num_workers):
    _images(tmp_path / "images", ["0.png", "1.png", "2.png"])
    (tmp_path / "images" / "bad.png").write_bytes((tmp_path / "images" / "0.png").read_bytes()[:40])
    (tmp_path / "list.txt").write_text("0.png 0\n1.png 1\nbad.png 0\n2.png 1\n")
    config = _train_config(tmp_path, {"name": "ImageNetDataset", "image_root": str(tmp_path / "images"),
                                      "cls_label_path": str(tmp_path / "list.txt")}, num_workers)
    error = _run(tmp_path, [str(ROOT / "tools" / "train.py"), "-c", str(config)])
    assert "bad.png" in error and "list.txt:3" in error


def test_image_folder_with_an_empty_image_exits_2_naming_it(tmp_path):
    _images(tmp_path / "images" / "cat", ["0.png", "1.png"])
    _images(tmp_path / "images" / "dog", ["2.png"])
    (tmp_path / "images" / "dog" / "empty.png").write_bytes(b"")
    config = _train_config(tmp_path, {"name": "ImageFolder", "root": str(tmp_path / "images")}, 0)
    assert "empty.png" in _run(tmp_path, [str(ROOT / "tools" / "train.py"), "-c", str(config)])


_ITERATE = """
import sys
from paddle_conv.cli import run_cli
from paddle_conv.data import collate_detection
from paddle_conv.data.guarded_loader import GuardedDataLoader

def main(argv):
    for _ in GuardedDataLoader(DATASET, batch_size=2, num_workers=int(argv[0]), collate_fn=collate_detection):
        pass

sys.exit(run_cli(main, sys.argv[1:]))
"""


def _voc(root, bad):
    for sub in ("Annotations", "JPEGImages", "ImageSets/Main"):
        (root / sub).mkdir(parents=True)
    ids = ["a", "b", "c", "d"]
    for i in ids:
        Image.new("RGB", (32, 24), (0, 90, 0)).save(root / "JPEGImages" / f"{i}.jpg")
        (root / "Annotations" / f"{i}.xml").write_text(
            "<annotation><size><width>32</width><height>24</height></size><object><name>dog</name>"
            "<difficult>0</difficult><bndbox><xmin>2</xmin><ymin>2</ymin><xmax>20</xmax><ymax>20</ymax></bndbox>"
            "</object></annotation>")
    (root / "ImageSets" / "Main" / "trainval.txt").write_text("\n".join(ids) + "\n")
    jpg = root / "JPEGImages" / f"{bad}.jpg"
    jpg.write_bytes(jpg.read_bytes()[:100])


def test_voc_with_a_truncated_jpeg_exits_2_naming_it_with_workers(tmp_path):
    _voc(tmp_path / "voc", bad="c")
    script = f"from paddle_conv.data import VOCDetection\nDATASET = VOCDetection({str(tmp_path / 'voc')!r}, " \
             "image_size=32)\n" + _ITERATE
    assert "c.jpg" in _run(tmp_path, ["-c", script, "1"])


def test_shapes_whose_drawing_fails_exits_2_naming_the_sample(tmp_path):
    script = textwrap.dedent("""
        from paddle_conv.data import Shapes

        class Broken(Shapes):
            def draw(self, index):
                if index == 3:
                    raise OSError("cannot draw")
                return super().draw(index)

        DATASET = Broken(num_images=6, image_size=32)
        """) + _ITERATE
    assert "sample 3 of Broken" in _run(tmp_path, ["-c", script, "0"])


def test_in_process_the_error_is_a_data_error_and_good_batches_come_through():
    class Failing(Shapes):
        def draw(self, index):
            if index == 5:
                raise DataError("sample five is bad")
            return super().draw(index)

    from paddle_conv.data import collate_detection

    loader = GuardedDataLoader(Failing(num_images=8, image_size=32), batch_size=2, collate_fn=collate_detection)
    seen = []
    with pytest.raises(DataError, match="sample five is bad"):
        for images, _ in loader:
            seen.append(images.shape[0])
    assert seen == [2, 2]


def test_samples_of_different_sizes_are_a_data_error_not_a_hang():
    class Mixed:
        def __getitem__(self, i):
            return np.zeros((3, 8 + i, 8), "float32"), np.array([0])

        def __len__(self):
            return 4

    with pytest.raises(DataError, match="cannot batch the samples together"):
        list(GuardedDataLoader(Mixed(), batch_size=2))


def test_a_decompression_bomb_is_refused_before_it_is_decoded(tmp_path, monkeypatch):
    from paddle_conv.data import common

    _images(tmp_path, ["big.png"])
    monkeypatch.setattr(common, "MAX_PIXELS", 100)  # 16x16 = 256 pixels is "too big" here
    with pytest.raises(DataError, match=r"^image .*big\.png' is 16x16 pixels, more than the limit of 100"):
        common.read_image(tmp_path / "big.png")
