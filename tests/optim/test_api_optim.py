"""RMSprop, Adagrad, Adadelta and the added schedules against torch.optim: parameters after
several steps (with parameter groups and a parameter without gradient), lr sequences, closures,
add_param_group and state round trips."""
import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import gpugrad  # noqa: E402
from gpugrad import nn, optim  # noqa: E402

from tests.optim.test_optim import _run  # noqa: E402

RMSPROP = [dict(alpha=a, momentum=m, centered=c, weight_decay=w, maximize=x)
           for a, m, c, w, x in itertools.product((0.99, 0.8), (0.0, 0.9), (False, True), (0.0, 0.1), (False, True))]
ADAGRAD = [dict(lr_decay=d, weight_decay=w, initial_accumulator_value=i, maximize=x)
           for d, w, i, x in itertools.product((0.0, 0.1), (0.0, 0.1), (0.0, 0.5), (False, True))]
ADADELTA = [dict(rho=r, weight_decay=w, maximize=x, lr=lr)
            for r, w, x, lr in itertools.product((0.9, 0.5), (0.0, 0.1), (False, True), (1.0, 0.3))]


@pytest.mark.parametrize("kw", RMSPROP, ids=str)
def test_rmsprop(kw):
    _run(lambda ps: optim.RMSprop(ps, lr=0.01, **kw), lambda O: lambda ps: O.RMSprop(ps, lr=0.01, **kw),
         np.random.default_rng(1))


@pytest.mark.parametrize("kw", ADAGRAD, ids=str)
def test_adagrad(kw):
    _run(lambda ps: optim.Adagrad(ps, lr=0.1, **kw), lambda O: lambda ps: O.Adagrad(ps, lr=0.1, **kw),
         np.random.default_rng(2))


@pytest.mark.parametrize("kw", ADADELTA, ids=str)
def test_adadelta(kw):
    _run(lambda ps: optim.Adadelta(ps, **kw), lambda O: lambda ps: O.Adadelta(ps, **kw), np.random.default_rng(3))


@pytest.mark.parametrize("name", ["RMSprop", "Adagrad", "Adadelta"])
def test_groups_and_float32(name):
    _run(lambda ps: getattr(optim, name)(ps), lambda O: lambda ps: getattr(O, name)(ps),
         np.random.default_rng(4), groups=True)
    _run(lambda ps: getattr(optim, name)(ps), lambda O: lambda ps: getattr(O, name)(ps),
         np.random.default_rng(5), dtype="float32")


@pytest.mark.parametrize("name", ["RMSprop", "Adagrad", "Adadelta"])
def test_on_cuda_and_state_dict_round_trip(name):
    """The same steps on simulated cuda; a state_dict loaded into a fresh optimizer continues identically."""
    rng = np.random.default_rng(6)
    init, grads = rng.standard_normal((3, 2)), [rng.standard_normal((3, 2)) for _ in range(4)]
    results = []
    for device in ("cpu", "cuda"):
        p = nn.Parameter(gpugrad.tensor(init, device=device))
        opt = getattr(optim, name)([p], weight_decay=0.1)
        for g in grads[:2]:
            p.grad = gpugrad.tensor(g, device=device)
            opt.step()
        opt2 = getattr(optim, name)([p], weight_decay=0.1)
        opt2.load_state_dict(opt.state_dict())
        for g in grads[2:]:
            p.grad = gpugrad.tensor(g, device=device)
            opt2.step()
        results.append(p.detach().cpu().numpy())
    tp = torch.nn.Parameter(torch.tensor(init))
    topt = getattr(torch.optim, name)([tp], weight_decay=0.1)
    for g in grads:
        tp.grad = torch.tensor(g)
        topt.step()
    for r in results:
        np.testing.assert_allclose(r, tp.detach().numpy(), rtol=1e-12)


