"""Every row of the suite, declared here: one Group per table, in report order.

A group's `build(device, quick)` returns its rows (see row.Row and row.kernel_row) for "cpu" or
"cuda"; `--quick` asks for tiny sizes. To add rows, add them to a builder, or add a Group here
whose builder returns them.
"""
from dataclasses import dataclass
from typing import Callable

from . import alone, distributed, graph_rows, kernel_rows, train_rows


@dataclass
class Group:
    title: str
    build: Callable
    section: str = "kernels"  # "kernels" (rates, roofline), "e2e" (samples/s) or "distributed"
    note: str = ""            # printed under the group's table


GROUPS = {
    "conv": Group("Convolution", kernel_rows.conv_rows),
    "gelu": Group("GELU", kernel_rows.gelu_rows),
    "matmul": Group("Matmul", kernel_rows.matmul_rows),
    "maxpool": Group("Max-pool", kernel_rows.maxpool_rows),
    "xent": Group("Softmax cross-entropy", kernel_rows.xent_rows),
    "optim": Group("Fused AdamW step", kernel_rows.optim_rows),
    "rng": Group("Uniform random numbers (Philox)", kernel_rows.rng_rows),
    "batch_norm": Group("Batch norm (training)", kernel_rows.batch_norm_rows),
    "relu": Group("ReLU", kernel_rows.relu_rows),
    "train": Group("Training step (forward + backward + SGD)", train_rows.train_rows, "e2e"),
    "train_graph": Group("Training step as one CUDA graph", graph_rows.graph_rows, "e2e"),
    "alone": Group("Each library alone, in processes of its own", alone.alone_rows, "e2e", note=(
        "Each job is a fresh process with the library's default threads; gpugrad's and PyTorch's "
        "jobs take turns. recipe_epoch: ms per epoch (training, then evaluation on the test split) "
        "of `gpugrad train`'s defaults and of the same recipe in PyTorch, the first epoch of each "
        "job untimed; samples/s = training samples / epoch time; accuracy: test accuracy after "
        "the last epoch (median over jobs). lenet_step: one plain-SGD step, 3 untimed steps per job. "
        "results.json has each job's load average at its start (loadavg_jobs).")),
    "distributed": Group("Distributed, in mpiexec jobs (all_reduce GB/s = message bytes / time)",
                         distributed.distributed_rows, "distributed"),
}


def plan(device, quick):
    """[(group name, Row)] for one device, in report order."""
    return [(name, row) for name, group in GROUPS.items() for row in group.build(device, quick)]
