"""Clocks, the interleaved repetition loop and the run's time budget."""
import statistics
import time

from .errors import error_tail, error_text

LONG_MS = 25.0        # calls slower than this get fewer repetitions ...
LONG_TOTAL_MS = 1000  # ... about this much timed work each ...
MIN_REPS = 5          # ... but never fewer than this
# A host-timed call faster than LONG_MS starts its turn with untimed calls for SETTLE_MS, then
# keeps KEEP timed ones: PyTorch's OpenMP workers spin on for 10-20 ms after each of its calls,
# and calls made meanwhile share a core with them (gelu forward on 2^22 floats, 2 cores: 1.5-2.0
# ms in a loop of its own, 3.3-4.2 ms right after PyTorch's, back to 1.9 ms about 12 ms later).
SETTLE_MS = 25.0
KEEP = 3


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
    """Times one call with perf_counter (CPU work is synchronous)."""

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


def measure(calls, *, reps, warmup, budget, settle_ms=SETTLE_MS):
    """Time {name: (zero-argument call, clock)} in turns: warm-up calls, then rounds in which
    each call takes a turn, until each has `reps` timed repetitions; so load that drifts during
    the run hits every contender alike. A host-timed call faster than LONG_MS first runs
    untimed in each turn, once and then until `settle_ms` have passed, then KEEP times timed;
    other calls run once a turn.

    Slow calls get fewer rounds; a spent budget ends the loop. Returns {name: record}: the
    repetitions in ms with their median, min and max, or the error that stopped that call.
    """
    live, records = dict(calls), {}

    def timed(name):
        fn, clock = live[name]
        try:
            return clock.time(fn)
        except Exception as exc:
            records[name] = {"status": "error", "error": error_text(exc), "traceback": error_tail(exc)}
            del live[name]
            return None

    warm = {name: [t for t in (timed(name) for _ in range(warmup)) if t is not None]
            for name in list(live)}
    slowest = max((min(w) for w in warm.values() if w), default=0.0)
    if slowest > LONG_MS:
        reps = min(reps, max(MIN_REPS, int(LONG_TOTAL_MS / slowest)))
    keep = {name: KEEP if isinstance(clock, WallClock) and warm[name] and min(warm[name]) <= LONG_MS else 1
            for name, (_, clock) in live.items()}
    times = {name: [] for name in live}
    for _ in range(max((-(-reps // k) for k in keep.values()), default=0)):
        for name in list(live):
            want = min(keep[name], reps - len(times[name]))  # a call kept KEEP a turn may be done
            if want < 1:
                continue
            if keep[name] > 1:  # one untimed call, and more until settle_ms have passed
                start = time.perf_counter()
                timed(name)
                while name in live and (time.perf_counter() - start) * 1e3 < settle_ms:
                    timed(name)
            for _ in range(want):
                t = timed(name) if name in live else None
                if t is not None:
                    times[name].append(t)
        if budget.spent():
            break
    for name in live:
        records[name] = {**summary(times[name], reps), "warmup_ms": warm[name]}
    return records


def summary(times_ms, reps):
    """One implementation's record from its timed repetitions in ms, of the `reps` asked for."""
    return {"status": "ok", "median_ms": statistics.median(times_ms), "min_ms": min(times_ms),
            "max_ms": max(times_ms), "reps": len(times_ms), "truncated": len(times_ms) < reps,
            "reps_ms": times_ms}
