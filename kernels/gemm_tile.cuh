// gemm_tile.cuh: the block-level GEMM shared by gemm.cu and conv_igemm.cu.
//
// One block of GG_THREADS threads computes a BM x BN tile of C = A (M x K) @ B (K x N),
// stepping through K in BK-deep slices staged in shared memory (gg_cfg gives the shapes).
// Where the operands come from and where the result goes is the caller's "op":
//   op.fill_a(As, m0, k0, k1)  stage A[m0:m0+BM, k0:k0+BK] into As[k][m] (zero outside, k < k1)
//   op.fill_b(Bs, k0, n0, k1)  stage B[k0:k0+BK, n0:n0+BN] into Bs[k][n]
//   op.store(m, n, v)          write C[m][n] (called only for m < M, n < N)
// so a plain GEMM reads strided matrices while a convolution gathers its patches right in
// the tile loads and never writes a column matrix.  gg_fill_tile does the usual scalar staging.
//
// Two block routines: gg_block_gemm (CUDA cores, float or double, TM x TM register blocking
// per thread) and gg_block_gemm_tf32 (float on TF32 tensor cores, mma.sync m16n8k8, float
// accumulators).  Ops stage through gg_stage<TF32>, which rounds to TF32 on that route.
#pragma once
#include "common.cuh"

constexpr int GG_THREADS = 256;
constexpr int GG_PAD = 8;  // row padding: the TF32 fragment reads hit 32 distinct banks

// Block tile BM x BN x BK and per-thread register tile TM x TM (BM = BN = 16 * TM) of each
// route; the host's launch code (gpugrad/backends/cuda/kernels.py, TILES) mirrors this.
template <typename T, bool TF32> struct gg_cfg { static constexpr int BM = 64, BN = 64, BK = 16, TM = 4; };
template <> struct gg_cfg<float, false> { static constexpr int BM = 128, BN = 128, BK = 8, TM = 8; };

// Thread t's i-th row (or column) of the tile: groups of 4 consecutive ones, 64 apart.
__device__ __forceinline__ int gg_owned(int t, int i) { return i / 4 * 64 + t * 4 + i % 4; }

// What gets staged: the value itself, or (TF32 route) its TF32 rounding.
// Both need sm_80; older GPUs compile a trap (the host never picks the TF32 route there).
__device__ __forceinline__ unsigned gg_to_tf32(float x) {
#ifdef CUDA_EMU
    return cuda_emu::cvt_rna_tf32(x);
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
    __trap();
    return 0u;
#else
    unsigned r;
    asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
    return r;
#endif
}
template <bool TF32, typename T> __device__ __forceinline__ T gg_stage(T v) { return v; }
template <> __device__ __forceinline__ float gg_stage<true, float>(float v) {
    return __uint_as_float(gg_to_tf32(v));
}

