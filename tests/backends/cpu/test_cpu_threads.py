"""Threads calling the CPU kernels at once get correct results and no abort: on the OpenMP layer,
whether gpugrad or PyTorch loaded libgomp, and on the workqueue layer a user may pick (it
aborts on concurrent launches unless they are serialised)."""
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from tests.helpers import REPO


SCRIPT = textwrap.dedent("""
    import sys
    import threading
    if sys.argv[1] == "torch":
        import torch  # noqa: F401  (loads libgomp before gpugrad)
    import numpy as np
    from numba import threading_layer
    from gpugrad.backends.cpu import conv, conv_direct, gelu, reference

    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((4, 3, 12, 12)), rng.standard_normal((5, 3, 3, 3))
    x32, w32 = x.astype(np.float32), w.astype(np.float32)
    expected = reference.conv2d_ref(x, w, (1, 1), (1, 1), (1, 1), 1)
    bad = []

    def work():
        for _ in range(40):
            gelu.gelu_fwd(x, "none")
            if not np.allclose(conv.conv2d_forward(x, w, (1, 1), (1, 1), (1, 1), 1), expected):
                bad.append(1)
            if not np.allclose(conv_direct.conv2d_forward(x32, w32, (1, 1), (1, 1), (1, 1), 1), expected,
                               rtol=1e-4, atol=1e-4):
                bad.append(1)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(threading_layer(), len(bad))
""")


@pytest.mark.parametrize("first,layer", [("gpugrad", "omp"), ("torch", "omp"), ("gpugrad", "workqueue")])
def test_threads_launching_kernels_at_once_neither_abort_nor_race(first, layer):
    if first == "torch":
        pytest.importorskip("torch")
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    if layer == "workqueue":
        env["NUMBA_THREADING_LAYER"] = "workqueue"
    proc = subprocess.run([sys.executable, "-c", SCRIPT, first], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == [layer, "0"]
