"""Single-shot detection utilities (SSD, Liu et al., ECCV 2016): priors, boxes, matching, decoding, mAP."""

from .boxes import box_iou, box_iou_numpy, center_size, decode, encode, point_form
from .detect import detect
from .matching import match, match_numpy, pad_targets, pad_targets_numpy
from .priors import VOC_SSD300, check_prior_config, num_priors_per_cell, prior_boxes
from .voc_map import average_precision, voc_map

__all__ = ["VOC_SSD300", "average_precision", "box_iou", "box_iou_numpy", "center_size", "check_prior_config", "decode",
           "detect", "encode", "match", "match_numpy", "num_priors_per_cell", "pad_targets", "pad_targets_numpy",
           "point_form", "prior_boxes", "voc_map"]
