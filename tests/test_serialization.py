"""gpugrad.save/load: round trips, atomic replacement, and clear errors on bad files."""
import io
import json
import os
import zipfile

import numpy as np
import pytest

import gpugrad
from gpugrad.serialization import CheckpointError


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


def _npy(arr):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asarray(arr), allow_pickle=False)
    return buf.getvalue()


def _checkpoint(path, data, arrays=(), compression=zipfile.ZIP_STORED, header=None):
    """A zip laid out like a gpugrad checkpoint, with any JSON `data` and raw .npy members
    (compressed with `compression`, the header too)."""
    text = header if header is not None else json.dumps({"format": 1, "data": data})
    with zipfile.ZipFile(path, "w", compression) as zf:
        zf.writestr("__gpugrad_checkpoint__.npy", _npy(np.frombuffer(text.encode(), np.uint8)))
        for name, payload in dict(arrays).items():
            zf.writestr(name + ".npy", payload)
    return path


def _huge_claim():
    """A .npy member whose header claims 10^13 float32s but which holds 16 bytes."""
    head = _npy(np.zeros(4, np.float32))
    return head.replace(b"(4,)", b"(10000000000000,)".ljust(len(b"(4,)")))


_LIES = {
    "missing array": ({"__tensor__": "a7", "device": "cpu"}, {}, "array 'a7' is missing"),
    "dict not a list": ({"__dict__": 5}, {}, "__dict__ holds a int"),
    "array name a number": ({"__ndarray__": 3}, {}, "not a name"),
    "device a number": ({"__tensor__": "a0", "device": 7}, {"a0": _npy(np.ones(2))}, "device must be"),
    "unknown device": ({"__tensor__": "a0", "device": "tpu"}, {"a0": _npy(np.ones(2))}, "tpu"),
    "string tensor": ({"__tensor__": "a0", "device": "cpu"}, {"a0": _npy(np.array(["x"]))}, "dtype <U1"),
    "list as a key": ({"__dict__": [[[1], 2]]}, {}, "key that is a list"),
    "pair of three": ({"__dict__": [[1, 2, 3]]}, {}, "unexpected entry '__dict__'"),
    "unknown marker": ({"__set__": []}, {}, "unexpected entry"),
    "100,000 deep": (None, {}, "nested"),
    "10^13 floats": ({"__ndarray__": "a0"}, {"a0": _huge_claim()}, r"claims float32 of shape \(10000000000000,\)"),
    "not an npy": ({"__ndarray__": "a0"}, {"a0": b"just text"}, "a0|magic"),
}


@pytest.mark.parametrize("case", _LIES)
def test_lying_contents_raise_one_error_naming_file_and_problem(tmp_path, case):
    data, arrays, problem = _LIES[case]
    header = '{"format": 1, "data": ' + "[" * 100_000 + "]" * 100_000 + "}" if data is None else None
    path = _checkpoint(tmp_path / "lying.npz", data, arrays, header=header)
    with pytest.raises(CheckpointError, match=f"lying.npz.*({problem})"):
        gpugrad.load(path)


@pytest.mark.parametrize("header", ['[1, 2]', '{"format": "1", "data": 0}', '{"format": 1}', '"x"'])
def test_wrong_header_types_raise_the_same_error(tmp_path, header):
    with pytest.raises(CheckpointError, match="lying.npz"):
        gpugrad.load(_checkpoint(tmp_path / "lying.npz", None, header=header))


def test_deflate_bomb_is_refused_before_inflating(tmp_path, monkeypatch):
    path = _checkpoint(tmp_path / "bomb.npz", {"__ndarray__": "a0"}, {"a0": _npy(np.zeros(2 ** 22))},
                       compression=zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 2 ** 16  # 32 MiB of zeros in a few kB
    monkeypatch.setattr(np, "empty", None)  # nothing may be allocated for it
    with pytest.raises(CheckpointError, match="bomb.npz.*'__gpugrad_checkpoint__' is compressed"):
        gpugrad.load(path)


def test_load_allocates_only_what_the_member_holds(tmp_path, monkeypatch):
    """The .npy header is checked against the member's size before any array is made."""
    path = _checkpoint(tmp_path / "c.npz", {"__ndarray__": "a0"}, {"a0": _huge_claim()})
    sizes = []
    real_empty = np.empty
    monkeypatch.setattr(np, "empty", lambda shape, *a, **k: sizes.append(shape) or real_empty(shape, *a, **k))
    with pytest.raises(CheckpointError):
        gpugrad.load(path)
    assert all(np.prod(s) < 2 ** 20 for s in sizes)


def test_lying_checkpoint_error_is_a_value_error_subclass():
    assert issubclass(CheckpointError, ValueError)


def test_saved_file_follows_the_umask_and_a_full_disk_names_it(tmp_path, monkeypatch):
    old = os.umask(0o022)
    try:
        gpugrad.save({"v": gpugrad.ones(2)}, tmp_path / "c.npz")
    finally:
        os.umask(old)
    assert (tmp_path / "c.npz").stat().st_mode & 0o777 == 0o644

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(np.lib.format, "write_array", full)
    with pytest.raises(OSError, match=r"No space left on device: '.*c\.npz'"):
        gpugrad.save({"v": gpugrad.zeros(3)}, tmp_path / "c.npz")
    assert os.listdir(tmp_path) == ["c.npz"]