// d += a @ b for one warp: a 16x8 row-major A, an 8x8 column-major B, a 16x8 float D (PTX
// fragment layouts; see gpugrad/emu/include/cuda_emu_mma.h).
__device__ __forceinline__ void gg_mma_tf32(float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2]) {
#ifdef CUDA_EMU
    cuda_emu::mma_m16n8k8_tf32(d, a, b);
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
    __trap();
#else
    asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 "
                 "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}

// Stage a slice, value(r, column(c)) for r0 <= r < r1 and c0 <= c < c1 (zero outside), into a
// tile that is always [k][m or n]: K_ROWS says whether the slice's rows are the K axis.
// Consecutive threads take consecutive columns, so put the operand's contiguous axis there.
// Each thread keeps one column for the whole slice, so column(c) -- what a gather can work
// out once per column, such as its base address -- runs once per thread and fill.
template <bool TF32, bool K_ROWS, typename T, int BK, int LD, class Column, class Value>
__device__ __forceinline__ void gg_fill_tile(T (&tile)[BK][LD], int r0, int r1, int c0, int c1,
                                             const Column& column, const Value& value) {
    constexpr int ROWS = K_ROWS ? BK : LD - GG_PAD, COLS = K_ROWS ? LD - GG_PAD : BK;
    static_assert(GG_THREADS % COLS == 0, "a thread's column must not change within a fill");
    static_assert(ROWS * COLS % GG_THREADS == 0, "every thread stages the same number of elements");
    const int c = threadIdx.x % COLS;
    const bool in = c0 + c < c1;
    const auto col = column(in ? c0 + c : c0);
#pragma unroll
    for (int q = 0; q < ROWS * COLS / GG_THREADS; ++q) {
        const int r = threadIdx.x / COLS + q * (GG_THREADS / COLS);
        const T v = in && r0 + r < r1 ? value(r0 + r, col) : T(0);
        if (K_ROWS) tile[r][c] = gg_stage<TF32>(v);
        else tile[c][r] = gg_stage<TF32>(v);
    }
}

template <bool TF32, bool K_ROWS, typename T, int BK, int LD, class Value>
__device__ __forceinline__ void gg_fill_tile(T (&tile)[BK][LD], int r0, int r1, int c0, int c1,
                                             const Value& value) {
    gg_fill_tile<TF32, K_ROWS>(tile, r0, r1, c0, c1, [](int c) { return c; }, value);
}

// C[m0:m0+BM, n0:n0+BN] over k in [k_begin, k_end) on CUDA cores.  Every thread of the block
// must call it (it synchronises); thread (ty, tx) owns rows gg_owned(ty, i), columns gg_owned(tx, j).
template <typename T, class Op>
__device__ void gg_block_gemm(Op& op, int M, int N, int m0, int n0, int k_begin, int k_end) {
    using C = gg_cfg<T, false>;
    __shared__ __align__(16) T As[C::BK][C::BM + GG_PAD];
    __shared__ __align__(16) T Bs[C::BK][C::BN + GG_PAD];
    const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
    T acc[C::TM][C::TM];
#pragma unroll
    for (int i = 0; i < C::TM; ++i)
#pragma unroll
        for (int j = 0; j < C::TM; ++j) acc[i][j] = T(0);
    for (int k0 = k_begin; k0 < k_end; k0 += C::BK) {
        op.fill_a(As, m0, k0, k_end);
        op.fill_b(Bs, k0, n0, k_end);
        __syncthreads();
#pragma unroll
        for (int k = 0; k < C::BK; ++k) {
            T a[C::TM], b[C::TM];
#pragma unroll
            for (int i = 0; i < C::TM; ++i) {
                a[i] = As[k][gg_owned(ty, i)];
                b[i] = Bs[k][gg_owned(tx, i)];
            }
#pragma unroll
            for (int i = 0; i < C::TM; ++i)
#pragma unroll
                for (int j = 0; j < C::TM; ++j) acc[i][j] += a[i] * b[j];
        }
        __syncthreads();  // everyone is done with this slice before the next fill
    }
#pragma unroll
    for (int i = 0; i < C::TM; ++i)
#pragma unroll
        for (int j = 0; j < C::TM; ++j) {
            const int m = m0 + gg_owned(ty, i), n = n0 + gg_owned(tx, j);
            if (m < M && n < N) op.store(m, n, acc[i][j]);
        }
}

// The same tile on TF32 tensor cores: 8 warps as 2 (M) x 4 (N), each a 32x16 warp tile of
// 2 x 2 m16n8k8 instructions per 8-deep step.  The op must stage with gg_stage<true>.
template <class Op>
__device__ void gg_block_gemm_tf32(Op& op, int M, int N, int m0, int n0, int k_begin, int k_end) {
    using C = gg_cfg<float, true>;
    __shared__ __align__(16) float As[C::BK][C::BM + GG_PAD];
    __shared__ __align__(16) float Bs[C::BK][C::BN + GG_PAD];
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
    const int wm = warp / 4 * 32, wn = warp % 4 * 16;
    float acc[2][2][4];
    #pragma unroll
    for (int i = 0; i < 2; ++i)
        #pragma unroll
        for (int j = 0; j < 2; ++j)
            #pragma unroll
            for (int r = 0; r < 4; ++r) acc[i][j][r] = 0.0f;
    for (int k0 = k_begin; k0 < k_end; k0 += C::BK) {
        op.fill_a(As, m0, k0, k_end);
        op.fill_b(Bs, k0, n0, k_end);
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < C::BK; kk += 8) {
            unsigned a[2][4], b[2][2];
            #pragma unroll
            for (int i = 0; i < 2; ++i) {
                const int m = wm + 16 * i + g;
                a[i][0] = __float_as_uint(As[kk + t][m]);
                a[i][1] = __float_as_uint(As[kk + t][m + 8]);
                a[i][2] = __float_as_uint(As[kk + t + 4][m]);
                a[i][3] = __float_as_uint(As[kk + t + 4][m + 8]);
            }
            #pragma unroll
            for (int j = 0; j < 2; ++j) {
                const int n = wn + 8 * j + g;
                b[j][0] = __float_as_uint(Bs[kk + t][n]);
                b[j][1] = __float_as_uint(Bs[kk + t + 4][n]);
            }
            #pragma unroll
            for (int i = 0; i < 2; ++i)
                #pragma unroll
                for (int j = 0; j < 2; ++j) gg_mma_tf32(acc[i][j], a[i], b[j]);
        }
        __syncthreads();
    }
    #pragma unroll
    for (int i = 0; i < 2; ++i)
        #pragma unroll
        for (int j = 0; j < 2; ++j)
            #pragma unroll
            for (int r = 0; r < 4; ++r) {
                const int m = m0 + wm + 16 * i + g + (r >= 2 ? 8 : 0);
                const int n = n0 + wn + 8 * j + 2 * t + (r & 1);
                if (m < M && n < N) op.store(m, n, acc[i][j][r]);
            }
}

// Run one tile on the route the kernel was instantiated for.
template <typename T, bool TF32, class Op>
__device__ __forceinline__ void gg_tile(Op& op, int M, int N, int m0, int n0, int k_begin, int k_end) {
    if constexpr (TF32) gg_block_gemm_tf32(op, M, N, m0, n0, k_begin, k_end);
    else gg_block_gemm<T>(op, M, N, m0, n0, k_begin, k_end);
}
