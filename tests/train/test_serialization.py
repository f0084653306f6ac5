"""gpugrad.save/load: round trips, atomic replacement, and clear errors on bad files."""
import os

import numpy as np
import pytest

import gpugrad


def _state():
    return {"weight": gpugrad.randn(3, 4), "steps": gpugrad.tensor([1, 2]),
            "state": {0: {"step": 5, "exp_avg": np.ones(2)}},
            "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0, 1], "nesterov": False}],
            "rng": {"big": 2 ** 100, "name": "PCG64"}, "none": None}


def test_round_trip_keeps_structure_types_and_values(tmp_path):
    sd = _state()
    path = tmp_path / "c.npz"
    gpugrad.save(sd, path)
    out = gpugrad.load(path)
    assert np.array_equal(out["weight"].numpy(), sd["weight"].numpy())
    assert out["steps"].dtype == gpugrad.int64 and isinstance(out["steps"], gpugrad.Tensor)
    assert out["state"][0]["step"] == 5 and isinstance(out["state"][0]["exp_avg"], np.ndarray)
    assert out["param_groups"] == sd["param_groups"]
    assert out["rng"] == sd["rng"] and out["none"] is None
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())


def test_unsupported_leaf_is_refused(tmp_path):
    with pytest.raises(TypeError, match="can't store a set"):
        gpugrad.save({"s": {1, 2}}, tmp_path / "x")


def test_crash_mid_save_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    gpugrad.save({"v": gpugrad.ones(3)}, path)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt  # as if Ctrl-C or a kill arrived while writing

    monkeypatch.setattr(np.lib.format, "write_array", crash)
    with pytest.raises(KeyboardInterrupt):
        gpugrad.save({"v": gpugrad.zeros(1000)}, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["c.npz"]
    monkeypatch.undo()
    assert gpugrad.load(path)["v"].tolist() == [1, 1, 1]


def test_truncated_file_gives_a_clear_error(tmp_path):
    path = tmp_path / "c.npz"
    gpugrad.save(_state(), path)
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(ValueError, match="c.npz.*not a readable gpugrad checkpoint"):
        gpugrad.load(path)


@pytest.mark.parametrize("writer", [lambda p: p.write_text("hello"),
                                    lambda p: np.save(open(p, "wb"), np.ones(3)),
                                    lambda p: np.savez(open(p, "wb"), x=np.ones(3))])
def test_foreign_files_give_a_clear_error(tmp_path, writer):
    path = tmp_path / "foreign"
    writer(path)
    with pytest.raises(ValueError, match="foreign.*not a readable gpugrad checkpoint"):
        gpugrad.load(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope"):
        gpugrad.load(tmp_path / "nope")
