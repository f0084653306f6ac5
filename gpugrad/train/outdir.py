"""The --out folder of a run: checked, created and locked before training starts.

The lock is an flock on `.gpugrad.lock` in the folder, which the kernel drops when the process
ends however it ends, so a killed run leaves no stale lock. Holding it, a run removes the
temporary files (`.NAME.<random>.tmp`) that a killed checkpoint or metrics write left behind.
"""
import contextlib
import fcntl
import glob
import os

from .parts import SetupError

LOCK = ".gpugrad.lock"
OUTPUTS = ("checkpoint.npz", "metrics.json", "metrics.png")


@contextlib.contextmanager
def claim(out):
    """Create `out` and hold its lock while the block runs; SetupError if either can't be done.
    A folder it created is removed again if the run left it empty."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise SetupError(f"--out {out} is a file, not a folder")
    path, created = os.path.join(out, LOCK), not os.path.isdir(out)
    try:
        os.makedirs(out, exist_ok=True)
        fd = _lock(path, out)
        for name in OUTPUTS:
            for tmp in glob.glob(os.path.join(glob.escape(out), f".{name}.*.tmp")):
                os.unlink(tmp)
    except OSError as e:
        raise SetupError(f"--out {out} can't be used as the output folder: {e.strerror}") from None
    try:
        yield out
    finally:
        with contextlib.suppress(FileNotFoundError):  # while still locked, so no other run holds
            os.unlink(path)                           # a lock on the removed file
        os.close(fd)
        if created:  # a run that failed before writing anything leaves no empty folder
            with contextlib.suppress(OSError):
                os.rmdir(out)


def _lock(path, out):
    """An open, exclusively locked `path` holding this process's id."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 20).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise SetupError(f"--out {out} is in use by another gpugrad train (pid {holder}); "
                             "wait for it to end or choose another --out") from None
        with contextlib.suppress(FileNotFoundError):
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                break
        os.close(fd)  # the previous holder removed the file as we opened it: lock the new one
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd
