"""What a run leaves in --out: metrics.json (each epoch) and a PNG plot, both written atomically."""
import json
import os

from ..serialization import atomic_write


def write_metrics(out, settings, epochs):
    """metrics.json: {"settings": {...}, "epochs": [{"epoch", "train_loss", ...}, ...]}."""
    path = os.path.join(out, "metrics.json")
    with atomic_write(path) as f:
        f.write(json.dumps({"settings": settings, "epochs": epochs}, indent=1).encode())
    return path


def plot(out, epochs):
    """Losses (left axis) and test accuracy (right axis) per epoch, as out/metrics.png."""
    import matplotlib
    matplotlib.use("Agg")  # files only: works with no display
    import matplotlib.pyplot as plt
    x = [e["epoch"] for e in epochs]
    fig, loss_ax = plt.subplots(figsize=(7, 4))
    loss_ax.plot(x, [e["train_loss"] for e in epochs], "o-", label="train loss")
    loss_ax.plot(x, [e["test_loss"] for e in epochs], "s-", label="test loss")
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("cross-entropy loss")
    acc_ax = loss_ax.twinx()
    acc_ax.plot(x, [100 * e["test_accuracy"] for e in epochs], "^-", color="tab:green", label="test accuracy")
    acc_ax.set_ylabel("test accuracy (%)")
    handles = loss_ax.get_legend_handles_labels()[0] + acc_ax.get_legend_handles_labels()[0]
    loss_ax.legend(handles, [h.get_label() for h in handles], loc="center right")
    fig.tight_layout()
    path = os.path.join(out, "metrics.png")
    try:
        with atomic_write(path) as f:
            fig.savefig(f, format="png", dpi=100)
    finally:
        plt.close(fig)
    return path
