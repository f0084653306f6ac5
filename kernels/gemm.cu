// gemm.cu: batched C[z] (M x N, row-major) = A[z] (M x K) @ B[z] (K x N) for strided A and B.
//
// Element (m, k) of A[z] is A[z*sab + m*sam + k*sak], element (k, n) of B[z] is
// B[z*sbb + k*sbk + n*sbn], so a transposed operand is just swapped strides (no copy) and a
// broadcast batch has stride 0.  Tiles are staged through shared memory (gemm_tile.cuh).
// vec_a / vec_b pick the loads: 0 scalar, 1 one 16-byte vector along the operand's
// contiguous axis (the host checks alignment, strides and that the axis length is a multiple
// of the vector width), so aligned row-major and transposed operands both load vectors.
// gemm_tf32 is the float route on TF32 tensor cores, used only when allow_tf32 is set.
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
template <bool TF32, bool K_ROWS, int ROWS, int COLS, typename T, int LD>
__device__ __forceinline__ void gg_fill_tile_vec(T (&tile)[GG_BK][LD], const T* __restrict__ p,
                                                 long long ld, int r0, int r1, int c0, int c1) {
    constexpr int VEC = gg_vec<T>::width;
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
    int M, N;
    long long sam, sak, sbk, sbn;
    int vec_a, vec_b;

    __device__ void fill_a(gg_tile_a<T>& As, int m0, int k0, int k1) const {
        const T* a = A;
        const long long sm = sam, sk = sak;
        if (vec_a && sak == 1) gg_fill_tile_vec<TF32, false, GG_BM, GG_BK>(As, a, sam, m0, M, k0, k1);
        else if (vec_a) gg_fill_tile_vec<TF32, true, GG_BK, GG_BM>(As, a, sak, k0, k1, m0, M);
        else if (sak == 1)
            gg_fill_tile<TF32, false, GG_BM, GG_BK>(As, m0, M, k0, k1, [&](int m, int k) { return a[m * sm + k]; });
        else
            gg_fill_tile<TF32, true, GG_BK, GG_BM>(As, k0, k1, m0, M, [&](int k, int m) { return a[m * sm + k * sk]; });
    }
    __device__ void fill_b(gg_tile_b<T>& Bs, int k0, int n0, int k1) const {
        const T* b = B;
        const long long sk = sbk, sn = sbn;
        if (vec_b && sbn == 1) gg_fill_tile_vec<TF32, true, GG_BK, GG_BN>(Bs, b, sbk, k0, k1, n0, N);
        else if (vec_b) gg_fill_tile_vec<TF32, false, GG_BN, GG_BK>(Bs, b, sbn, n0, N, k0, k1);
        else if (sbk == 1)
            gg_fill_tile<TF32, false, GG_BN, GG_BK>(Bs, n0, N, k0, k1, [&](int n, int k) { return b[n * sn + k]; });
        else
            gg_fill_tile<TF32, true, GG_BK, GG_BN>(Bs, k0, k1, n0, N, [&](int k, int n) { return b[k * sk + n * sn]; });
    }
    __device__ void store(int m, int n, T v) const { C[(long long)m * N + n] = v; }
};

// grid (ceil(N/BN), ceil(M/BM), min(batch, 65535)), block GG_THREADS.
template <typename T, bool TF32>
__device__ void gemm_body(const T* A, const T* B, T* C, int M, int N, int K, int batch, long long sab,
                          long long sam, long long sak, long long sbb, long long sbk, long long sbn,
                          int vec_a, int vec_b) {
    for (int z = blockIdx.z; z < batch; z += gridDim.z) {  // uniform per block
        GemmOp<T, TF32> op{A + z * sab, B + z * sbb, C + (long long)z * M * N, M, N, sam, sak, sbk, sbn,
                           vec_a, vec_b};
        gg_tile<T, TF32>(op, M, N, blockIdx.y * GG_BM, blockIdx.x * GG_BN, 0, K);
    }
}

template <typename T>
__global__ __launch_bounds__(GG_THREADS, 2) void gemm(const T* __restrict__ A, const T* __restrict__ B, T* __restrict__ C, int M, int N, int K, int batch,
     long long sab, long long sam, long long sak, long long sbb, long long sbk, long long sbn, int vec_a,
     int vec_b) {
    gemm_body<T, false>(A, B, C, M, N, K, batch, sab, sam, sak, sbb, sbk, sbn, vec_a, vec_b);
}

__global__ __launch_bounds__(GG_THREADS, 2) void gemm_tf32(const float* __restrict__ A, const float* __restrict__ B, float* __restrict__ C, int M, int N,
          int K, int batch, long long sab, long long sam, long long sak, long long sbb, long long sbk,
          long long sbn, int vec_a, int vec_b) {
    gemm_body<float, true>(A, B, C, M, N, K, batch, sab, sam, sak, sbb, sbk, sbn, vec_a, vec_b);
}
