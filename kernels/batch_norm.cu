// batch_norm.cu: training-mode batch norm of x (N, C, L) over N and L, per channel.
//
//   forward:  mean = sum x / m,  var = sum (x - mean)^2 / m  (m = N*L, biased),
//             invstd = 1/sqrt(var + eps),  y = (x - mean) * invstd * weight + bias
//   backward: xhat = (x - mean) * invstd,  gbias = sum gy,  gweight = sum gy * xhat,
//             gx = weight * invstd * (gy - gbias/m - xhat * gweight/m)
// One block per channel (grid-stride over channels; blockDim.x a multiple of 32): the
// forward's two passes for the statistics (the variance of centred values, accurate for any
// mean), then one to write y; the backward's one pass for both sums, then one to write gx.
// `flags`: 1 weight given, 2 bias given (an absent one is 1 or 0; its pointer is not read).
#include "common.cuh"

__device__ __forceinline__ float bn_rsqrt(float v) { return rsqrtf(v); }
__device__ __forceinline__ double bn_rsqrt(double v) { return rsqrt(v); }

// Offset of the i-th of channel c's m values: i = n*L + l.
__device__ __forceinline__ long long bn_offset(long long i, int c, int C, long long L) {
    const long long n = i / L;
    return (n * C + c) * L + (i - n * L);
}

template <typename T>
__global__ void batch_norm_fwd(const T* __restrict__ x, const T* __restrict__ weight,
                               const T* __restrict__ bias, T* __restrict__ y, T* __restrict__ mean,
                               T* __restrict__ var, T* __restrict__ invstd, int N, int C, long long L,
                               T eps, int flags) {
    const long long m = (long long)N * L;
    for (int c = blockIdx.x; c < C; c += gridDim.x) {  // uniform per block
        T s = T(0);
        for (long long i = threadIdx.x; i < m; i += blockDim.x) s += x[bn_offset(i, c, C, L)];
        const T mu = gg_block_sum(s) / T(m);
        T ss = T(0);
        for (long long i = threadIdx.x; i < m; i += blockDim.x) {
            const T d = x[bn_offset(i, c, C, L)] - mu;
            ss += d * d;
        }
        const T v = gg_block_sum(ss) / T(m);
        const T k = bn_rsqrt(v + eps);
        if (threadIdx.x == 0) {
            mean[c] = mu;
            var[c] = v;
            invstd[c] = k;
        }
        const T scale = flags & 1 ? k * weight[c] : k;
        const T shift = flags & 2 ? bias[c] : T(0);
        for (long long i = threadIdx.x; i < m; i += blockDim.x) {
            const long long j = bn_offset(i, c, C, L);
            y[j] = (x[j] - mu) * scale + shift;
        }
    }
}

template <typename T>
__global__ void batch_norm_bwd(const T* __restrict__ x, const T* __restrict__ gy,
                               const T* __restrict__ mean, const T* __restrict__ invstd,
                               const T* __restrict__ weight, T* __restrict__ gx,
                               T* __restrict__ gweight, T* __restrict__ gbias, int N, int C,
                               long long L, int flags) {
    const long long m = (long long)N * L;
    for (int c = blockIdx.x; c < C; c += gridDim.x) {
        const T mu = mean[c], k = invstd[c];
        T sg = T(0), sgx = T(0);  // sum gy, sum gy * (x - mean)
        for (long long i = threadIdx.x; i < m; i += blockDim.x) {
            const long long j = bn_offset(i, c, C, L);
            sg += gy[j];
            sgx += gy[j] * (x[j] - mu);
        }
        sg = gg_block_sum(sg);
        sgx = gg_block_sum(sgx);
        if (threadIdx.x == 0) {
            gbias[c] = sg;
            gweight[c] = sgx * k;
        }
        const T a = sg / T(m), q = k * k * sgx / T(m);
        const T scale = flags & 1 ? k * weight[c] : k;
        for (long long i = threadIdx.x; i < m; i += blockDim.x) {
            const long long j = bn_offset(i, c, C, L);
            gx[j] = (gy[j] - a - (x[j] - mu) * q) * scale;
        }
    }
}
