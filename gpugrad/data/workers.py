"""DataLoader workers: threads that fetch and collate batches ahead of the training loop.

Threads rather than processes: the work is NumPy (and the dataset's own Python), batches need
no pickling between processes, and tensors stay where the dataset made them. Batches are
yielded in order; at most num_workers * prefetch_factor are in flight.
"""
import itertools
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor


def _pool(loader):
    ids, lock = itertools.count(), threading.Lock()

    def start():
        with lock:
            worker_id = next(ids)
        if loader.worker_init_fn is not None:
            loader.worker_init_fn(worker_id)

    pool = ThreadPoolExecutor(loader.num_workers, thread_name_prefix="gpugrad-data", initializer=start)
    for _ in range(loader.num_workers):  # start every worker now, so each runs worker_init_fn once
        pool.submit(lambda: None)
    return pool


def parallel_batches(loader, batches):
    pool = loader._pool if loader.persistent_workers and loader._pool is not None else _pool(loader)
    if loader.persistent_workers:
        loader._pool = pool
    ahead = loader.num_workers * loader.prefetch_factor
    pending, todo = deque(), iter(batches)
    timeout = loader.timeout or None
    try:
        for indices in itertools.islice(todo, ahead):
            pending.append(pool.submit(loader._fetch, indices))
        while pending:
            batch = pending.popleft().result(timeout=timeout)
            for indices in itertools.islice(todo, 1):
                pending.append(pool.submit(loader._fetch, indices))
            yield batch
    finally:
        for f in pending:
            f.cancel()
        if not loader.persistent_workers:
            pool.shutdown(wait=True)

