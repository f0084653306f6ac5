// softmax_xent.cu: fused softmax cross-entropy over the class dimension of (N, K) logits.
//
//   lse = log sum_k exp(x[k]),  loss = (1-eps)(lse - x[t]) + eps (lse - mean_k x[k])
//   dloss/dx[k] = softmax(x)[k] - (1-eps)[k == t] - eps/K
// Rows whose target equals ignore_index get loss 0 and gradient 0.  One block per row
// (grid-stride over rows); blockDim.x a multiple of 32.
#include "common.cuh"

// Running (max, sum of exp(x - max)) pairs combine exactly; a pair with sum 0 or max -inf
// (nothing, or only -inf logits, seen yet) adds nothing, never exp(-inf - -inf) = NaN.
template <typename T> __device__ __forceinline__ T lse_scaled(T s, T m, T mm) {
    return s == T(0) || m == gg_neg_inf<T>() ? T(0) : s * gg_exp(m - mm);
}

template <typename T> __device__ __forceinline__ void lse_merge(T& m, T& s, T m2, T s2) {
    const T mm = m > m2 ? m : m2;
    s = lse_scaled(s, m, mm) + lse_scaled(s2, m2, mm);
    m = mm;
}

template <typename T> __device__ __forceinline__ void warp_lse_sum(T& m, T& s, T& sx) {
    for (int offset = 16; offset > 0; offset >>= 1) {
        const T m2 = __shfl_xor_sync(0xffffffffu, m, offset);
        const T s2 = __shfl_xor_sync(0xffffffffu, s, offset);
        sx += __shfl_xor_sync(0xffffffffu, sx, offset);
        lse_merge(m, s, m2, s2);
    }
}

template <typename T>
__global__ void softmax_xent_fwd(const T* __restrict__ logits, const long long* __restrict__ target,
                                 T* __restrict__ loss, T* __restrict__ lse, int N, int K,
                                 long long ignore_index, T label_smoothing) {
    __shared__ T part_m[32], part_s[32], part_x[32];
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    for (long long row = blockIdx.x; row < N; row += gridDim.x) {  // uniform per block
        const T* x = logits + row * K;
        T m = gg_neg_inf<T>(), s = T(0), sx = T(0);  // one pass: online max and sum
        for (int k = threadIdx.x; k < K; k += blockDim.x) {
            const T v = x[k];
            sx += v;
            lse_merge(m, s, v, T(1));
        }
        warp_lse_sum(m, s, sx);
        __syncthreads();  // the previous row's readers are done with the partials
        if (lane == 0) {
            part_m[warp] = m;
            part_s[warp] = s;
            part_x[warp] = sx;
        }
        __syncthreads();
        const bool have = lane < (int)(blockDim.x / 32);
        m = have ? part_m[lane] : gg_neg_inf<T>();
        s = have ? part_s[lane] : T(0);
        sx = have ? part_x[lane] : T(0);
        warp_lse_sum(m, s, sx);
        if (threadIdx.x == 0) {
            const T l = m + gg_log(s);
            const long long t = target[row];
            lse[row] = l;
            // Without smoothing the smoothing term is left out, not multiplied by 0: a -inf
            // logit elsewhere makes it inf (PyTorch does the same).
            loss[row] = t == ignore_index         ? T(0)
                      : label_smoothing == T(0) ? l - x[t]
                      : (T(1) - label_smoothing) * (l - x[t]) + label_smoothing * (l - sx / T(K));
        }
    }
}

template <typename T>
__global__ void softmax_xent_bwd(const T* __restrict__ logits, const long long* __restrict__ target,
                                 const T* __restrict__ lse, const T* __restrict__ gloss,
                                 T* __restrict__ glogits, int N, int K, long long ignore_index,
                                 T label_smoothing) {
    for (long long row = blockIdx.x; row < N; row += gridDim.x) {
        const long long t = target[row];
        const bool ignored = t == ignore_index;
        const T l = lse[row], g = gloss[row], uniform = label_smoothing / T(K);
        for (int k = threadIdx.x; k < K; k += blockDim.x) {
            const T onehot = k == t ? T(1) - label_smoothing : T(0);
            glogits[row * K + k] =
                ignored ? T(0) : g * (gg_exp(logits[row * K + k] - l) - onehot - uniform);
        }
    }
}
