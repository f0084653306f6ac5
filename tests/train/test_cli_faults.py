"""`gpugrad train` / `evaluate` on bad settings, lying checkpoints and faults: each ends with one
line naming the problem (exit 2 for input, 1 for a failed write, 128 + N after signal N), found
before training starts where it can be, and the last good checkpoint stays intact."""
import errno
import io
import os
import re
import signal
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import gpugrad
from gpugrad.cli import main
from gpugrad.train import outdir, parts

FAST = ["--data", "digits", "--model", "mlp", "--limit", "48", "--batch-size", "16", "--shift", "0"]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}


def _one_line_error(capsys, *needles):
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err
    return err


def _cli(tmp_path, *args, stdout=subprocess.PIPE, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "gpugrad", "train", *FAST, *args], stdout=stdout,
                            stderr=subprocess.PIPE, text=True, env=ENV, cwd=tmp_path, **kwargs)


@pytest.mark.parametrize("args, allowed", [
    (["--lr", "-0.1"], "--lr must be a finite number ≥ 0, got -0.1"),
    (["--lr", "nan"], "--lr must be a finite number ≥ 0, got nan"),
    (["--weight-decay", "nan"], "--weight-decay must be a finite number ≥ 0"),
    (["--seed", "-1"], "--seed must be a whole number from 0 to 18446744073709551615"),
    (["--shift", "-1"], "--shift must be a whole number from 0 up"),
    (["--epochs", "0"], "--epochs must be a whole number from 1 up"),
])
def test_bad_numbers_say_what_is_allowed(tmp_path, capsys, monkeypatch, args, allowed):
    monkeypatch.setattr(parts, "load_split", None)  # found before any data is loaded
    assert main(["train", "--out", str(tmp_path / "run"), *args]) == 2
    _one_line_error(capsys, "gpugrad train: error: " + allowed)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("out, problem", [("", "--out must be a folder name"),
                                          ("file", "is a file, not a folder"),
                                          ("file/run", "Not a directory"),
                                          ("x" * 300, "File name too long")])
def test_unusable_out_is_found_before_training(tmp_path, capsys, monkeypatch, out, problem):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setattr(parts, "load_split", None)  # training (which loads data first) must not start
    assert main(["train", "--out", out]) == 2
    _one_line_error(capsys, problem)


def test_unwritable_out_is_found_before_training(tmp_path, capsys, monkeypatch):
    real_open, out = os.open, str(tmp_path / "ro")
    os.mkdir(out)

    def deny(path, *args, **kwargs):  # as a folder without write permission does (root ignores modes)
        if os.fspath(path).startswith(out):
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return real_open(path, *args, **kwargs)
    monkeypatch.setattr(os, "open", deny)
    monkeypatch.setattr(parts, "load_split", None)
    assert main(["train", "--out", out]) == 2
    _one_line_error(capsys, "--out", "Permission denied")


def test_shift_larger_than_the_image(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path), *FAST, "--shift", "8"]) == 2
    _one_line_error(capsys, "--shift must be less than the image size (8×8 pixels), from 0 to 7, got 8")


def test_images_too_small_for_the_model(tmp_path, capsys, monkeypatch):
    tiny = np.zeros((4, 1, 1, 1), np.float32)
    labels = np.arange(4)
    monkeypatch.setattr(gpugrad.data, "digits", lambda: gpugrad.data.Split(tiny, labels, tiny, labels))
    assert main(["train", "--out", str(tmp_path), "--data", "digits", "--shift", "0"]) == 2
    _one_line_error(capsys, "cnn needs images of at least 4×4 pixels", "1×1")


def test_ctrl_c_during_start_up_exits_quietly(tmp_path, capsys, monkeypatch):
    def interrupted(settings):
        raise KeyboardInterrupt
    monkeypatch.setattr(parts, "load_split", interrupted)
    assert main(["train", "--out", str(tmp_path)]) == 130
    assert capsys.readouterr().err == "" and not (tmp_path / outdir.LOCK).exists()


