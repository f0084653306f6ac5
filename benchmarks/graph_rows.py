"""End-to-end rows with CUDA graphs: the training steps of train_rows (LeNet-5 and the BN CNN,
plain SGD) captured once and replayed per batch, in gpugrad (gpugrad.cuda.graph) and in PyTorch
(torch.cuda.graph, its documented whole-network pattern). Compare with the eager rows of the
"train" group, measured in the same run. GPU only: a CPU has no graphs.
"""
import numpy as np

from .row import Row, rotate, sets_for
from .train_rows import CLASSES, LR, MODELS, _check_loss, init, sgd_step

WARMUP = 3  # eager steps before the capture, as PyTorch's docs do


def graph_rows(device, quick):
    if device != "cuda":
        return []
    return [graph_row(model, batch) for model in MODELS for batch in ([8] if quick else [64, 256])]


def graph_row(model, batch):
    """samples/s of one replayed SGD step at `batch` (a copy of the next batch into the static
    inputs, then the replay)."""
    def prepare(dev):
        params, stats = init(model)
        rng = np.random.default_rng(batch)
        batches = [(rng.standard_normal((batch, 1, 28, 28), np.float32),
                    rng.integers(0, CLASSES, batch)) for _ in range(sets_for(batch * 28 * 28 * 4))]
        try:
            calls = {"gpugrad": _gpugrad_graphed(dev, model, params, stats, batches)}
        except Exception as e:  # e.g. a cuBLAS call inside the capture
            calls = {"gpugrad": f"capture failed: {type(e).__name__}: {str(e)[:200]}"}
        calls["torch"] = (_torch_graphed(dev, model, params, stats, batches) if dev.torch_ok
                          else f"no PyTorch peer ({dev.torch_error})")
        return calls, _check_loss
    return Row(model, f"graphed, batch {batch}", prepare,
               {"model": model, "batch": batch, "lr": LR, "optimizer": "plain SGD", "cuda_graph": True},
               api="Tensor API", samples=batch)


def _graphed(F, no_grad, tensor, graph_api, model, params, stats, batches):
    """Static inputs, WARMUP eager steps, one captured step; the call copies a batch in and replays."""
    p = {k: tensor(v, grad=True) for k, v in params.items()}
    s = {k: tensor(v) for k, v in stats.items()}
    data = [(tensor(x), tensor(y)) for x, y in batches]
    static_x, static_y = tensor(batches[0][0]), tensor(batches[0][1])

    def step():
        return sgd_step(F, no_grad, model, p, s, static_x, static_y)
    def eager():
        for t in p.values():
            t.grad = None
        return step()
    graph_api.warmup(eager, WARMUP)
    for t in p.values():
        t.grad = None  # the captured backward allocates the gradients from the graph's pool
    graph, holder = graph_api.capture(step)

    def replay(x, y):
        static_x.copy_(x)
        static_y.copy_(y)
        graph.replay()
        return holder[0]
    return rotate([lambda x=x, y=y: replay(x, y) for x, y in data])


class _Gpugrad:
    def __init__(self, gpugrad):
        self.gg = gpugrad

    def warmup(self, step, n):
        for _ in range(n):
            step()
        self.gg.cuda.synchronize()

    def capture(self, step):
        g, holder = self.gg.cuda.CUDAGraph(), []
        with self.gg.cuda.graph(g):
            holder.append(step())
        return g, holder


class _Torch:
    def __init__(self, torch):
        self.torch = torch

    def warmup(self, step, n):
        s = self.torch.cuda.Stream()
        s.wait_stream(self.torch.cuda.current_stream())
        with self.torch.cuda.stream(s):
            for _ in range(n):
                step()
        self.torch.cuda.current_stream().wait_stream(s)

    def capture(self, step):
        g, holder = self.torch.cuda.CUDAGraph(), []
        with self.torch.cuda.graph(g):
            holder.append(step())
        return g, holder


def _gpugrad_graphed(dev, model, params, stats, batches):
    import gpugrad
    import gpugrad.nn.functional as F
    return _graphed(F, gpugrad.no_grad,
                    lambda v, grad=False: gpugrad.tensor(v, device=dev.name, requires_grad=grad),
                    _Gpugrad(gpugrad), model, params, stats, batches)


def _torch_graphed(dev, model, params, stats, batches):
    torch = dev.torch
    return _graphed(torch.nn.functional, torch.no_grad,
                    lambda v, grad=False: dev.torch_tensor(v).requires_grad_(grad),
                    _Torch(torch), model, params, stats, batches)
