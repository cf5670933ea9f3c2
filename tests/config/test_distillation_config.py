"""``Arch.name: DistillationModel`` configs: members validated as Arch sections, the distillation
losses, metric and post-processing checked against the members, feature distillation refused."""

import os

import pytest
import yaml

from paddle_conv.config import load_config
from paddle_conv.config.check import check_config
from paddle_conv.errors import ConfigError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BASE = os.path.join(ROOT, "configs", "ppcls_oct_mobilenet.yaml")


def distillation_config(tmp_path, **arch):
    cfg = yaml.safe_load(open(BASE))
    cfg["Arch"] = {"name": "DistillationModel", "class_num": 10, "pretrained_list": None,
                   "freeze_params_list": [True, False], "infer_model_name": "Student",
                   "models": [{"Teacher": {"name": "tiny_cnn", "class_num": 10, "pretrained": False,
                                           "use_ssld": True}},
                              {"Student": {"name": "tiny_cnn", "class_num": 10, "width": 0.5,
                                           "dropout_prob": None}}], **arch}
    cfg["Loss"] = {"Train": [{"DistillationGTCELoss": {"weight": 1.0, "model_names": ["Student"]}},
                             {"DistillationDKDLoss": {"weight": 1.0, "model_name_pairs": [["Student", "Teacher"]],
                                                      "temperature": 1, "alpha": 1.0, "beta": 1.0}}],
                   "Eval": [{"CELoss": {"weight": 1.0}}]}
    cfg["Metric"] = {split: [{"DistillationTopkAcc": {"model_key": "Student", "topk": [1, 5]}}]
                     for split in ("Train", "Eval")}
    cfg["Infer"]["PostProcess"] = {"name": "DistillationPostProcess", "func": "Topk", "topk": 5}
    path = tmp_path / "distill.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def test_a_distillation_config_loads_with_its_members_validated(tmp_path):
    cfg = load_config(distillation_config(tmp_path), ["Arch.models.1.Student.name=tiny_cnn",
                                                      "Arch.models.1.Student.width=0.25"])
    teacher, student = (next(iter(m.values())) for m in cfg["Arch"]["models"])
    assert teacher == {"name": "tiny_cnn", "num_classes": 10, "pretrained": False}  # use_ssld: a note
    assert student == {"name": "tiny_cnn", "num_classes": 10, "width": 0.25, "drop_rate": None}
    assert cfg["Arch"]["num_classes"] == 10 and cfg["Infer"]["PostProcess"]["model_name"] == "Student"


def test_check_warns_use_ssld_and_would_train(tmp_path):
    report = check_config(distillation_config(tmp_path))
    assert report.ok, report.refused
    rows = {key: status for key, status, _ in report.rows}
    assert rows["Arch.models[0].Teacher.use_ssld"] == "warned"
    assert rows["Arch.models[1].Student.width"] == "implemented"


@pytest.mark.parametrize("override, key, text", [
    ("Arch.infer_model_name=Assistant", "Arch.infer_model_name", "none of the models"),
    ("Arch.freeze_params_list=[true]", "Arch.freeze_params_list", "1 entries for 2 models"),
    ("Arch.freeze_params_list=[true, true]", "Arch.freeze_params_list", "nothing would train"),
    ("Loss.Train[1].DistillationDKDLoss.temperature=[1, 2]", "Loss.Train[1].DistillationDKDLoss.temperature",
     "expected a number"),
    ("Arch.models.0.Teacher.return_patterns=['blocks[2]']", "Arch.models[0].Teacher.return_patterns",
     "feature distillation is not implemented"),
    ("Arch.models.0.Teacher.depth=3", "Arch.models[0].Teacher.depth", "unknown key"),
    ("Loss.Train.1.DistillationDKDLoss.key=blocks5", "Loss.Train[1].DistillationDKDLoss.key",
     "feature distillation"),
    ("Loss.Train.1={AFDLoss: {weight: 50.0}}", "Loss.Train[1]", "AFDLoss: feature distillation"),
])
def test_check_refuses_with_the_key_and_the_reason(tmp_path, override, key, text):
    report = check_config(distillation_config(tmp_path), [override])
    assert [k for k, _ in report.refused] == [key]
    assert text in report.refused[0][1]


@pytest.mark.parametrize("override, text", [
    ("Loss.Train.0={CELoss: {weight: 1.0}}", "training loss must name the models"),
    ("Loss.Train.1.DistillationDKDLoss.model_name_pairs=[[Student, Assistant]]", "names the model 'Assistant'"),
    ("Metric.Eval.0.DistillationTopkAcc.model_key=Assistant", "names the model 'Assistant'"),
    ("Infer.PostProcess.model_name=Teacher", "Arch.infer_model_name = 'Student' only"),
    ("DataLoader.Train.dataset.batch_transform_ops=[{MixupOperator: {alpha: 0.2}}]",
     "Loss.Train.1.DistillationDKDLoss: reads each sample's class"),
])
def test_members_named_by_losses_metrics_and_postprocess_must_exist(tmp_path, override, text):
    with pytest.raises(ConfigError, match=text):
        load_config(distillation_config(tmp_path), [override])


def test_plain_eval_loss_needs_a_student_and_distillation_parts_need_a_distillation_model(tmp_path):
    path = distillation_config(tmp_path)
    renamed = ["Arch.models.1={Pupil: {name: tiny_cnn, class_num: 10}}", "Arch.infer_model_name=Pupil",
               "Loss.Train.0.DistillationGTCELoss.model_names=[Pupil]",
               "Loss.Train.1.DistillationDKDLoss.model_name_pairs=[[Pupil, Teacher]]",
               "Metric.Train.0.DistillationTopkAcc.model_key=Pupil", "Infer.PostProcess.model_name=Pupil"]
    with pytest.raises(ConfigError, match="Loss.Eval.0.CELoss: .*measures the model named Student"):
        load_config(path, renamed)
    with pytest.raises(ConfigError, match="Loss.Train.0.DistillationGTCELoss: reads the models of a "
                                          "DistillationModel by name, but Arch.name is tiny_cnn"):
        load_config(path, ["Arch={name: tiny_cnn, class_num: 10}"])
