"""PaddleClas's optimizer keys and learning-rate schedules (Step, MultiStepDecay, Linear, by_epoch, ...)."""

import math

import paddle
import pytest

from paddle_conv.optim import LR_SCHEDULERS, build_optimizer, split_decay


class Net(paddle.nn.Layer):
    def __init__(self):
        super().__init__()
        self.fc = paddle.nn.Linear(3, 2)
        self.norm = paddle.nn.LayerNorm(2)
        self.pos_embed = self.create_parameter([1, 2])


def rates(schedule, n):
    out = []
    for _ in range(n):
        out.append(schedule() if callable(schedule) else schedule)
        schedule.step()
    return out


def build(name, **kwargs):
    return LR_SCHEDULERS.build(name, **kwargs)


def test_no_weight_decay_name_and_one_dim_split():
    named = list(Net().named_parameters())
    decayed, plain = split_decay(named, "norm pos_embed")
    assert {p.name for p in plain} == {p.name for n, p in named if n.startswith(("norm", "pos_embed"))}
    decayed, plain = split_decay(named, None, one_dim_param_no_weight_decay=True)
    assert all(len(p.shape) == 1 for p in plain) and all(len(p.shape) > 1 for p in decayed)


def test_adamw_exempts_parameters_from_decay():
    net = Net()
    cfg = {"name": "AdamW", "weight_decay": 0.5, "no_weight_decay_name": "pos_embed",
           "one_dim_param_no_weight_decay": True, "clip_norm": 1.0, "lr": {"name": "Constant", "learning_rate": 0.0}}
    opt, _ = build_optimizer(cfg, net, 1, 1)
    before = {n: p.numpy().copy() for n, p in net.named_parameters()}
    loss = (net.fc(paddle.ones([1, 3])).sum() + net.pos_embed.sum() + net.norm.weight.sum())
    loss.backward()
    opt.step()  # lr 0: only decoupled decay (lr * coeff) could move a weight, and lr is 0 -> nothing moves
    assert all((p.numpy() == before[n]).all() for n, p in net.named_parameters())
    assert isinstance(opt._grad_clip, paddle.nn.ClipGradByGlobalNorm)
    exempt = {p.name for n, p in net.named_parameters() if n == "pos_embed" or len(p.shape) == 1}
    assert all(not opt._apply_decay_param_fun(name) for name in exempt)
    assert opt._apply_decay_param_fun(net.fc.weight.name)


@pytest.mark.parametrize("name,extra", [("Momentum", {"momentum": 0.9}), ("RMSProp", {"rho": 0.9, "epsilon": 1e-3}),
                                        ("Adam", {})])
def test_coupled_regularizer_skips_exempt_parameters_through_minimize(name, extra):
    """paddle.Model steps with ``minimize`` (which Paddle 3.3 cannot run on parameter groups)."""
    net = Net()
    cfg = {"name": name, **extra, "no_weight_decay_name": "norm", "one_dim_param_no_weight_decay": True,
           "lr": {"name": "Constant", "learning_rate": 0.1}, "regularizer": {"name": "L2", "coeff": 0.5}}
    opt, _ = build_optimizer(cfg, net, 1, 1)
    assert isinstance(opt, getattr(paddle.optimizer, name))
    for param in net.parameters():
        paddle.nn.initializer.Constant(1.0)(param)
    loss = 0.0 * sum(p.sum() for p in net.parameters())  # zero gradients: only decay moves weights
    loss.backward()
    opt.minimize(loss)
    moved = {n for n, p in net.named_parameters() if not (p.numpy() == 1.0).all()}
    assert moved == {"fc.weight", "pos_embed"}  # fc.bias is 1-D, norm.* named: exempt


def test_step_multistep_linear_cosine_by_iteration():
    step = build("Step", learning_rate=1.0, step_size=1.5, gamma=0.5, step_each_epoch=2, epochs=4)
    assert rates(step, 7) == [1, 1, 1, 0.5, 0.5, 0.5, 0.25]
    multi = build("MultiStepDecay", learning_rate=1.0, milestones=[1, 3], step_each_epoch=2, epochs=4)
    assert rates(multi, 8) == pytest.approx([1, 1, 0.1, 0.1, 0.1, 0.1, 0.01, 0.01])
    linear = build("Linear", learning_rate=1.0, end_lr=0.0, step_each_epoch=2, epochs=2)
    assert rates(linear, 4) == pytest.approx([1, 0.75, 0.5, 0.25])
    cosine = build("Cosine", learning_rate=1.0, step_each_epoch=2, epochs=3, warmup_epoch=1, warmup_start_lr=0.0)
    got = rates(cosine, 6)
    assert got[:2] == pytest.approx([0.0, 0.5])
    half_cos = [0.5 * (1 + math.cos(math.pi * i / 4)) for i in range(4)]
    assert got[2:] == pytest.approx(half_cos)


def test_by_epoch_holds_the_rate_within_an_epoch_and_last_epoch_starts_later():
    cosine = build("Cosine", learning_rate=1.0, step_each_epoch=3, epochs=2, by_epoch=True)
    assert rates(cosine, 6) == pytest.approx([1, 1, 1, 0.5 * (1 + math.cos(math.pi / 2))] * 1 + [0.5] * 2)
    warm = build("Piecewise", decay_epochs=[2], values=[1.0, 0.1], step_each_epoch=2, epochs=3, by_epoch=True,
                 warmup_epoch=1, warmup_start_lr=0.0)
    # boundaries count after the warm-up (paddle's LinearWarmup, as in PaddleClas)
    assert rates(warm, 8) == pytest.approx([0, 0, 1, 1, 1, 1, 0.1, 0.1])
    later = build("MultiStepDecay", learning_rate=1.0, milestones=[1], step_each_epoch=2, epochs=2, last_epoch=1)
    assert rates(later, 2) == pytest.approx([0.1, 0.1])


def test_piecewise_learning_rate_is_paddleclas_30_epoch_rule():
    lr = build("Piecewise", learning_rate=0.1, decay_epochs=[1], values=[0.1, 0.01], step_each_epoch=1, epochs=65)
    got = rates(lr, 65)
    assert got[29] == pytest.approx(0.1) and got[30] == pytest.approx(0.01) and got[60] == pytest.approx(0.001)
