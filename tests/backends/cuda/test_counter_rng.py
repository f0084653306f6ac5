"""The device generator (counter_rng over kernels/philox.cu) on the simulated device: its numbers
are Philox4x32-10's for (key, counter), draws continue one stream, replays of a captured draw
move on."""
import numpy as np
import pytest

import gpugrad as gg
from gpugrad.backends import counter_rng
from gpugrad.backends.cpu.reference import philox_uniform_ref


def _backend():
    return gg.zeros(1, device="cuda").backend


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numbers_are_philox_of_the_seed_and_offset(dtype):
    backend = _backend()
    counter_rng.manual_seed(backend, 1234)
    state = counter_rng.state(backend)
    state[1] = 2 ** 32 - 3  # an offset whose blocks carry into the counter's high word
    before = np.array(state)
    got = counter_rng.uniform(backend, (3, 5), dtype)
    assert got.shape == (3, 5) and got.dtype == dtype
    np.testing.assert_array_equal(np.asarray(got).ravel(), philox_uniform_ref(before, 15, dtype))
    assert int(state[1]) == 2 ** 32 - 3 + 8  # 15 numbers, two a block
    assert 0 <= np.asarray(got).min() and np.asarray(got).max() < 1


def test_draws_continue_one_stream_and_seeds_repeat():
    backend = _backend()
    counter_rng.manual_seed(backend, 7)
    a, b = counter_rng.uniform(backend, (6,), np.float32), counter_rng.uniform(backend, (4,), np.float32)
    counter_rng.manual_seed(backend, 7)
    whole = counter_rng.uniform(backend, (10,), np.float32)
    np.testing.assert_array_equal(np.concatenate([a, b]), whole)
    counter_rng.manual_seed(backend, 8)
    assert not np.array_equal(counter_rng.uniform(backend, (10,), np.float32), whole)


def test_replays_of_a_captured_draw_move_the_stream_on():
    backend = _backend()
    counter_rng.manual_seed(backend, 99)
    out = gg.zeros(10, device="cuda")
    g = gg.cuda.CUDAGraph()
    with gg.cuda.graph(g):
        out._data[...] = counter_rng.uniform(backend, (10,), np.float32)
    state = counter_rng.state(backend)
    assert int(state[1]) == 0  # capturing drew nothing
    key = int(state[0])
    for replay in range(3):
        g.replay()
        want = philox_uniform_ref(np.array([key, 5 * replay], np.uint64), 10, np.float32)
        np.testing.assert_array_equal(out.numpy(), want)
    assert int(state[1]) == 15
