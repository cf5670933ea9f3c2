"""Weights entries of publishers that several families share; each family module lists its own
published weights on its models' cards (URL, checksum, published numbers).

URLs and numbers are the upstream projects' own (their READMEs and model tables, read on
2026-11-30). ``sha256=None`` means no machine of ours could fetch the file to pin it: the first
download prints its SHA-256 for the user to pin, and an ``md5`` is checked where the upstream
publishes one. A model's first entry is what ``pretrained=True`` loads (Paddle's own file first
where there is one: it needs no conversion).
"""

from __future__ import annotations

from ..cards import IMAGENET_MEAN, IMAGENET_STD, WeightEntry

#: What ImageNet-1k weights were trained with.
IMAGENET = dict(num_classes=1000, input_size=(3, 224, 224), mean=IMAGENET_MEAN, std=IMAGENET_STD)


def dli14_weights(model, tag, file_id, top1, top5):
    """An ImageNet-1k ``.pth`` of d-li14/octconv.pytorch (Google Drive ``file_id``, its published top-1/5)."""
    return WeightEntry(model=model, name=tag, urls=(f"https://drive.google.com/file/d/{file_id}/view",),
                       file_name=f"{model}_{tag}_dli14.pth", file_format="torch", converter="torch",
                       license="Apache-2.0", upstream="d-li14/octconv.pytorch", dataset="imagenet-1k",
                       metrics={"top1": top1, "top5": top5}, **IMAGENET)
