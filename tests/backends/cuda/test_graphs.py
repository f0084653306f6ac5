"""CUDA graphs on the simulated device: capture records without running, replay re-runs the
captured work on the captured buffers, host synchronisations during capture raise."""
import numpy as np
import pytest

import gpugrad as gg
from gpugrad import nn
from gpugrad.models import cnn, lenet


def _step(model, opt, x, y):
    opt.zero_grad(set_to_none=True)
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss


SIDE = {lenet: 12, cnn: 4}  # the smallest images each takes: the emulator is slow


def _setup(make_model, make_opt, seed=0):
    gg.manual_seed(seed)
    side = SIDE[make_model]
    model = make_model((1, side, side), classes=3).to("cuda")
    return model, make_opt(model.parameters())


def _batches(n, side, seed=1):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((2, 1, side, side)).astype(np.float32), rng.integers(0, 3, 2))
            for _ in range(n)]


def _params(model):
    return [p.detach().numpy() for p in model.parameters()]


OPTIMIZERS = {
    "sgd_momentum": lambda ps: gg.optim.SGD(ps, lr=0.05, momentum=0.9),
    "adamw": lambda ps: gg.optim.AdamW(ps, lr=1e-2, capturable=True),
}


@pytest.mark.parametrize("make_model", [lenet, cnn], ids=["lenet", "cnn"])
@pytest.mark.parametrize("opt_name", sorted(OPTIMIZERS))
def test_replays_match_eager_steps(make_model, opt_name):
    """PyTorch's whole-network pattern: warm-up steps, capture one step, replay per batch."""
    batches = _batches(3, SIDE[make_model])
    runs = []
    for graphed in (False, True):
        model, opt = _setup(make_model, OPTIMIZERS[opt_name])
        static_x = gg.tensor(batches[0][0], device="cuda")
        static_y = gg.tensor(batches[0][1], device="cuda")
        _step(model, opt, static_x, static_y)  # warm-up (eager)
        before = _params(model)
        if graphed:
            g = gg.cuda.CUDAGraph()
            opt.zero_grad(set_to_none=True)
            with gg.cuda.graph(g):
                _step(model, opt, static_x, static_y)
            for a, b in zip(before, _params(model)):
                np.testing.assert_array_equal(a, b)  # capturing ran nothing
        for x, y in batches[1:]:
            static_x.copy_(gg.tensor(x, device="cuda"))
            static_y.copy_(gg.tensor(y, device="cuda"))
            g.replay() if graphed else _step(model, opt, static_x, static_y)
        runs.append(_params(model))
    assert any(not np.allclose(a, b) for a, b in zip(before, runs[0]))
    for eager, replayed in zip(*runs):
        np.testing.assert_allclose(replayed, eager, rtol=2e-4, atol=2e-5)


def test_capture_does_not_run_and_replay_does():
    x = gg.ones(3, device="cuda")
    y = gg.zeros(3, device="cuda")
    g = gg.cuda.CUDAGraph()
    with gg.cuda.graph(g):
        y.add_(x * 2)
    np.testing.assert_array_equal(y.numpy(), 0)
    g.replay()
    g.replay()
    np.testing.assert_array_equal(y.numpy(), 4)
    x.fill_(5)  # replay reads the captured buffers' current contents
    g.replay()
    np.testing.assert_array_equal(y.numpy(), 14)


def test_the_graph_keeps_its_buffers():
    """An output made during capture stays the graph's: dropping the Python name frees nothing."""
    x = gg.ones(3, device="cuda")
    g = gg.cuda.CUDAGraph()
    with gg.cuda.graph(g):
        out = x * 3 + 1
    keep = out
    del out
    g.replay()
    np.testing.assert_array_equal(keep.numpy(), 4)


@pytest.mark.parametrize("op,call", [
    ("Tensor.item()", lambda t: t.sum().item()),
    ("Tensor.numpy()", lambda t: t.numpy()),
    ("Tensor.tolist()", lambda t: t.tolist()),
    ("Tensor.item()", lambda t: float(t.sum())),
    ("bool()", lambda t: bool((t._data > 0).any())),
    ("synchronize", lambda t: gg.cuda.synchronize()),
])
def test_host_sync_during_capture_raises(op, call):
    x = gg.ones(3, device="cuda")
    y = gg.zeros(3, device="cuda")
    g = gg.cuda.CUDAGraph()
    with pytest.raises(RuntimeError, match="during CUDA graph capture") as info:
        with gg.cuda.graph(g):
            y.add_(x)
            call(x)
    assert op in str(info.value)
    np.testing.assert_array_equal(y.numpy(), 0)  # the aborted capture restored what it wrote
    assert not gg.cuda.is_current_stream_capturing()


def test_replay_before_capture_and_double_capture_raise():
    g = gg.cuda.CUDAGraph()
    with pytest.raises(RuntimeError, match="nothing captured"):
        g.replay()
    x = gg.ones(2, device="cuda")
    with gg.cuda.graph(g):
        x.mul_(2)
    with pytest.raises(RuntimeError, match="already captured"):
        with gg.cuda.graph(g):
            x.mul_(2)
    with pytest.raises(TypeError, match="CUDAGraph"):
        with gg.cuda.graph(object()):
            pass


