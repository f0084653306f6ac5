"""End-to-end rows: one SGD training step (forward, backward, update) of LeNet-5 and of a
two-conv CNN with batch norm, on 28×28 single-channel inputs, in gpugrad and in PyTorch.

gpugrad.nn has no modules yet, so both models are written with functional ops on explicit
parameter tensors; the PyTorch peer is the same code on torch with the same initial values.
"""
import numpy as np

from .row import Row, rotate, sets_for

LR = 0.01
CLASSES = 10
# name -> [(parameter name, shape)]
MODELS = {
    "lenet5": [("c1", (6, 1, 5, 5)), ("c1b", (6,)), ("c2", (16, 6, 5, 5)), ("c2b", (16,)),
               ("f1", (120, 400)), ("f1b", (120,)), ("f2", (84, 120)), ("f2b", (84,)),
               ("f3", (10, 84)), ("f3b", (10,))],
    "cnn_bn": [("c1", (16, 1, 3, 3)), ("g1", (16,)), ("b1", (16,)),
               ("c2", (32, 16, 3, 3)), ("g2", (32,)), ("b2", (32,)),
               ("f1", (10, 32 * 7 * 7)), ("f1b", (10,))],
}
BN_STATS = {"cnn_bn": [("m1", 16), ("v1", 16), ("m2", 32), ("v2", 32)]}


def forward(F, model, p, s, x):
    """Logits of `model` with functional namespace F (gpugrad's or torch's), parameters p and
    batch-norm running statistics s."""
    if model == "lenet5":
        h = F.max_pool2d(F.relu(F.conv2d(x, p["c1"], p["c1b"], padding=2)), 2)
        h = F.max_pool2d(F.relu(F.conv2d(h, p["c2"], p["c2b"])), 2).reshape(x.shape[0], -1)
        h = F.relu(F.linear(h, p["f1"], p["f1b"]))
        return F.linear(F.relu(F.linear(h, p["f2"], p["f2b"])), p["f3"], p["f3b"])
    h = x
    for i in ("1", "2"):
        h = F.conv2d(h, p["c" + i], None, padding=1)
        h = F.batch_norm(h, s["m" + i], s["v" + i], p["g" + i], p["b" + i], training=True)
        h = F.max_pool2d(F.relu(h), 2)
    return F.linear(h.reshape(x.shape[0], -1), p["f1"], p["f1b"])


def init(model, seed=5):
    """Host initial values: He-scaled normal weights, small biases, unit BN scales."""
    rng = np.random.default_rng(seed)
    params = {}
    for name, shape in MODELS[model]:
        if name.startswith("g"):
            params[name] = np.ones(shape, np.float32)
        elif len(shape) == 1:
            params[name] = 0.01 * rng.standard_normal(shape, np.float32)
        else:
            params[name] = rng.standard_normal(shape, np.float32) * np.float32(np.sqrt(2 / np.prod(shape[1:])))
    stats = {name: (np.zeros if name.startswith("m") else np.ones)(c, np.float32)
             for name, c in BN_STATS.get(model, [])}
    return params, stats


def train_rows(device, quick):
    """The end-to-end section (the same rows on every device)."""
    return [train_row(model, batch) for model in MODELS for batch in ([8] if quick else [64, 256])]


def train_row(model, batch):
    """samples/s of one SGD step at `batch` on random inputs and labels."""
    def prepare(dev):
        params, stats = init(model)
        batches = random_batches(batch)
        calls = {"gpugrad": _gpugrad_step(dev, model, params, stats, batches)}
        calls["torch"] = (_torch_step(dev, model, params, stats, batches) if dev.torch_ok
                          else f"no PyTorch peer ({dev.torch_error})")
        return calls, _check_loss
    return Row(model, f"batch {batch}", prepare,
               {"model": model, "batch": batch, "lr": LR, "optimizer": "plain SGD"},
               api="Tensor API", samples=batch)


def random_batches(batch):
    """Random inputs and labels: a few batches to rotate over, or one when a batch is large."""
    rng = np.random.default_rng(batch)
    return [(rng.standard_normal((batch, 1, 28, 28), np.float32), rng.integers(0, CLASSES, batch))
            for _ in range(sets_for(batch * 28 * 28 * 4))]


def _gpugrad_step(dev, model, params, stats, batches):
    import gpugrad
    import gpugrad.nn.functional as F
    return _sgd_steps(F, gpugrad.no_grad,
                      lambda v, grad=False: gpugrad.tensor(v, device=dev.name, requires_grad=grad),
                      model, params, stats, batches)


def _torch_step(dev, model, params, stats, batches):
    torch = dev.torch
    return _sgd_steps(torch.nn.functional, torch.no_grad,
                      lambda v, grad=False: dev.torch_tensor(v).requires_grad_(grad),
                      model, params, stats, batches)


def _sgd_steps(F, no_grad, tensor, model, params, stats, batches):
    """One plain-SGD step per batch, written once for gpugrad and PyTorch (same API)."""
    p = {k: tensor(v, grad=True) for k, v in params.items()}
    s = {k: tensor(v) for k, v in stats.items()}
    data = [(tensor(x), tensor(y)) for x, y in batches]

    def step(x, y):
        for t in p.values():
            t.grad = None
        return sgd_step(F, no_grad, model, p, s, x, y)
    return rotate([lambda x=x, y=y: step(x, y) for x, y in data])


def sgd_step(F, no_grad, model, p, s, x, y):
    """Forward, backward and the plain-SGD update of parameters p (gradients accumulate into
    .grad: the caller clears them); returns the loss."""
    loss = F.cross_entropy(forward(F, model, p, s, x), y)
    loss.backward()
    with no_grad():
        for t in p.values():
            t.sub_(t.grad, alpha=LR)
    return loss


def _check_loss(outs, tol=1e-4):
    """The first step's loss: same initial values and batch, so it must agree."""
    ours, ref = outs.get("gpugrad"), outs.get("torch")
    if ours is None or ref is None:
        return {"status": "unavailable"}
    a, b = float(ours.item()), float(ref.item())
    rel = abs(a - b) / max(abs(b), 1e-12)
    return {"status": "ok" if rel <= tol else "mismatch", "tol": tol, "max_rel": rel,
            "items": [{"name": "first loss", "ours": a, "ref": b}]}
