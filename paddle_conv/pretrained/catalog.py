"""Weights entries of publishers that several families share (each family lists its own on its cards)."""

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
