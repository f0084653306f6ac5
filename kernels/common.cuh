// common.cuh: helpers shared by the kernels in this folder (NVRTC and the CPU emulator alike).
#pragma once

// Overloads pick the float or double routine explicitly, so templates never promote to double.
__device__ __forceinline__ float gg_exp(float x) { return expf(x); }
__device__ __forceinline__ double gg_exp(double x) { return exp(x); }
__device__ __forceinline__ float gg_log(float x) { return logf(x); }
__device__ __forceinline__ double gg_log(double x) { return log(x); }
__device__ __forceinline__ float gg_erf(float x) { return erff(x); }
__device__ __forceinline__ double gg_erf(double x) { return erf(x); }
__device__ __forceinline__ float gg_tanh(float x) { return tanhf(x); }
__device__ __forceinline__ double gg_tanh(double x) { return tanh(x); }

template <typename T> __device__ __forceinline__ T gg_neg_inf();
template <> __device__ __forceinline__ float gg_neg_inf<float>() { return __int_as_float(0xff800000); }
template <> __device__ __forceinline__ double gg_neg_inf<double>() {
    return __longlong_as_double(0xfff0000000000000ULL);
}

// Index of this thread in the whole grid, and the stride of a grid-stride loop.
__device__ __forceinline__ long long gg_thread_index() {
    return (long long)blockIdx.x * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ long long gg_grid_threads() { return (long long)gridDim.x * blockDim.x; }

template <typename T> __device__ __forceinline__ T gg_warp_sum(T v) {
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
    return v;
}

// Sum over a 1-D block whose size is a multiple of 32; every thread receives the total.
// Must be reached by all threads of the block.
template <typename T> __device__ __forceinline__ T gg_block_sum(T v) {
    __shared__ T partial[32];
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    v = gg_warp_sum(v);
    __syncthreads();  // the previous call's readers are done with `partial`
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    v = lane < (int)(blockDim.x / 32) ? partial[lane] : T(0);
    return gg_warp_sum(v);
}
