// gemm.cu: batched C[z] (M x N, row-major) = A[z] (M x K) @ B[z] (K x N).
//
// A[z] starts at A + z*sab and is stored row-major with leading dimension lda, either as
// M x K or (layout bit 0) as K x M, i.e. a transposed view, read without a copy; likewise
// B[z] at B + z*sbb as K x N or (bit 1) N x K.  A broadcast batch has stride 0.  Bits 2 and 3
// select 16-byte vector loads along A's and B's contiguous axis (the host checks alignment,
// strides and that the axis length is a multiple of the vector width); otherwise scalar loads.
// Tiles are staged through shared memory (gemm_tile.cuh).  gemm_tf32 is the float route on
// TF32 tensor cores, used only when allow_tf32 is set.
#include "gemm_tile.cuh"

template <typename T> struct gg_vec;
template <> struct gg_vec<float> { using type = float4; static constexpr int width = 4; };
template <> struct gg_vec<double> { using type = double2; static constexpr int width = 2; };
__device__ __forceinline__ void gg_unpack(const float4& v, float (&out)[4]) {
    out[0] = v.x; out[1] = v.y; out[2] = v.z; out[3] = v.w;
}
__device__ __forceinline__ void gg_unpack(const double2& v, double (&out)[2]) {
    out[0] = v.x; out[1] = v.y;
}

// Like gg_fill_tile for p[r*ld + c], loading VEC consecutive columns at a time (c1 % VEC == 0).
template <bool TF32, bool K_ROWS, typename T, int BK, int LD>
__device__ __forceinline__ void gg_fill_tile_vec(T (&tile)[BK][LD], const T* __restrict__ p,
                                                 long long ld, int r0, int r1, int c0, int c1) {
    constexpr int VEC = gg_vec<T>::width;
    constexpr int ROWS = K_ROWS ? BK : LD - GG_PAD, COLS = K_ROWS ? LD - GG_PAD : BK;
    for (int i = threadIdx.x; i < ROWS * COLS / VEC; i += GG_THREADS) {
        const int r = i / (COLS / VEC), c = i % (COLS / VEC) * VEC;
        T v[VEC];
        if (r0 + r < r1 && c0 + c < c1)
            gg_unpack(*reinterpret_cast<const typename gg_vec<T>::type*>(p + (r0 + r) * ld + c0 + c), v);
        else
#pragma unroll
            for (int e = 0; e < VEC; ++e) v[e] = T(0);
#pragma unroll
        for (int e = 0; e < VEC; ++e) {
            if (K_ROWS) tile[r][c + e] = gg_stage<TF32>(v[e]);
            else tile[c + e][r] = gg_stage<TF32>(v[e]);
        }
    }
}

template <typename T, bool TF32> struct GemmOp {
    const T* __restrict__ A;
    const T* __restrict__ B;
    T* __restrict__ C;
    int M, N, lda, ldb;
    int layout;  // bit 0: A is (K x M) row-major, bit 1: B is (N x K); bits 2, 3: vector loads of A, B

    template <class Tile> __device__ void fill_a(Tile& As, int m0, int k0, int k1) const {
        const T* a = A;
        const long long ld = lda;
        switch (layout & 5) {
            case 0: gg_fill_tile<TF32, false>(As, m0, M, k0, k1, [&](int m, int k) { return a[m * ld + k]; }); break;
            case 1: gg_fill_tile<TF32, true>(As, k0, k1, m0, M, [&](int k, int m) { return a[k * ld + m]; }); break;
            case 4: gg_fill_tile_vec<TF32, false>(As, a, ld, m0, M, k0, k1); break;
            default: gg_fill_tile_vec<TF32, true>(As, a, ld, k0, k1, m0, M);
        }
    }
    template <class Tile> __device__ void fill_b(Tile& Bs, int k0, int n0, int k1) const {
        const T* b = B;
        const long long ld = ldb;
        switch (layout & 10) {
            case 0: gg_fill_tile<TF32, true>(Bs, k0, k1, n0, N, [&](int k, int n) { return b[k * ld + n]; }); break;
            case 2: gg_fill_tile<TF32, false>(Bs, n0, N, k0, k1, [&](int n, int k) { return b[n * ld + k]; }); break;
            case 8: gg_fill_tile_vec<TF32, true>(Bs, b, ld, k0, k1, n0, N); break;
            default: gg_fill_tile_vec<TF32, false>(Bs, b, ld, n0, N, k0, k1);
        }
    }
    __device__ void store(int m, int n, T v) const { C[(long long)m * N + n] = v; }
};

// grid (ceil(N/BN), ceil(M/BM), min(batch, 65535)) with gg_cfg's BM, BN; block GG_THREADS.
template <typename T, bool TF32>
__device__ void gemm_body(const T* A, const T* B, T* C, int M, int N, int K, int batch, long long sab,
                          long long sbb, int lda, int ldb, int layout) {
    for (int z = blockIdx.z; z < batch; z += gridDim.z) {  // uniform per block
        GemmOp<T, TF32> op{A + z * sab, B + z * sbb, C + (long long)z * M * N, M, N, lda, ldb, layout};
        gg_tile<T, TF32>(op, M, N, blockIdx.y * gg_cfg<T, TF32>::BM, blockIdx.x * gg_cfg<T, TF32>::BN, 0, K);
    }
}

template <typename T>
__global__ __launch_bounds__(GG_THREADS, 2) void gemm(
    const T* __restrict__ A, const T* __restrict__ B, T* __restrict__ C, int M, int N, int K, int batch,
    long long sab, long long sbb, int lda, int ldb, int layout) {
    gemm_body<T, false>(A, B, C, M, N, K, batch, sab, sbb, lda, ldb, layout);
}

__global__ __launch_bounds__(GG_THREADS, 2) void gemm_tf32(
    const float* __restrict__ A, const float* __restrict__ B, float* __restrict__ C, int M, int N, int K,
    int batch, long long sab, long long sbb, int lda, int ldb, int layout) {
    gemm_body<float, true>(A, B, C, M, N, K, batch, sab, sbb, lda, ldb, layout);
}
