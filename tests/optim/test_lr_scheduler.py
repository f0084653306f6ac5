"""Schedulers: the lr (and momentum) sequences equal torch.optim.lr_scheduler's; state round trips."""
import math

import pytest

import gpugrad
from gpugrad import nn, optim
from gpugrad.optim import lr_scheduler

STEPS = 30
SCHEDULES = {
    "step": lambda S, o: S.StepLR(o, step_size=4, gamma=0.5),
    "cosine": lambda S, o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.001),  # runs past T_max
    "one_cycle": lambda S, o: S.OneCycleLR(o, max_lr=0.5, total_steps=STEPS),
    "one_cycle_epochs_linear": lambda S, o: S.OneCycleLR(o, max_lr=[0.5, 0.2], epochs=3, steps_per_epoch=10,
                                                         anneal_strategy="linear", pct_start=0.25),
    "one_cycle_three_phase_no_momentum": lambda S, o: S.OneCycleLR(o, max_lr=0.3, total_steps=STEPS,
                                                                   three_phase=True, cycle_momentum=False),
}
OPTIMIZERS = {"sgd": lambda O, ps: O.SGD(ps, lr=0.1, momentum=0.9),
              "adam": lambda O, ps: O.Adam(ps, lr=0.1)}


def _groups(make_param):
    return [{"params": [make_param()]}, {"params": [make_param()], "lr": 0.05}]


def _trace(opt, sched, steps):
    out = []
    for _ in range(steps):
        opt.step()
        sched.step()
        out.append((sched.get_last_lr(), [g.get("momentum", g.get("betas", (None,))[0]) for g in opt.param_groups]))
    return out


@pytest.mark.parametrize("opt_name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_sequences_match_pytorch(name, opt_name):
    torch = pytest.importorskip("torch")
    opt = OPTIMIZERS[opt_name](optim, _groups(lambda: nn.Parameter(gpugrad.zeros(1))))
    topt = OPTIMIZERS[opt_name](torch.optim, _groups(lambda: torch.nn.Parameter(torch.zeros(1))))
    sched, tsched = SCHEDULES[name](lr_scheduler, opt), SCHEDULES[name](torch.optim.lr_scheduler, topt)
    assert sched.get_last_lr() == tsched.get_last_lr()
    steps = STEPS if name.startswith("one_cycle") else STEPS - 1
    for (lrs, moms), (tlrs, tmoms) in zip(_trace(opt, sched, steps), _trace(topt, tsched, steps)):
        assert lrs == pytest.approx(tlrs, rel=1e-14, abs=1e-17)
        assert moms == pytest.approx(tmoms, rel=1e-14)


def test_one_cycle_defaults_and_overrun():
    opt = optim.SGD([nn.Parameter(gpugrad.zeros(1))], lr=1.0, momentum=0.9)
    sched = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10)
    group = opt.param_groups[0]
    assert group["lr"] == pytest.approx(1.0 / 25) and group["min_lr"] == 1.0 / 25 / 1e4
    assert group["momentum"] == 0.95
    lrs = [sched.get_last_lr()[0]] + [(sched.step(), sched.get_last_lr()[0])[1] for _ in range(9)]
    assert max(lrs) == lrs[2] == 1.0 and lrs[-1] == pytest.approx(1.0 / 25 / 1e4)
    sched.step()
    with pytest.raises(ValueError, match="Tried to step 11 times"):
        sched.step()
    with pytest.raises(ValueError, match="total_steps OR"):
        lr_scheduler.OneCycleLR(opt, max_lr=1.0)

    class Plain(optim.Optimizer):  # neither momentum nor betas
        def __init__(self, params):
            super().__init__(params, dict(lr=0.1))
    with pytest.raises(ValueError, match="momentum or beta1"):
        lr_scheduler.OneCycleLR(Plain([nn.Parameter(gpugrad.zeros(1))]), 1.0, 10)


def test_cosine_closed_form_within_first_period():
    opt = optim.SGD([nn.Parameter(gpugrad.zeros(1))], lr=1.0)
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=8)
    for t in range(1, 9):
        sched.step()
        assert sched.get_last_lr()[0] == pytest.approx((1 + math.cos(math.pi * t / 8)) / 2, abs=1e-12)


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_state_dict_round_trip(name):
    def make():
        opt = optim.SGD(_groups(lambda: nn.Parameter(gpugrad.zeros(1))), lr=0.1, momentum=0.9)
        return opt, SCHEDULES[name](lr_scheduler, opt)

    opt, sched = make()
    for _ in range(7):
        sched.step()
    opt2, sched2 = make()
    opt2.load_state_dict(opt.state_dict())
    sched2.load_state_dict(sched.state_dict())
    assert "optimizer" not in sched.state_dict()
    assert _trace(opt, sched, 10) == _trace(opt2, sched2, 10)
