// gelu.cu: GELU forward and backward, exact (erf) and tanh-approximate forms.
//
//   exact:  y = x/2 (1 + erf(x/sqrt2)),           y' = (1 + erf(x/sqrt2))/2 + x phi(x)
//   tanh:   u = sqrt(2/pi)(x + 0.044715 x^3),  y = x/2 (1 + tanh u),
//           y' = (1 + tanh u)/2 + x/2 (1 - tanh^2 u) sqrt(2/pi)(1 + 3*0.044715 x^2)
// `approximate` is 0 for exact, 1 for tanh.  Elementwise, grid-stride; the _f4 kernels move
// float4s (x, y, gy and gx 16-byte aligned) and finish the n % 4 tail with scalar loads.
#include "common.cuh"

template <typename T> __device__ __forceinline__ T gelu_value(T x, int approximate) {
    if (approximate) {
        const T u = T(0.7978845608028654) * (x + T(0.044715) * x * x * x);
        return T(0.5) * x * (T(1) + gg_tanh(u));
    }
    return T(0.5) * x * (T(1) + gg_erf(x * T(0.7071067811865476)));
}

template <typename T> __device__ __forceinline__ T gelu_grad(T x, int approximate) {
    if (approximate) {
        const T u = T(0.7978845608028654) * (x + T(0.044715) * x * x * x);
        const T t = gg_tanh(u);
        const T du = T(0.7978845608028654) * (T(1) + T(3 * 0.044715) * x * x);
        return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * du;
    }
    const T pdf = T(0.3989422804014327) * gg_exp(T(-0.5) * x * x);
    return T(0.5) * (T(1) + gg_erf(x * T(0.7071067811865476))) + x * pdf;
}

template <typename T>
__global__ void gelu_fwd(const T* __restrict__ x, T* __restrict__ y, long long n, int approximate) {
    for (long long i = gg_thread_index(); i < n; i += gg_grid_threads())
        y[i] = gelu_value(x[i], approximate);
}

template <typename T>
__global__ void gelu_bwd(const T* __restrict__ x, const T* __restrict__ gy, T* __restrict__ gx,
                         long long n, int approximate) {
    for (long long i = gg_thread_index(); i < n; i += gg_grid_threads())
        gx[i] = gy[i] * gelu_grad(x[i], approximate);
}

__global__ void gelu_fwd_f4(const float* __restrict__ x, float* __restrict__ y, long long n,
                            int approximate) {
    const long long n4 = n / 4;
    const float4* x4 = reinterpret_cast<const float4*>(x);
    float4* y4 = reinterpret_cast<float4*>(y);
    for (long long i = gg_thread_index(); i < n4; i += gg_grid_threads()) {
        const float4 v = x4[i];
        y4[i] = make_float4(gelu_value(v.x, approximate), gelu_value(v.y, approximate),
                            gelu_value(v.z, approximate), gelu_value(v.w, approximate));
    }
    for (long long i = 4 * n4 + gg_thread_index(); i < n; i += gg_grid_threads())
        y[i] = gelu_value(x[i], approximate);
}

__global__ void gelu_bwd_f4(const float* __restrict__ x, const float* __restrict__ gy,
                            float* __restrict__ gx, long long n, int approximate) {
    const long long n4 = n / 4;
    const float4* x4 = reinterpret_cast<const float4*>(x);
    const float4* g4 = reinterpret_cast<const float4*>(gy);
    float4* o4 = reinterpret_cast<float4*>(gx);
    for (long long i = gg_thread_index(); i < n4; i += gg_grid_threads()) {
        const float4 v = x4[i], g = g4[i];
        o4[i] = make_float4(g.x * gelu_grad(v.x, approximate), g.y * gelu_grad(v.y, approximate),
                            g.z * gelu_grad(v.z, approximate), g.w * gelu_grad(v.w, approximate));
    }
    for (long long i = 4 * n4 + gg_thread_index(); i < n; i += gg_grid_threads())
        gx[i] = gy[i] * gelu_grad(x[i], approximate);
}
