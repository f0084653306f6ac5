"""Train a small dense network of gpugrad.Value scalars on two interleaving moons.

Every weight is a `gpugrad.Value` (micrograd's scalar API, as in ToyGrad's "Explanation of the
AutoGrad Algorithm") running on gpugrad's one
Tensor autograd engine. The network is 2 -> 8 -> 8 -> 1 with tanh hidden units, trained
with a hinge loss by plain per-sample SGD; it prints the loss of each epoch and the final
accuracy on the training set.

    python examples/value_classifier.py [--epochs 8] [--points 100] [--seed 0]

Scalar autograd costs tens of microseconds per node, so the network is kept small: a
2 -> 16 -> 16 -> 1 network takes about three times as long per epoch.
"""
import argparse
import random
import time

import numpy as np

from gpugrad import Value


def make_moons(n, noise=0.1, seed=0):
    """Two interleaving half circles (scikit-learn's make_moons), labels -1 and +1."""
    rng = np.random.default_rng(seed)
    n_top = n // 2
    n_bottom = n - n_top
    t_top = np.linspace(0, np.pi, n_top)
    t_bottom = np.linspace(0, np.pi, n_bottom)
    top = np.stack([np.cos(t_top), np.sin(t_top)], axis=1)
    bottom = np.stack([1 - np.cos(t_bottom), 0.5 - np.sin(t_bottom)], axis=1)
    x = np.concatenate([top, bottom]) + rng.normal(0.0, noise, (n, 2))
    y = np.concatenate([-np.ones(n_top), np.ones(n_bottom)])
    # centre and scale the inputs so tanh units start in their linear range
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    return x, y


class Neuron:
    def __init__(self, n_in, rng, nonlinear=True):
        scale = 1.0 / n_in ** 0.5
        self.w = [Value(rng.uniform(-scale, scale) * 2) for _ in range(n_in)]
        self.b = Value(0.0)
        self.nonlinear = nonlinear

    def __call__(self, x):
        act = self.b
        for wi, xi in zip(self.w, x):
            act = act + wi * xi
        return act.tanh() if self.nonlinear else act

    def parameters(self):
        return self.w + [self.b]


class Layer:
    def __init__(self, n_in, n_out, rng, nonlinear=True):
        self.neurons = [Neuron(n_in, rng, nonlinear) for _ in range(n_out)]

    def __call__(self, x):
        return [n(x) for n in self.neurons]

    def parameters(self):
        return [p for n in self.neurons for p in n.parameters()]


class MLP:
    def __init__(self, sizes, rng):
        self.layers = [Layer(sizes[i], sizes[i + 1], rng, nonlinear=i < len(sizes) - 2)
                       for i in range(len(sizes) - 1)]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x[0]

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]


def hinge(score, label):
    """max(0, 1 - y·score): zero once a point is on the right side with margin 1."""
    return (1 - label * score).relu()


def accuracy(model, x, y):
    return float(np.mean([(model([float(a), float(b)]).data > 0) == (yi > 0) for (a, b), yi in zip(x, y)]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--points", type=int, default=100)
    parser.add_argument("--hidden", type=int, default=8)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    x, y = make_moons(args.points, noise=0.1, seed=args.seed)
    rng = random.Random(args.seed)
    model = MLP([2, args.hidden, args.hidden, 1], rng)
    params = model.parameters()
    print(f"{len(params)} Value parameters, {len(x)} points, {args.epochs} epochs")

    start = time.perf_counter()
    order = list(range(len(x)))
    for epoch in range(args.epochs):
        rng.shuffle(order)
        lr = args.lr * (1.0 - 0.9 * epoch / max(args.epochs - 1, 1))  # linear decay to lr/10
        total = 0.0
        for i in order:
            loss = hinge(model([float(x[i, 0]), float(x[i, 1])]), float(y[i]))
            loss.backward()
            for p in params:
                p.data -= lr * p.grad
                p.grad = 0.0
            total += loss.data
        print(f"epoch {epoch + 1:2d}  loss {total / len(x):.4f}", flush=True)

    acc = accuracy(model, x, y)
    print(f"trained in {time.perf_counter() - start:.1f} s")
    print(f"accuracy: {acc:.3f}")
    return acc


if __name__ == "__main__":
    main()
