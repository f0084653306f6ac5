"""The emulator under Python threads: launches from several threads, and a crash in one of them.

Each case runs in a subprocess (a crash must not take pytest with it) whose output is capped
by a file-size limit and whose run time is capped by a timeout.
"""
import os
import resource
import subprocess
import sys
import textwrap

OUTPUT_LIMIT = 1 << 20  # bytes of output a subprocess may write


def _run(script, tmp_path, timeout=300):
    out = tmp_path / "output.txt"

    def limit_output():
        resource.setrlimit(resource.RLIMIT_FSIZE, (OUTPUT_LIMIT, OUTPUT_LIMIT))

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path), GPUGRAD_CUDA_SIM="2")
    with open(out, "wb") as f:
        res = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], stdout=f, stderr=f,
                             env=env, timeout=timeout, preexec_fn=limit_output)
    return res.returncode, out.read_bytes()[:OUTPUT_LIMIT].decode(errors="replace")


def test_threads_share_the_simulated_gpu(tmp_path):
    """Convolutions from four threads at once give the CPU backend's results."""
    rc, output = _run("""
        import threading
        import numpy as np
        import gpugrad
        import gpugrad.nn.functional as F

        failures = []

        def work(seed):
            try:
                rng = np.random.default_rng(seed)
                for _ in range(6):
                    x = gpugrad.tensor(rng.standard_normal((4, 3, 12, 12)), dtype="float32")
                    w = gpugrad.tensor(rng.standard_normal((5, 3, 3, 3)), dtype="float32")
                    y = F.conv2d(x.to("cuda"), w.to("cuda"), padding=1).cpu().numpy()
                    want = F.conv2d(x, w, padding=1).numpy()
                    assert np.allclose(y, want, rtol=1e-4, atol=1e-4), "cuda and cpu differ"
            except Exception as e:
                failures.append(repr(e))

        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print("failures:", failures)
    """, tmp_path)
    assert rc == 0, output[-3000:]
    assert "failures: []" in output


SLOW_AND_CRASH = r"""
__global__ void slow(float* y) {
    volatile float acc = 0.0f;
    for (int i = 0; i < 20000000; ++i) acc = acc + 1.0f;
    y[threadIdx.x] = acc;
}
__global__ void crash(float* y) { if (threadIdx.x == 5) y[0] = *(volatile float*)nullptr; }
"""


def test_a_crash_during_another_launch_reports_once_and_ends_the_process(tmp_path):
    """One thread runs a slow kernel while another launches one that segfaults: one report,
    then the process dies (it must not loop through the crash handler)."""
    rc, output = _run(f"""
        import threading
        import time
        import numpy as np
        from gpugrad import emu

        module = emu.RawModule(code={SLOW_AND_CRASH!r})
        slow, crash = module.get_function("slow"), module.get_function("crash")
        worker = threading.Thread(target=slow, args=((1,), (32,), (np.zeros(32, np.float32),)))
        worker.start()
        time.sleep(0.2)
        crash((2,), (8,), (np.zeros(1, np.float32),))
        worker.join()
    """, tmp_path, timeout=120)
    assert rc != 0
    assert output.count("gpugrad.emu: signal 11 in crash") == 1, output[:3000]
