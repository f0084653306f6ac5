"""Optimizers against torch.optim: the same parameters and gradients for several steps must
give the same parameters; state_dict round trips continue identically."""
import itertools

import numpy as np
import pytest

import gpugrad
from gpugrad import nn, optim

SHAPES = [(4, 3), (3,), (2, 3, 2, 2)]
STEPS = 6


def _params(rng, dtype="float64"):
    return [rng.standard_normal(s).astype(dtype) for s in SHAPES]


def _grads(rng, step):
    """Gradients per step; the last parameter gets none on odd steps (it must be skipped)."""
    gs = [rng.standard_normal(s) for s in SHAPES]
    if step % 2:
        gs[-1] = None
    return gs


def _run(make_ours, make_theirs, rng, dtype="float64", groups=False):
    torch = pytest.importorskip("torch")
    init = _params(rng, dtype)
    ours = [nn.Parameter(gpugrad.tensor(a)) for a in init]
    theirs = [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in init]
    wrap = (lambda ps: [{"params": ps[:1], "lr": 0.05}, {"params": ps[1:]}]) if groups else (lambda ps: ps)
    opt, topt = make_ours(wrap(ours)), make_theirs(torch.optim)(wrap(theirs))
    for step in range(STEPS):
        for p, tp, g in zip(ours, theirs, _grads(rng, step)):
            p.grad = None if g is None else gpugrad.tensor(g.astype(dtype))
            tp.grad = None if g is None else torch.from_numpy(g.astype(dtype))
        opt.step()
        topt.step()
    tol = dict(rtol=1e-12, atol=1e-14) if dtype == "float64" else dict(rtol=2e-6, atol=1e-6)
    for i, (p, tp) in enumerate(zip(ours, theirs)):
        assert p.dtype == np.dtype(dtype)
        np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), err_msg=f"param {i}", **tol)
    return opt


SGD_OPTIONS = [dict(momentum=m, dampening=d, nesterov=n, weight_decay=w, maximize=x)
               for m, d, n, w, x in itertools.product((0.0, 0.9), (0.0, 0.3), (False, True), (0.0, 0.1),
                                                      (False, True))
               if not (n and (m == 0 or d != 0))]


@pytest.mark.parametrize("kw", SGD_OPTIONS, ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()))
def test_sgd_matches_pytorch(kw, rng):
    _run(lambda ps: optim.SGD(ps, lr=0.1, **kw), lambda o: lambda ps: o.SGD(ps, lr=0.1, **kw), rng)


ADAM_OPTIONS = [dict(weight_decay=w, amsgrad=a, maximize=x)
                for w, a, x in itertools.product((0.0, 0.1), (False, True), (False, True))]


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
@pytest.mark.parametrize("kw", ADAM_OPTIONS, ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()))
def test_adam_matches_pytorch(name, kw, rng):
    kw = dict(kw, lr=0.01, betas=(0.8, 0.99), eps=1e-6)
    _run(lambda ps: getattr(optim, name)(ps, **kw), lambda o: lambda ps: getattr(o, name)(ps, **kw), rng)


@pytest.mark.parametrize("name, kw", [("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-2)),
                                      ("Adam", dict(lr=1e-3)), ("AdamW", dict(lr=1e-3))])
def test_float32_and_param_groups_match_pytorch(name, kw, rng):
    opt = _run(lambda ps: getattr(optim, name)(ps, **kw), lambda o: lambda ps: getattr(o, name)(ps, **kw),
               rng, dtype="float32", groups=True)
    assert [g["lr"] for g in opt.param_groups] == [0.05, kw["lr"]]
    assert all(t.dtype == np.float32 for s in opt.state.values() for t in s.values() if hasattr(t, "dtype"))


def test_defaults_match_pytorch():
    torch = pytest.importorskip("torch")
    p, tp = nn.Parameter(gpugrad.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    for name in ("SGD", "Adam", "AdamW"):
        ours, theirs = getattr(optim, name)([p]).defaults, getattr(torch.optim, name)([tp]).defaults
        assert {k: ours[k] for k in ours} == {k: theirs[k] for k in ours}, name


def test_zero_grad_and_argument_checks():
    p = nn.Parameter(gpugrad.ones(2))
    opt = optim.SGD([p], lr=0.1)
    p.grad = gpugrad.ones(2)
    opt.zero_grad(set_to_none=False)
    assert p.grad.tolist() == [0, 0]
    opt.zero_grad()
    assert p.grad is None
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.Adam([p * 2])
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([p], lr=0.1, nesterov=True)


def _as_npz_values(sd):
    """What an .npz round trip gives back: every leaf a NumPy array."""
    return {"state": {str(k): {n: np.asarray(v) for n, v in s.items()} for k, s in sd["state"].items()},
            "param_groups": [{k: np.asarray(v) for k, v in g.items()} for g in sd["param_groups"]]}


@pytest.mark.parametrize("make", [lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
                                  lambda ps: optim.Adam(ps, lr=0.01, amsgrad=True),
                                  lambda ps: optim.AdamW([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.1}])])
@pytest.mark.parametrize("as_arrays", [False, True])
def test_state_dict_round_trip_continues_identically(make, as_arrays, rng):
    init = _params(rng)
    a = [nn.Parameter(gpugrad.tensor(x)) for x in init]
    opt_a = make(a)
    grads = [[gpugrad.tensor(g) for g in _grads(rng, 0)] for _ in range(6)]

    def step(params, opt, gs):
        for p, g in zip(params, gs):
            p.grad = g
        opt.step()

    for gs in grads[:3]:
        step(a, opt_a, gs)
    sd = opt_a.state_dict()
    assert set(sd) == {"state", "param_groups"} and sorted(sd["state"]) == [0, 1, 2]
    b = [nn.Parameter(gpugrad.tensor(p.detach().numpy())) for p in a]
    opt_b = make(b)
    opt_b.load_state_dict(_as_npz_values(sd) if as_arrays else sd)
    assert opt_b.param_groups[-1]["lr"] == opt_a.param_groups[-1]["lr"]
    for gs in grads[3:]:
        step(a, opt_a, gs)
        step(b, opt_b, gs)
    for p, q in zip(a, b):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


def test_load_state_dict_checks_group_sizes():
    p, q = nn.Parameter(gpugrad.ones(1)), nn.Parameter(gpugrad.ones(1))
    sd = optim.SGD([p, q], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="group 0 has 2 parameters"):
        optim.SGD([p], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="1 parameter groups"):
        optim.SGD([{"params": [p]}, {"params": [q]}], lr=0.1).load_state_dict(sd)


def test_training_a_small_model_reduces_the_loss():
    gpugrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1))
    opt = optim.Adam(model.parameters(), lr=0.05)
    x = gpugrad.randn(64, 2)
    y = (x[:, :1] * x[:, 1:]).detach()
    losses = []
    for _ in range(60):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < 0.3 * losses[0]


def test_optimizer_keeps_working_after_module_to():
    """Module.to replaces arrays in place, so the optimizer's parameters are still the model's."""
    model = nn.Linear(3, 2)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model.double()
    model(gpugrad.randn(4, 3, dtype=gpugrad.float64)).sum().backward()
    before = model.weight.detach().numpy()
    opt.step()
    assert model.weight.dtype == gpugrad.float64
    np.testing.assert_allclose(model.weight.detach().numpy(), before - 0.1 * model.weight.grad.numpy())