def test_step_closure_and_add_param_group():
    w = nn.Parameter(gpugrad.tensor([1.0, -2.0], dtype=gpugrad.float64))
    extra = nn.Parameter(gpugrad.tensor([3.0], dtype=gpugrad.float64))
    opt = optim.SGD([w], lr=0.1)
    opt.add_param_group({"params": [extra], "lr": 0.5, "momentum": 0.9})
    assert opt.param_groups[1]["lr"] == 0.5 and opt.param_groups[1]["momentum"] == 0.9
    assert opt.param_groups[1]["dampening"] == 0.0  # the defaults fill the rest

    def closure():
        opt.zero_grad()
        loss = (w * w).sum() + (extra * extra).sum()
        loss.backward()
        return loss

    with gpugrad.no_grad():  # the closure runs with gradients enabled even so
        loss = opt.step(closure)
    assert loss.item() == 14.0
    np.testing.assert_allclose(w.detach().numpy(), [0.8, -1.6])
    np.testing.assert_allclose(extra.detach().numpy(), [0.0])
    for cls in (optim.Adam, optim.RMSprop, optim.Adagrad, optim.Adadelta):
        assert cls([w]).step(closure).item() > 0


STEPS = 25
SCHEDULES = {
    "multistep": lambda S, o: S.MultiStepLR(o, milestones=[3, 7, 7, 12], gamma=0.5),
    "exponential": lambda S, o: S.ExponentialLR(o, gamma=0.9),
    "lambda": lambda S, o: S.LambdaLR(o, lambda e: 1.0 / (1 + e)),
    "lambda_per_group": lambda S, o: S.LambdaLR(o, [lambda e: 0.9 ** e, lambda e: e + 1]),
    "linear": lambda S, o: S.LinearLR(o, start_factor=0.25, total_iters=6),
    "linear_down": lambda S, o: S.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=10),
    "sequential": lambda S, o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=4),
                                                  S.ExponentialLR(o, gamma=0.8)], milestones=[5]),
    "sequential_three": lambda S, o: S.SequentialLR(o, [S.ExponentialLR(o, gamma=0.5), S.MultiStepLR(o, [2, 4]),
                                                        S.LinearLR(o, start_factor=0.5, total_iters=3)],
                                                    milestones=[3, 10]),
}


def _lrs(lib, make):
    params = [{"params": [lib.nn.Parameter(lib.ones(2))], "lr": 0.1},
              {"params": [lib.nn.Parameter(lib.ones(2))], "lr": 0.03}]
    opt = lib.optim.SGD(params, lr=0.1, momentum=0.9)
    sched = make(lib.optim.lr_scheduler, opt)
    out = [sched.get_last_lr()]
    for _ in range(STEPS):
        opt.step()
        sched.step()
        out.append(sched.get_last_lr())
    return out


@pytest.mark.parametrize("name", SCHEDULES)
def test_schedules_match_torch(name):
    np.testing.assert_allclose(_lrs(gpugrad, SCHEDULES[name]), _lrs(torch, SCHEDULES[name]), rtol=1e-12)


@pytest.mark.parametrize("kw", [dict(), dict(mode="max", factor=0.5, patience=2, cooldown=1),
                                dict(patience=1, threshold_mode="abs", threshold=0.1, min_lr=[0.02, 0.001])],
                         ids=str)
def test_reduce_on_plateau_matches_torch(kw):
    metrics = [1.0, 0.9, 0.95, 0.95, 0.96, 0.97, 0.89, 0.9, 0.9, 0.9, 0.9, 1.2, 0.5, 0.5, 0.5, 0.5] * 2
    trace = []
    for lib in (gpugrad, torch):
        params = [{"params": [lib.nn.Parameter(lib.ones(2))], "lr": 0.1},
                  {"params": [lib.nn.Parameter(lib.ones(2))], "lr": 0.01}]
        opt = lib.optim.SGD(params, lr=0.1)
        sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
        out = []
        for m in metrics:
            sched.step(m)
            out.append(list(sched.get_last_lr()))
        trace.append(out)
    np.testing.assert_allclose(trace[0], trace[1], rtol=1e-12)


def test_scheduler_state_dict_round_trip():
    for name in ("sequential", "lambda", "multistep"):
        p = nn.Parameter(gpugrad.ones(2))
        opt = optim.SGD([p], lr=0.1)
        sched = SCHEDULES[name](optim.lr_scheduler, opt)
        for _ in range(6):
            sched.step()
        state = sched.state_dict()
        p2 = nn.Parameter(gpugrad.ones(2))
        opt2 = optim.SGD([p2], lr=0.1)
        sched2 = SCHEDULES[name](optim.lr_scheduler, opt2)  # PyTorch's resume order: build, then load
        opt2.load_state_dict(opt.state_dict())
        sched2.load_state_dict(state)
        for _ in range(6):
            sched.step()
            sched2.step()
            assert sched.get_last_lr() == sched2.get_last_lr()
