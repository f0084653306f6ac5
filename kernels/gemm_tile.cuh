// gemm_tile.cuh: the block-level GEMM shared by gemm.cu and conv_igemm.cu.
//
// One block of GG_THREADS threads computes a GG_BM x GG_BN tile of C = A (M x K) @ B (K x N),
// stepping through K in GG_BK-deep slices staged in shared memory.  Where the operands come
// from and where the result goes is the caller's "op":
//   op.fill_a(As, m0, k0, k1)  stage A[m0:m0+BM, k0:k0+BK] into As[k][m] (zero outside, k < k1)
//   op.fill_b(Bs, k0, n0, k1)  stage B[k0:k0+BK, n0:n0+BN] into Bs[k][n]
//   op.store(m, n, v)          write C[m][n] (called only for m < M, n < N)
// so a plain GEMM reads strided matrices while a convolution gathers its patches right in
// the tile loads and never writes a column matrix.  gg_fill_tile does the usual scalar staging.
//
// Two block routines: gg_block_gemm (CUDA cores, float or double, 4x4 register blocking per
// thread) and gg_block_gemm_tf32 (float on TF32 tensor cores, mma.sync m16n8k8, float
// accumulators).  The fill functions of the TF32 route must round with gg_to_tf32 as they stage.
#pragma once
#include "common.cuh"

constexpr int GG_BM = 64, GG_BN = 64, GG_BK = 16, GG_THREADS = 256;
constexpr int GG_PAD = 8;  // row padding: the TF32 fragment reads hit 32 distinct banks

template <typename T> using gg_tile_a = T[GG_BK][GG_BM + GG_PAD];
template <typename T> using gg_tile_b = T[GG_BK][GG_BN + GG_PAD];

// What gets staged: the value itself, or (TF32 route) its TF32 rounding.
__device__ __forceinline__ unsigned gg_to_tf32(float x) {
#ifdef CUDA_EMU
    return cuda_emu::cvt_rna_tf32(x);
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
#else
    asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 "
                 "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}

// Stage a ROWS x COLS slice, value(r, c) for r0 <= r < r1 and c0 <= c < c1 (zero outside).
// The tile is always [k][m or n]: K_ROWS says whether the slice's rows are the K axis.
// Consecutive threads take consecutive columns, so put the operand's contiguous axis there.
template <bool TF32, bool K_ROWS, int ROWS, int COLS, typename T, int LD, class Value>
__device__ __forceinline__ void gg_fill_tile(T (&tile)[GG_BK][LD], int r0, int r1, int c0, int c1,
                                             const Value& value) {
    for (int i = threadIdx.x; i < ROWS * COLS; i += GG_THREADS) {
        const int r = i / COLS, c = i % COLS;
        const T v = r0 + r < r1 && c0 + c < c1 ? value(r0 + r, c0 + c) : T(0);
        if (K_ROWS) tile[r][c] = gg_stage<TF32>(v);
        else tile[c][r] = gg_stage<TF32>(v);
    }
}

// C[m0:m0+BM, n0:n0+BN] over k in [k_begin, k_end) on CUDA cores.  Every thread of the block
// must call it (it synchronises); thread (ty, tx) owns rows ty + 16i and columns tx + 16j.
template <typename T, class Op>
__device__ void gg_block_gemm(Op& op, int M, int N, int m0, int n0, int k_begin, int k_end) {
    __shared__ gg_tile_a<T> As;
    __shared__ gg_tile_b<T> Bs;
    const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
    T acc[4][4];
    #pragma unroll
    for (int i = 0; i < 4; ++i)
        #pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = T(0);
    for (int k0 = k_begin; k0 < k_end; k0 += GG_BK) {
        op.fill_a(As, m0, k0, k_end);
        op.fill_b(Bs, k0, n0, k_end);
        __syncthreads();
#pragma unroll
        for (int k = 0; k < GG_BK; ++k) {
            T a[4], b[4];
            #pragma unroll
            for (int i = 0; i < 4; ++i) a[i] = As[k][ty + 16 * i];
            #pragma unroll
            for (int j = 0; j < 4; ++j) b[j] = Bs[k][tx + 16 * j];
            #pragma unroll
            for (int i = 0; i < 4; ++i)
                #pragma unroll
                for (int j = 0; j < 4; ++j) acc[i][j] += a[i] * b[j];
        }
        __syncthreads();  // everyone is done with this slice before the next fill
    }
    #pragma unroll
    for (int i = 0; i < 4; ++i)
        #pragma unroll
        for (int j = 0; j < 4; ++j) {
            const int m = m0 + ty + 16 * i, n = n0 + tx + 16 * j;
            if (m < M && n < N) op.store(m, n, acc[i][j]);
        }
}

// The same tile on TF32 tensor cores: 8 warps as 2 (M) x 4 (N), each a 32x16 warp tile of
// 2 x 2 m16n8k8 instructions per 8-deep step.  The op must stage with gg_stage<true>.
template <class Op>
__device__ void gg_block_gemm_tf32(Op& op, int M, int N, int m0, int n0, int k_begin, int k_end) {
    __shared__ gg_tile_a<float> As;
    __shared__ gg_tile_b<float> Bs;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
    const int wm = warp / 4 * 32, wn = warp % 4 * 16;
    float acc[2][2][4];
    #pragma unroll
    for (int i = 0; i < 2; ++i)
        #pragma unroll
        for (int j = 0; j < 2; ++j)
            #pragma unroll
            for (int r = 0; r < 4; ++r) acc[i][j][r] = 0.0f;
    for (int k0 = k_begin; k0 < k_end; k0 += GG_BK) {
        op.fill_a(As, m0, k0, k_end);
        op.fill_b(Bs, k0, n0, k_end);
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < GG_BK; kk += 8) {
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
