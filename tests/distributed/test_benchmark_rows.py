"""benchmarks/distributed.py returns plain rows the benchmark runner can print."""
import pytest

from benchmarks import distributed as bench

from .launch import mpiexec

pytestmark = pytest.mark.slow


def test_all_reduce_rows_time_each_message_size():
    mpiexec()  # skips (or fails under CI) without MPI
    rows = bench.all_reduce_rows(sizes=(16, 1024), repeats=2)
    assert [r["params"] for r in rows] == [{"elements": 16, "ranks": 2}, {"elements": 1024, "ranks": 2}]
    for r in rows:
        assert set(r) == {"name", "params", "median_ms", "bytes_per_s"} and r["median_ms"] > 0
        assert r["bytes_per_s"] == pytest.approx(r["params"]["elements"] * 4 / (r["median_ms"] / 1e3))
