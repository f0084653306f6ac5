#!/usr/bin/env bash
# One GPU session's measurements, in one command, for a lent H100/H200 with about 15 minutes:
#   GPUGRAD_COMMIT=<sha> OUT=$OUT bash benchmarks/gpu_run.sh      (the device tool sets $OUT)
# The lent machine has CuPy, PyTorch and pytest but no network, so gpugrad runs from this
# checkout (python -m gpugrad); it writes under $OUT (each step's log beside its results):
#   bench/          python -m benchmarks --device all: the GPU tests (pytest -m gpu), roofline, speed
#                   targets, every row (kernels, GEMM/conv, training steps eager and graphed),
#                   and the CPU-versus-GPU table
#   gemm_conv/      our GEMM and implicit-GEMM convolutions against cuBLAS and cuDNN, TF32
#                   off and on both sides
#   train/          the default `gpugrad train --device cuda` (captured step), then --no-graph
# A step that fails is logged and the next one still runs; the limits keep the whole under 8
# minutes, inside one device call.
set -uo pipefail
cd "$(dirname "$0")/.."
: "${OUT:?set OUT to the folder for the results}"
mkdir -p "$OUT"
export GPUGRAD_COMMIT="${GPUGRAD_COMMIT:-unknown}"

step() {  # step NAME SECONDS COMMAND...: run with a time limit, log to $OUT/NAME.log
    local name=$1 limit=$2
    shift 2
    echo "== $name (at most ${limit}s)"
    timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
    echo "   exit $? ($(tail -n 1 "$OUT/$name.log"))"
}

export PYTHONUNBUFFERED=1
nvidia-smi >"$OUT/nvidia-smi.txt" 2>&1
# every group but those timed in processes of their own (alone, distributed), which are CPU rows
GROUPS=conv,gelu,matmul,maxpool,xent,optim,rng,batch_norm,relu,train,train_graph
step bench 240 python -m benchmarks --device all --only "$GROUPS" --pytest-gpu --targets --budget-s 200 \
    --watchdog 230 --out "$OUT/bench"
step gemm_conv 120 python benchmarks/gemm_conv_gpu.py --reps 10 "$OUT/gemm_conv"
step train_graph 60 python -m gpugrad train --device cuda --out "$OUT/train/graph"
step train_eager 60 python -m gpugrad train --device cuda --no-graph --out "$OUT/train/eager"
echo "results in $OUT"
