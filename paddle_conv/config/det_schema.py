"""The schema of a detection-distillation config (``configs/ssd_kd_shapes.yaml``); ``Arch`` and ``Optimizer``
are the classification ones."""

from ..data import DATASETS
from ..losses import KD_WEIGHTS, LOSSES
from .arch_keys import validate_arch
from .optimizer_keys import validate_optimizer
from .schema import BOOL, FLOAT, INT, STR, Key, config_error, named_mapping, validate_kwargs, validate_section
from .yaml_io import read_yaml


def _count(source, path, value):
    """An integer of at least 1 (epochs, batch sizes, steps)."""
    if not INT.check(value) or value < 1:
        raise config_error(source, path, "bad value", f"must be an integer >= 1, got {value!r}")
    return value


_GLOBAL = {
    "output_dir": Key(STR, default="./output/ssd_kd/", doc="stage directories teacher/, student_kd/, student/"),
    "seed": Key(INT, default=42),
    "print_batch_step": Key(_count, default=20),
    "use_visualdl": Key(BOOL, default=True),
    "resume": Key(BOOL, default=False, doc="continue every stage from its latest checkpoint"),
    "student_baseline": Key(BOOL, default=True, doc="also train the student without KD, for comparison"),
}


def _stage(doc):
    return Key(
        {
            "Arch": Key(validate_arch, required=True, doc="name: ssd_lite, plus its builder arguments"),
            "epochs": Key(_count, required=True, doc="training epochs of this stage"),
            "Optimizer": Key(validate_optimizer, required=True, doc="name: Momentum | Adam | AdamW, lr: {...}"),
            "pretrained_model": Key(STR, nullable=True, doc="weights to start from"),
        },
        required=True,
        doc=doc,
    )


def _loss_args(name):
    def validate(source, path, value):
        return validate_kwargs(source, path, value or {}, LOSSES.get(name), exclude=("num_classes",))

    return Key(validate, default={})


def _kd_weights(source, path, value):
    return validate_section(source, path, value, {k: Key(FLOAT, default=v) for k, v in KD_WEIGHTS.items()})


def _det_dataset(source, path, value):
    if isinstance(value, dict) and value.get("name") not in ("Shapes", "VOCDetection"):
        raise config_error(source, path + ".name", "bad value",
                           f"{value.get('name')!r} is not a detection data set; use Shapes or VOCDetection")
    return named_mapping(DATASETS)(source, path, value)


def _split(batch_size):
    return Key(
        {
            "dataset": Key(_det_dataset, required=True, doc="name: Shapes | VOCDetection, plus its arguments"),
            "batch_size": Key(_count, default=batch_size),
            "shuffle": Key(BOOL, default=True),
        },
        required=True,
    )


#: The stages of a detection-distillation run, in order (``Global.output_dir/<stage>/``).
STAGES = ("teacher", "student_kd", "student")

#: The detection-distillation schema; ``load_config(path, overrides, schema=DET_SCHEMA)``.
DET_SCHEMA = {
    "Global": Key(_GLOBAL),
    "Teacher": _stage("the teacher detector, trained first"),
    "Student": _stage("the student detector, distilled from the teacher"),
    "Loss": Key(
        {
            "MultiBoxLoss": _loss_args("MultiBoxLoss"),
            "MultiBoxLoss_KD": _loss_args("MultiBoxLoss_KD"),
            "weights": Key(_kd_weights, default=None, doc="soft, loss_c, l2, loss_l"),
        }
    ),
    "DataLoader": Key({"Train": _split(32), "Eval": _split(64)}, required=True),
    "Eval": Key(
        {
            "score_thresh": Key(FLOAT, default=0.01),
            "nms_thresh": Key(FLOAT, default=0.45),
            "top_k": Key(INT, default=100),
            "iou_thresh": Key(FLOAT, default=0.5, doc="IoU of a true positive"),
        }
    ),
}


def is_detection_config(path):
    """Whether the YAML file at ``path`` is a detection config (it has a ``Teacher`` or ``Student``)."""
    data = read_yaml(path)
    return isinstance(data, dict) and ("Teacher" in data or "Student" in data)
