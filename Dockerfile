# gpugrad on an NVIDIA GPU: the benchmark suite by default; training and tests on request.
#
# Base: CUDA 13 because the `cuda` extra installs cupy-cuda13x, built for CUDA 13. The
# "runtime" flavour carries libnvrtc, which CuPy needs: our kernels (kernels/*.cu) are compiled
# at run time. 13.0.1 is the 13.0 release the test GPUs' 580 driver runs; Ubuntu 24.04 gives
# Python 3.12. Pinned by tag so a rebuild gets the same CUDA.
FROM nvidia/cuda:13.0.1-runtime-ubuntu24.04

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# python3-venv for an isolated environment; g++ for the kernel emulator the test suite uses.
# Ubuntu's package versions are fixed by the pinned base image's release, so no apt pins.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv g++ \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/venv \
    && useradd --create-home --uid 1000 gpugrad

WORKDIR /opt/gpugrad

# Dependencies first, from setup.py alone, so editing the source does not reinstall them.
# (DL3013 asks for pins: the versions are setup.py's ranges; "." is this project, not PyPI.)
COPY setup.py pyproject.toml ./
# hadolint ignore=DL3013
RUN mkdir -p gpugrad kernels benchmarks \
    && touch gpugrad/__init__.py \
    && pip install ".[cuda,test]" \
    && pip uninstall -y gpugrad \
    && rm -rf gpugrad kernels benchmarks build

COPY . .
# hadolint ignore=DL3013
RUN pip install --no-deps ".[cuda,test]" \
    && mkdir -p /results \
    && chown -R gpugrad:gpugrad /opt/gpugrad /results

USER 1000

# Healthy only when a GPU is visible (docker run --gpus all).
HEALTHCHECK --interval=5m --timeout=30s CMD ["gpugrad", "doctor", "--require-gpu"]

# `gpugrad` checks for a GPU first and says how to fix a missing --gpus flag.
ENTRYPOINT ["gpugrad"]
CMD ["bench", "--device", "cuda", "--roofline", "--targets", "--watchdog", "1200", "--out", "/results"]
