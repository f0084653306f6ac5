"""Real 2-process jobs under mpiexec: DDP against one process, collectives, failures."""
import time

import pytest

from tests.distributed.launch import results, run_case

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("optimizer, bucket_cap_mb", [("sgd", 25), ("adamw", 25), ("adamw", 0.0005)])
def test_ddp_on_two_ranks_matches_one_process_on_the_global_batch(optimizer, bucket_cap_mb):
    ranks = results(run_case("ddp", optimizer, bucket_cap_mb))
    assert [r["rank"] for r in ranks] == [0, 1]
    for r in ranks:
        assert r["max_diff"] < 1e-5, r
        assert r["keys"] == ["module.0.weight", "module.0.bias"]  # PyTorch's prefix
    # 20 steps: one flattened all_reduce per step when everything fits a 25 MB bucket,
    # three per step with buckets of 0.0005 MB (524 bytes) over this MLP's 435 parameters
    assert ranks[0]["all_reduce_calls"] == (20 if bucket_cap_mb == 25 else 60)


def test_all_reduce_and_broadcast_on_every_dtype_op_and_device():
    r0, r1 = results(run_case("collectives"))
    assert r0["results"] == r1["results"] and r0["gathered"] == [{"rank": 0}, {"rank": 1}]
    got = r0["results"]
    # rank r holds base * (r + 1) - 3r with base = [[1, 2, 3], [4, 5, 6]]: rank 0 base, rank 1 2·base - 3
    for device in ("cpu", "cuda"):
        for dtype in ("float32", "float64", "int64"):
            key = f"{device} {dtype}"
            assert got[f"{key} SUM"] == [[0, 3, 6], [9, 12, 15]]
            assert got[f"{key} PRODUCT"] == [[-1, 2, 9], [20, 35, 54]]
            assert got[f"{key} MIN"] == [[-1, 1, 3], [4, 5, 6]]
            assert got[f"{key} MAX"] == [[1, 2, 3], [5, 7, 9]]
            assert got[f"{key} view"] == [[3, 6, 9], [12, 15, 18]]
            assert got[f"{key} broadcast 0"] == [[1, 2, 3], [4, 5, 6]]
            assert got[f"{key} broadcast 1"] == [[11, 12, 13], [14, 15, 16]]
            if dtype != "int64":
                assert got[f"{key} AVG"] == [[0, 1.5, 3], [4.5, 6, 7.5]]
        assert got[f"{device} bool SUM"] == [True, True, False]


def test_a_model_that_differs_across_ranks_is_reported_on_every_rank():
    ranks = results(run_case("mismatch"))
    assert len(ranks) == 2
    for r in ranks:
        assert "rank 1 has parameter 0.weight of shape (6, 4)" in r["error"]
        assert "rank 0 has parameter 0.weight of shape (5, 4)" in r["error"]


def test_rank_0s_buffers_are_broadcast_before_each_training_forward():
    r0, r1 = (r["running_means"] for r in results(run_case("buffers")))
    assert r0[0] == r1[0]  # at construction
    assert r0[1] != r1[1]  # a forward under no_grad leaves them
    assert r0[2] == r1[2]


def test_a_parameter_without_gradient_is_named_at_the_next_forward():
    for r in results(run_case("unused")):
        assert "expected to have finished reduction" in r["error"] and "1.weight" in r["error"]


@pytest.mark.parametrize("how, says", [
    ("killed", "Killed (signal 9)"),  # mpiexec sees it die and ends the job
    ("exits", "rank 0: all_reduce did not complete within 3 s"),  # the watchdog's timeout
    ("hangs", "rank 0: all_reduce did not complete within 3 s"),
    ("raises", "rank 1 raised an uncaught ZeroDivisionError"),  # aborts at once
])
def test_when_one_rank_dies_the_other_exits_with_a_clear_error_in_bounded_time(how, says):
    start = time.monotonic()
    proc = run_case("dies", how, timeout=60, env={"GPUGRAD_TEST_TIMEOUT": "3"})
    assert proc.returncode != 0
    assert says in proc.stdout + proc.stderr
    assert "RESULT" not in proc.stdout  # no rank carried on as if nothing happened
    assert time.monotonic() - start < 30
