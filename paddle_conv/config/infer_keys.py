"""``Infer`` of a classification config: what tools/infer.py and tools/export.py use."""

from ..data import TRANSFORMS
from ..errors import config_error
from ..models.distillation import EVAL_MEMBER, LOGITS_KEY
from ..notes import note_once
from .schema import FLOAT, INT, STR, Key, join_key, named_list, validate_section

POSTPROCESS = {
    "name": Key(STR, default="Topk", doc="one of POSTPROCESS_KEYS"),
    "topk": Key(INT, default=5),
    "class_id_map_file": Key(STR, nullable=True, doc="'<id> <name>' lines; names the classes in the output"),
    "delimiter": Key(STR, nullable=True, doc="separator of id and name in class_id_map_file (default: space)"),
    "func": Key(STR, nullable=True, doc="DistillationPostProcess: the post-processing applied (Topk)"),
    "model_name": Key(STR, nullable=True, doc="DistillationPostProcess: the member (Arch.infer_model_name)"),
    "key": Key(STR, nullable=True, doc="DistillationPostProcess: the member's output (logits: our models' only)"),
    "threshold": Key(FLOAT, nullable=True, doc="the score a class needs (default 0.5)"),
    "label_0": Key(STR, nullable=True, doc="ThreshOutput: the name of class 0"),
    "label_1": Key(STR, nullable=True, doc="ThreshOutput: the name of class 1"),
}
#: PaddleClas's ``Infer.PostProcess`` names and the keys each takes besides ``name``.
POSTPROCESS_KEYS = {
    "Topk": ("topk", "class_id_map_file", "delimiter"),
    "DistillationPostProcess": ("topk", "class_id_map_file", "delimiter", "func", "model_name", "key"),
    "ThreshOutput": ("threshold", "label_0", "label_1"),
    "MultiLabelThreshOutput": ("threshold", "class_id_map_file", "delimiter"),
    "PersonAttribute": ("threshold",),
    "VehicleAttribute": (),
    "TableAttribute": (),
}
#: The attribute post-processings' own thresholds (PaddleClas sentences of fixed attribute lists): notes.
ATTRIBUTE_THRESHOLDS = ("glasses_threshold", "hold_threshold", "color_threshold", "type_threshold",
                        "source_threshold", "number_threshold", "clarity_threshold", "obstruction_threshold",
                        "angle_threshold")
#: Post-processings of a multi-label model (sigmoid scores).
MULTILABEL_POSTPROCESS = ("MultiLabelThreshOutput", "PersonAttribute", "VehicleAttribute", "TableAttribute")


def _attribute_keys(path, value):
    """Drop (with a note) the attribute post-processings' per-group thresholds from ``value``."""
    for key in ATTRIBUTE_THRESHOLDS:
        if key in value and value.get("name") in MULTILABEL_POSTPROCESS[1:]:
            value.pop(key)
            note_once(join_key(path, key), f"{value['name']} prints sentences of PaddleClas's fixed attribute "
                                           "list with a threshold per group; here every attribute whose score "
                                           "reaches threshold is printed by its id, at one threshold")


def _postprocess(source, path, value):
    if isinstance(value, dict):
        value = dict(value)
        _attribute_keys(path, value)
    post = validate_section(source, path, value, POSTPROCESS)
    if post["name"] not in POSTPROCESS_KEYS:
        raise config_error(source, join_key(path, "name"), "bad value",
                           f"the post-processings implemented are {', '.join(POSTPROCESS_KEYS)}; got "
                           f"{post['name']!r}")
    for key in POSTPROCESS:
        if key != "name" and key in value and key not in POSTPROCESS_KEYS[post["name"]]:
            takes = ", ".join(POSTPROCESS_KEYS[post["name"]]) or "no other key"
            raise config_error(source, join_key(path, key), "unknown key",
                               f"{post['name']} takes no {key!r} (it takes {takes}); remove it")
    if post["threshold"] is None:
        post["threshold"] = 0.5
    if post["name"] != "DistillationPostProcess":
        return post
    if post["func"] not in (None, "Topk"):
        raise config_error(source, join_key(path, "func"), "bad value",
                           f"only Topk is implemented, got {post['func']!r}")
    if post["key"] not in (None, LOGITS_KEY):
        raise config_error(source, join_key(path, "key"), "bad value",
                           f"{post['key']!r}: our models return only their logits (key: logits)")
    post["model_name"] = post["model_name"] or EVAL_MEMBER
    return post


#: ``Infer``: what tools/infer.py and tools/export.py use (images, transforms, post-processing).
INFER = {
    "infer_imgs": Key(STR, nullable=True, doc="an image or a folder (tools/infer.py's default input)"),
    "batch_size": Key(INT, default=10),
    "transforms": Key(named_list(TRANSFORMS, required=False), default=None, nullable=True,
                      doc="DecodeImage ... ToCHWImage, applied to each image"),
    "PostProcess": Key(_postprocess, nullable=True),
}