@pytest.mark.parametrize("make_opt", [
    lambda ps, lr: gg.optim.Adam(ps, lr=lr, capturable=True),
    lambda ps, lr: gg.optim.AdamW(ps, lr=lr, amsgrad=True, fused=True),  # one launch for w and b
], ids=["capturable", "fused"])
def test_capturable_adam_follows_a_scheduler_without_recapture(make_opt):
    """lr as a device tensor: the scheduler sets it in place and the replayed step uses it."""
    def run(graphed):
        gg.manual_seed(0)
        x = gg.randn(4, 3, device="cuda")
        w = gg.randn(3, 2, device="cuda", requires_grad=True)
        b = gg.randn(2, device="cuda", requires_grad=True)
        opt = make_opt([w, b], gg.tensor(0.1, device="cuda"))
        sched = gg.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)

        def step():
            opt.zero_grad(set_to_none=True)
            ((x @ w + b).relu() ** 2).sum().backward()
            opt.step()
        step()
        sched.step()
        g = gg.cuda.CUDAGraph()
        if graphed:
            opt.zero_grad(set_to_none=True)
            before = w.detach().numpy()
            with gg.cuda.graph(g):
                step()
            np.testing.assert_array_equal(w.detach().numpy(), before)  # capturing updated nothing
        for _ in range(3):
            g.replay() if graphed else step()
            sched.step()
        return [t.detach().numpy() for t in (w, b)], [float(opt.state[t]["step"]) for t in (w, b)]
    (eager, eager_steps), (replayed, replayed_steps) = run(False), run(True)
    assert eager_steps == replayed_steps == [4, 4]
    for r, e in zip(replayed, eager):
        np.testing.assert_allclose(r, e, rtol=1e-6, atol=1e-7)


def test_sgd_reads_lr_and_momentum_from_device_tensors_set_between_replays():
    """What the train command's captured SGD step relies on: replays follow lr and momentum
    written in place, as eager steps with the same numbers as floats do."""
    schedule = [(0.1, 0.9), (0.05, 0.8), (0.02, 0.5), (0.01, 0.95)]

    def run(graphed):
        gg.manual_seed(0)
        x = gg.randn(4, 3, device="cuda")
        w = gg.randn(3, 2, device="cuda", requires_grad=True)
        lr, momentum = gg.tensor(0.0, device="cuda"), gg.tensor(0.0, device="cuda")
        opt = gg.optim.SGD([w], lr=0.1, momentum=0.9, nesterov=True)

        def step():
            opt.zero_grad(set_to_none=True)
            ((x @ w).relu() ** 2).sum().backward()
            opt.step()
        step()  # makes the momentum buffer
        g = gg.cuda.CUDAGraph()
        if graphed:
            opt.param_groups[0].update(lr=lr, momentum=momentum)
            opt.zero_grad(set_to_none=True)
            with gg.cuda.graph(g):
                step()
        for lr_value, momentum_value in schedule:
            if graphed:
                lr.fill_(lr_value)
                momentum.fill_(momentum_value)
                g.replay()
            else:
                opt.param_groups[0].update(lr=lr_value, momentum=momentum_value)
                step()
        return w.detach().numpy()
    np.testing.assert_allclose(run(True), run(False), rtol=1e-6, atol=1e-7)


def test_dropout_draws_new_masks_on_every_replay():
    x = gg.ones(64, device="cuda")
    out = gg.zeros(64, device="cuda")
    g = gg.cuda.CUDAGraph()
    with gg.cuda.graph(g):
        out.copy_(nn.functional.dropout(x, 0.5))
    masks = []
    for _ in range(3):
        g.replay()
        masks.append(out.numpy().copy())
    for m in masks:
        assert set(np.unique(m)) <= {0.0, 2.0} and 10 < (m > 0).sum() < 54
    assert not np.array_equal(masks[0], masks[1]) and not np.array_equal(masks[1], masks[2])


def test_capture_takes_our_kernels_even_when_cublas_is_asked_for(monkeypatch):
    """CuPy can't capture cuBLAS: inside a capture every routed function takes our kernel."""
    from gpugrad.backends import algorithms, cuda as cuda_backend
    kernels = gg.ones(1, device="cuda").backend.kernels
    monkeypatch.setattr(cuda_backend, "use_cublas", True)
    assert algorithms.choose(kernels, "matmul") == "cublas"
    taken = {}
    with gg.cuda.graph(gg.cuda.CUDAGraph()):
        for name in algorithms.CAPTURABLE:
            taken[name] = algorithms.choose(kernels, name)
    assert taken == algorithms.CAPTURABLE
    assert "cublas" not in taken.values()


def test_the_profiler_sees_one_graph_launch_per_replay():
    """Replays are single launches: 3 "graph" events and no kernel, library or op event from
    inside them, while the same step run eagerly is many kernel launches."""
    from gpugrad import profiler
    model, opt = _setup(lenet, OPTIMIZERS["adamw"])
    (x, y), = _batches(1, SIDE[lenet])
    static_x, static_y = gg.tensor(x, device="cuda"), gg.tensor(y, device="cuda")
    with profiler.profile() as eager:
        _step(model, opt, static_x, static_y)
    assert sum(e.kind == "kernel" for e in eager.events()) > 10
    g = gg.cuda.CUDAGraph()
    opt.zero_grad(set_to_none=True)
    with gg.cuda.graph(g):
        _step(model, opt, static_x, static_y)
    with profiler.profile() as prof:
        for _ in range(3):
            g.replay()
    assert [(e.kind, e.name, e.device) for e in prof.events()] == [("graph", "cudaGraphLaunch", "cuda")] * 3
    assert "cudaGraphLaunch" in prof.table()
