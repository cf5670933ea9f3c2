"""DistillationModel built from an Arch section: members, frozen teacher, soft-label gradients,
pretrained_list, the member that is exported."""

import numpy as np
import paddle
import pytest

from paddle_conv.build import build_model
from paddle_conv.deploy.export import exported_network
from paddle_conv.errors import ConfigError
from paddle_conv.losses import build_loss
from paddle_conv.models import DistillationModel


def arch(**extra):
    return {"name": "DistillationModel", "models": [
        {"Teacher": {"name": "tiny_cnn", "num_classes": 5, "width": 0.5}},
        {"Student": {"name": "tiny_cnn", "num_classes": 5, "width": 0.5, "drop_rate": 0.0}}],
        "freeze_params_list": [True, False], "infer_model_name": "Student", **extra}


def test_members_are_built_by_name_and_the_forward_gives_each_ones_logits():
    paddle.seed(0)
    model = build_model(arch())
    assert isinstance(model, DistillationModel) and model.member_names == ["Teacher", "Student"]
    out = model(paddle.randn([2, 3, 32, 32]))
    assert sorted(out) == ["Student", "Teacher"] and out["Student"].shape == [2, 5]
    assert exported_network(model) is model.member("Student")
    plain = build_model(arch()["models"][1]["Student"])  # BatchNorm statistics are parameters, never trainable
    assert not any(p.trainable for p in model.member("Teacher").parameters())
    assert [p.trainable for p in model.member("Student").parameters()] == [p.trainable for p in plain.parameters()]


def test_student_gradients_come_from_the_teachers_soft_labels():
    """d CE(s, softmax(t)) / d s = (softmax(s) - softmax(t)) / N: the teacher's output drives it."""
    paddle.seed(1)
    model = build_model(arch())
    out = model(paddle.randn([3, 3, 32, 32]))
    loss = build_loss([{"DistillationCELoss": {"model_name_pairs": [["Student", "Teacher"]]}}])(
        out, paddle.zeros([3, 1], "int64"))
    grad, = paddle.grad(loss, out["Student"])

    def softmax(x):
        e = np.exp(x - x.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    s, t = out["Student"].numpy(), out["Teacher"].numpy()
    np.testing.assert_allclose(grad.numpy(), (softmax(s) - softmax(t)) / 3, rtol=1e-4, atol=1e-7)
    assert np.abs(softmax(t) - softmax(s)).max() > 1e-3  # the check above tells teacher from nothing


def test_a_step_trains_the_student_and_leaves_the_frozen_teacher_as_paddleclas_does():
    paddle.seed(2)
    model = build_model(arch())
    teacher = {k: v.numpy().copy() for k, v in model.member("Teacher").state_dict().items()}
    student = {k: v.numpy().copy() for k, v in model.member("Student").state_dict().items()}
    optimizer = paddle.optimizer.Momentum(0.1, parameters=model.parameters(), weight_decay=1e-2)
    model.train()
    loss = build_loss([{"DistillationGTCELoss": {"model_names": ["Student"]}},
                       {"DistillationKLDivLoss": {"model_name_pairs": [["Student", "Teacher"]]}}])(
        model(paddle.randn([4, 3, 32, 32])), paddle.to_tensor([[0], [1], [2], [3]]))
    loss.backward()
    optimizer.step()
    weights = {n for n, p in build_model(arch()["models"][1]["Student"]).named_parameters() if p.trainable}
    after = model.member("Teacher").state_dict()
    for name, param in model.member("Teacher").named_parameters():
        assert param.grad is None
        if name in weights:
            np.testing.assert_array_equal(after[name].numpy(), teacher[name], err_msg=name)
    # PaddleClas keeps a frozen member in training mode: its BatchNorm follows the batches
    assert any(not np.array_equal(after[k].numpy(), teacher[k]) for k in teacher if k.endswith("_mean"))
    trained = dict(model.member("Student").named_parameters())
    assert all(not np.array_equal(trained[n].numpy(), student[n]) for n in weights)


def test_pretrained_list_loads_a_members_weights(tmp_path):
    paddle.seed(3)
    source = build_model(arch()["models"][0]["Teacher"])
    paddle.save(source.state_dict(), str(tmp_path / "teacher.pdparams"))
    model = build_model(arch(pretrained_list=[str(tmp_path / "teacher.pdparams"), None]))
    for name, value in source.state_dict().items():
        np.testing.assert_array_equal(model.member("Teacher").state_dict()[name].numpy(), value.numpy())
    untouched = build_model(arch(pretrained_list=[str(tmp_path / "teacher.pdparams"), None]), pretrained=False)
    assert any(not np.array_equal(untouched.member("Teacher").state_dict()[k].numpy(), v.numpy())
               for k, v in source.state_dict().items())


def test_export_without_infer_model_name_names_the_key():
    model = build_model({**arch(), "infer_model_name": None})
    with pytest.raises(ConfigError, match="Arch.infer_model_name.*-o Arch.infer_model_name=Student"):
        exported_network(model)


def test_to_static_forward_gives_the_same_member_logits():
    """Global.to_static (PaddleClas's PPLCNet SSLD distillation configs) compiles the dict forward."""
    paddle.seed(4)
    model = build_model(arch())
    model.eval()
    x = paddle.randn([2, 3, 32, 32])
    want = model(x)
    model.forward = paddle.jit.to_static(model.forward, full_graph=True)
    got = model(x)
    for name in ("Teacher", "Student"):
        np.testing.assert_allclose(got[name].numpy(), want[name].numpy(), rtol=1e-5, atol=1e-6)
