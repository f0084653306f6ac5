"""Data-parallel training with PyTorch's recipe: one process per rank, each on its share.

Every rank builds the same MLP, wraps it in DistributedDataParallel (which broadcasts rank 0's
weights and averages gradients after each backward) and reads its DistributedSampler share of
the digits (scikit-learn's 8x8 set); rank 0 prints the loss of each epoch and the accuracy.

    mpiexec -n 2 python examples/distributed_mlp.py [--backend mpi|nccl] [--epochs 5]

With --backend nccl each rank uses GPU LOCAL_RANK (set by init_process_group).
"""
import argparse
import os

import gpugrad
import gpugrad.distributed as dist
from gpugrad import data, nn, optim
from gpugrad.nn import functional as F
from gpugrad.nn.parallel import DistributedDataParallel as DDP


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=["mpi", "nccl"], default="mpi")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=32, help="per rank")
    args = p.parse_args()

    dist.init_process_group(args.backend)
    device = f"cuda:{os.environ['LOCAL_RANK']}" if args.backend == "nccl" else "cpu"
    split = data.digits()
    train = data.TensorDataset(gpugrad.tensor(split.x_train).flatten(1), gpugrad.tensor(split.y_train))
    sampler = data.DistributedSampler(train, seed=0)
    loader = data.DataLoader(train, args.batch_size, sampler=sampler, device=device)

    gpugrad.manual_seed(0)
    model = DDP(nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10)).to(device))
    opt = optim.AdamW(model.parameters(), lr=3e-3)
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)  # a new order each epoch, the same on every rank
        total = gpugrad.zeros(2, dtype=gpugrad.float64)
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()  # gradients come back averaged over the ranks
            opt.step()
            total += gpugrad.tensor([loss.item() * len(y), len(y)], dtype=gpugrad.float64)
        dist.all_reduce(total)  # every rank's sums: the epoch's mean loss over all samples
        if dist.get_rank() == 0:
            print(f"epoch {epoch + 1}: train loss {total[0].item() / total[1].item():.4f}", flush=True)

    if dist.get_rank() == 0:
        with gpugrad.no_grad():
            x, y = gpugrad.tensor(split.x_test).flatten(1).to(device), gpugrad.tensor(split.y_test).to(device)
            accuracy = (model(x).argmax(1) == y).float().mean().item()
        print(f"test accuracy {100 * accuracy:.1f}% on {dist.get_world_size()} ranks")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
