"""Clocks, the repetition loop and the run's time budget."""
import statistics
import time

LONG_MS = 25.0        # calls slower than this get fewer repetitions ...
LONG_TOTAL_MS = 1000  # ... about this much timed work in all ...
MIN_REPS = 5          # ... but never fewer than this


class EventClock:
    """Times one call with a pair of CUDA events recorded around it on the current stream."""

    def __init__(self, make_event, elapsed_ms):
        self.start, self.stop = make_event(), make_event()
        self.elapsed_ms = elapsed_ms

    def time(self, fn):
        self.start.record()
        fn()
        self.stop.record()
        self.stop.synchronize()
        return float(self.elapsed_ms(self.start, self.stop))


class WallClock:
    """Times one call with perf_counter (simulation: the work is synchronous)."""

    def time(self, fn):
        t0 = time.perf_counter()
        fn()
        return (time.perf_counter() - t0) * 1e3


class Budget:
    """Wall-clock budget of the whole run; rows starting after it is spent are skipped."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.t0 = time.monotonic()

    def elapsed(self):
        return time.monotonic() - self.t0

    def left(self):
        return self.seconds - self.elapsed()

    def spent(self):
        return self.left() <= 0


def measure(fn, clock, *, reps, warmup, budget):
    """Warm up, then time `reps` calls (fewer for slow calls or once the budget is spent).

    Returns the repetitions in ms with their median, min and max.
    """
    warm = [clock.time(fn) for _ in range(warmup)]
    estimate = min(warm) if warm else 0.0
    if estimate > LONG_MS:
        reps = min(reps, max(MIN_REPS, int(LONG_TOTAL_MS / estimate)))
    times = []
    for _ in range(reps):
        times.append(clock.time(fn))
        if budget.spent():
            break
    return {
        "median_ms": statistics.median(times),
        "min_ms": min(times),
        "max_ms": max(times),
        "reps": len(times),
        "truncated": len(times) < reps,
        "warmup_ms": warm,
        "reps_ms": times,
    }
