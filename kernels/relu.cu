// relu.cu: ReLU forward and backward, elementwise, grid-stride.
//
//   y = x < 0 ? 0 : x   (NaN stays NaN),   gx = x > 0 ? gy : 0   (0 at x <= 0 and at NaN)
#include "common.cuh"

template <typename T>
__global__ void relu_fwd(const T* __restrict__ x, T* __restrict__ y, long long n) {
    for (long long i = gg_thread_index(); i < n; i += gg_grid_threads()) {
        const T v = x[i];
        y[i] = v < T(0) ? T(0) : v;
    }
}

template <typename T>
__global__ void relu_bwd(const T* __restrict__ x, const T* __restrict__ gy, T* __restrict__ gx,
                         long long n) {
    for (long long i = gg_thread_index(); i < n; i += gg_grid_threads())
        gx[i] = x[i] > T(0) ? gy[i] : T(0);
}
