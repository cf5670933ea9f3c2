"""PaddleClas's multi-label list data set: items, label ratios, and the list's errors."""

import numpy as np
import pytest
from PIL import Image

from paddle_conv.data import MultiLabelDataset
from paddle_conv.errors import DataError


def _folder(tmp_path, lines):
    Image.fromarray(np.zeros((8, 8, 3), dtype="uint8")).save(tmp_path / "a.png")
    (tmp_path / "list.txt").write_text("".join(line + "\n" for line in lines))
    return str(tmp_path), str(tmp_path / "list.txt")


def test_items_are_the_labels_or_labels_and_ratios(tmp_path):
    root, path = _folder(tmp_path, ["a.png\t1,0,1", "a.png\t0,0,1", "", "a.png\t1,-1,1"])
    plain = MultiLabelDataset(root, path, num_classes=3)
    assert len(plain) == 3 and plain[1][1].tolist() == [0.0, 0.0, 1.0]
    with_ratio = MultiLabelDataset(root, path, label_ratio=True)
    np.testing.assert_allclose(with_ratio[0][1], [[1, 0, 1], [2 / 3, -1 / 3, 1]])  # PaddleClas: the mean label


@pytest.mark.parametrize("line, words", [("a.png 1,0,1", "expected 'relative/path.jpg<TAB>0,1,...'"),
                                         ("a.png\t1,2,0", "expected"), ("a.png\t1,0", "2 labels, but Arch.class_num")])
def test_a_bad_line_is_named(tmp_path, line, words):
    root, path = _folder(tmp_path, ["a.png\t1,0,1", line])
    with pytest.raises(DataError, match=f"list.txt:2: .*{words}"):
        MultiLabelDataset(root, path, num_classes=3)
