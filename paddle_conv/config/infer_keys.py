"""``Infer`` of a classification config: what tools/infer.py and tools/export.py use."""


from ..data import TRANSFORMS
from ..models.distillation import EVAL_MEMBER, LOGITS_KEY
from .schema import (
    INT,
    STR,
    Key,
    config_error,
    join_key,
    named_list,
    validate_section,
)

POSTPROCESS = {
    "name": Key(STR, default="Topk", doc="Topk: the k best classes with their scores; DistillationPostProcess: "
                                         "Topk of one member of a DistillationModel"),
    "topk": Key(INT, default=5),
    "class_id_map_file": Key(STR, nullable=True, doc="'<id> <name>' lines; names the classes in the output"),
    "delimiter": Key(STR, nullable=True, doc="separator of id and name in class_id_map_file (default: space)"),
    "func": Key(STR, nullable=True, doc="DistillationPostProcess: the post-processing applied (Topk)"),
    "model_name": Key(STR, nullable=True, doc="DistillationPostProcess: the member (default Student); the "
                                              "export holds Arch.infer_model_name only, which it must be"),
    "key": Key(STR, nullable=True, doc="DistillationPostProcess: the member's output (logits: our models' only)"),
}
#: ``Infer.PostProcess`` keys of ``DistillationPostProcess`` only.
DISTILLATION_POSTPROCESS = ("func", "model_name", "key")


def _postprocess(source, path, value):
    post = validate_section(source, path, value, POSTPROCESS)
    if post["name"] not in ("Topk", "DistillationPostProcess"):
        raise config_error(source, join_key(path, "name"), "bad value",
                           f"only Topk and DistillationPostProcess (Topk of a member) post-processing are "
                           f"implemented, got {post['name']!r}")
    if post["name"] == "Topk":
        for key in DISTILLATION_POSTPROCESS:
            if post[key] is not None:
                raise config_error(source, join_key(path, key), "unknown key",
                                   f"only DistillationPostProcess takes {key!r}; remove it")
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
