"""SSD inference: decode offsets against the priors, then per-class NMS (``paddle.vision.ops.nms``)."""

import paddle
import paddle.nn.functional as F
from paddle.vision.ops import nms

from .boxes import decode


def detect(loc, conf, priors, variances=(0.1, 0.2), score_thresh=0.01, nms_thresh=0.45, top_k=200):
    """Per image of ``loc [B, P, 4]``, ``conf [B, P, C]`` (class 0 = background), ``priors [P, 4]``: a NumPy
    ``[k, 6]`` = ``(x1, y1, x2, y2, score, 0-based label)``, best first, at most ``top_k``."""
    boxes = decode(loc, priors, variances)
    scores = F.softmax(conf, axis=-1)[..., 1:]  # [B, P, C-1]
    num_fg = scores.shape[-1]
    results = []
    for b in range(loc.shape[0]):  # inference only: per-image NMS is inherent
        s = scores[b].flatten()
        keep = paddle.nonzero(s > score_thresh).flatten()
        if keep.shape[0] == 0:
            results.append(paddle.zeros([0, 6]).numpy())
            continue
        cand_scores = paddle.gather(s, keep)
        cand_labels = keep % num_fg
        cand_boxes = paddle.gather(boxes[b], keep // num_fg)
        kept = nms(cand_boxes, nms_thresh, cand_scores, cand_labels, list(range(num_fg)), min(top_k, keep.shape[0]))
        out = paddle.concat([paddle.gather(cand_boxes, kept), paddle.gather(cand_scores, kept).unsqueeze(-1),
                             paddle.gather(cand_labels, kept).astype("float32").unsqueeze(-1)], axis=-1)
        results.append(out.numpy())
    return results