def test_a_second_run_on_the_same_out_refuses(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(parts, "load_split", None)
    with outdir.claim(str(tmp_path)):  # a separate open file: flock conflicts as with another process
        assert main(["train", "--out", str(tmp_path)]) == 2
    _one_line_error(capsys, f"--out {tmp_path} is in use by another gpugrad train (pid {os.getpid()})")


def test_a_lock_file_left_by_a_killed_run_does_not_block(tmp_path):
    (tmp_path / outdir.LOCK).write_text("12345\n")  # kill -9 leaves the file, but no lock on it
    with outdir.claim(str(tmp_path)):
        assert (tmp_path / outdir.LOCK).read_text() == f"{os.getpid()}\n"
    assert not (tmp_path / outdir.LOCK).exists()


def test_stale_temporary_files_are_removed_and_outputs_follow_the_umask(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    stale = [out / ".checkpoint.npz.dead.tmp", out / ".metrics.json.dead.tmp"]
    for path in stale:
        path.write_bytes(b"half a file")
    (out / "notes.tmp").write_text("not ours")
    old = os.umask(0o022)
    try:
        assert main(["train", "--out", str(out), *FAST, "--epochs", "1"]) == 0
    finally:
        os.umask(old)
    assert not any(p.exists() for p in stale) and (out / "notes.tmp").exists()
    for name in ("checkpoint.npz", "metrics.json", "metrics.png"):
        assert (out / name).stat().st_mode & 0o777 == 0o644, name
    assert not (out / outdir.LOCK).exists()


def test_disk_full_ends_with_one_line_and_the_last_checkpoint_intact(tmp_path, capsys, monkeypatch):
    real, saves = np.savez, []

    def savez(*args, **kwargs):
        saves.append(1)
        if len(saves) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args, **kwargs)
    monkeypatch.setattr(np, "savez", savez)
    assert main(["train", "--out", str(tmp_path), *FAST, "--epochs", "3"]) == 1
    _one_line_error(capsys, "can't write", "checkpoint.npz: No space left on device")
    monkeypatch.undo()
    assert gpugrad.load(tmp_path / "checkpoint.npz")["epoch"] == 1
    assert sorted(os.listdir(tmp_path)) == ["checkpoint.npz", "metrics.json"]


def test_stdout_to_a_full_device_is_one_line(tmp_path):
    with open("/dev/full", "w") as full:
        proc = _cli(tmp_path, "--out", "run", "--epochs", "1", stdout=full)
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1 and err == "gpugrad train: error: can't write standard output: " \
                                           "No space left on device; stopped\n", err


def test_broken_pipe_keeps_the_checkpoint(tmp_path):
    """`gpugrad train | head -1`: head exits after the first line; the next print finds the pipe closed."""
    proc = _cli(tmp_path, "--out", "run", "--epochs", "3")
    assert proc.stdout.readline().startswith("training ")
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 1
    assert err == "gpugrad train: error: can't write standard output: Broken pipe; stopped\n", err
    assert gpugrad.load(tmp_path / "run" / "checkpoint.npz")["epoch"] == 1


def test_sigterm_saves_a_checkpoint_like_ctrl_c(tmp_path):
    proc = _cli(tmp_path, "--out", "run", "--epochs", "500")
    while not proc.stdout.readline().startswith("epoch   1/500"):
        assert proc.poll() is None, proc.stderr.read()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM and "Traceback" not in err, err
    assert "SIGTERM: interrupted in epoch" in out and "--resume" in out
    saved = gpugrad.load(tmp_path / "run" / "checkpoint.npz")
    assert saved["epoch"] >= 1 and len(saved["metrics"]) == saved["epoch"]
    assert not (tmp_path / "run" / outdir.LOCK).exists()


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("saved")
    assert main(["train", "--out", str(out), *FAST, "--epochs", "1"]) == 0
    return gpugrad.load(out / "checkpoint.npz")


def _set(ckpt, path, value):
    *parents, last = path
    for key in parents:
        ckpt = ckpt[key]
    ckpt[last] = value


_EDITS = {
    "another model's weights": ((("settings", "model"), "cnn"), "doesn't fit the cnn run"),
    "lr a word": ((("settings", "lr"), "fast"), "its setting lr must be a finite number ≥ 0, got 'fast'"),
    "negative epochs": ((("settings", "epochs"), -3), "its setting epochs must be a whole number from 1"),
    "unknown setting": ((("settings", "colour"), "red"), "its settings are not those of a `gpugrad train`"),
    "mnist without a folder": ((("settings", "data"), "mnist"), "with folder None"),
    "epoch a word": ((("epoch",), "x"), "its epoch is 'x'"),
    "step past the epoch": ((("step",), 99), "its step is 99, not a whole number from 0 to 2"),
    "metrics missing": ((("metrics",), []), "don't describe 1 completed epochs"),
    "optimizer state of another": ((("optimizer",), {"state": {}}), "doesn't fit"),
    "scheduler state a list": ((("scheduler",), [1, 2]), "doesn't fit"),
    "rng state garbage": ((("data_rng",), {"rng": "{"}), "doesn't fit"),
}


@pytest.mark.parametrize("command", ["train", "evaluate"])
@pytest.mark.parametrize("edit", _EDITS)
def test_resume_or_evaluate_an_edited_checkpoint_is_one_line(tmp_path, capsys, saved_run, command, edit):
    (path, value), problem = _EDITS[edit]
    ckpt = {**saved_run, "settings": dict(saved_run["settings"])}
    _set(ckpt, path, value)
    gpugrad.save(ckpt, tmp_path / "edited.npz")
    args = ["--resume", str(tmp_path / "edited.npz")] if command == "train" else [str(tmp_path / "edited.npz")]
    assert main([command, *args]) == 2
    _one_line_error(capsys, "edited.npz", problem)


def test_a_run_that_fails_at_load_time_leaves_no_empty_out(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path / "new"), "--data", "mnist", str(tmp_path / "nowhere")]) == 2
    _one_line_error(capsys, "nowhere")
    assert not (tmp_path / "new").exists()


def test_a_checkpoint_from_a_gpu_this_machine_lacks_evaluates_on_cpu(tmp_path, saved_run, capsys):
    path = tmp_path / "gpu.npz"
    gpugrad.save(saved_run, path)
    with zipfile.ZipFile(path) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    header = "__gpugrad_checkpoint__.npy"
    text = np.load(io.BytesIO(members[header])).tobytes().decode()
    text = re.sub('"device": "[^"]*"', '"device": "cuda:7"', text)
    buf = io.BytesIO()
    np.save(buf, np.frombuffer(text.encode(), np.uint8))
    members[header] = buf.getvalue()
    with zipfile.ZipFile(path, "w") as zf:
        for name, payload in members.items():
            zf.writestr(name, payload)
    with pytest.raises(RuntimeError, match="cuda:7"):
        gpugrad.load(path)  # as saved, its tensors need a GPU that isn't here
    assert main(["evaluate", str(path), "--device", "cpu"]) == 0
    assert "test accuracy" in capsys.readouterr().out
