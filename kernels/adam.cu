// adam.cu: PyTorch's fused Adam/AdamW step for every tensor of a parameter group in one launch.
//
// `table` holds 6 columns of `tensors` addresses each (column-major: column c of tensor t at
// c*tensors + t): params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs (amsgrad; any column
// otherwise) and steps (one T each), all contiguous arrays of T. `starts` (tensors + 1) is
// where each tensor begins in the concatenation of all of them. adam_count_steps adds one to
// every step count; adam_fused then updates every element, for tensor t at step s = steps[t]:
//   g = maximize ? -grad : grad;   AdamW: p -= lr*wd*p;   Adam: g += wd*p
//   m += (1-b1)(g - m);   v = b2 v + (1-b2) g^2;   amsgrad: vmax = max(vmax, v), v = vmax
//   p -= lr/(1-b1^s) * m / (sqrt(v)/sqrt(1-b2^s) + eps)
// lr and b1 are read from device scalars when the flags say so (a captured CUDA graph then
// follows a scheduler without a recapture), else taken from the scalar arguments.
#include "common.cuh"

enum { ADAM_DECOUPLED = 1, ADAM_AMSGRAD = 2, ADAM_MAXIMIZE = 4, ADAM_DEVICE_LR = 8, ADAM_DEVICE_BETA1 = 16 };
enum { ADAM_PARAM, ADAM_GRAD, ADAM_EXP_AVG, ADAM_EXP_AVG_SQ, ADAM_MAX_EXP_AVG_SQ, ADAM_STEP };

__device__ __forceinline__ float adam_pow(float x, float y) { return powf(x, y); }
__device__ __forceinline__ double adam_pow(double x, double y) { return pow(x, y); }
__device__ __forceinline__ float adam_sqrt(float x) { return sqrtf(x); }
__device__ __forceinline__ double adam_sqrt(double x) { return sqrt(x); }

template <typename T>
__device__ __forceinline__ T* adam_column(const long long* table, int column, int tensors, int t) {
    return reinterpret_cast<T*>(table[(long long)column * tensors + t]);
}

template <typename T>
__global__ void adam_count_steps(const long long* __restrict__ table, int tensors) {
    for (long long t = gg_thread_index(); t < tensors; t += gg_grid_threads())
        *adam_column<T>(table, ADAM_STEP, tensors, (int)t) += T(1);
}

template <typename T>
__global__ void adam_fused(const long long* __restrict__ table, const long long* __restrict__ starts,
                           int tensors, const T* __restrict__ device_lr, const T* __restrict__ device_beta1,
                           T lr, T beta1, T beta2, T eps, T weight_decay, int flags) {
    if (flags & ADAM_DEVICE_LR) lr = *device_lr;
    if (flags & ADAM_DEVICE_BETA1) beta1 = *device_beta1;
    const long long total = starts[tensors];
    int t = -1;
    T *p = nullptr, *gr = nullptr, *m = nullptr, *v = nullptr, *vmax = nullptr;
    T step_size = T(0), bc2_sqrt = T(1);
    long long base = 0;
    for (long long i = gg_thread_index(); i < total; i += gg_grid_threads()) {
        if (t < 0 || i >= starts[t + 1]) {  // i only grows: walk forward to its tensor
            do ++t; while (i >= starts[t + 1]);
            p = adam_column<T>(table, ADAM_PARAM, tensors, t);
            gr = adam_column<T>(table, ADAM_GRAD, tensors, t);
            m = adam_column<T>(table, ADAM_EXP_AVG, tensors, t);
            v = adam_column<T>(table, ADAM_EXP_AVG_SQ, tensors, t);
            vmax = adam_column<T>(table, ADAM_MAX_EXP_AVG_SQ, tensors, t);
            const T step = *adam_column<T>(table, ADAM_STEP, tensors, t);
            step_size = lr / (T(1) - adam_pow(beta1, step));
            bc2_sqrt = adam_sqrt(T(1) - adam_pow(beta2, step));
            base = starts[t];
        }
        const long long j = i - base;
        T g = gr[j], x = p[j];
        if (flags & ADAM_MAXIMIZE) g = -g;
        if (weight_decay != T(0)) {
            if (flags & ADAM_DECOUPLED) x -= lr * weight_decay * x;
            else g += weight_decay * x;
        }
        const T mj = m[j] + (T(1) - beta1) * (g - m[j]);
        T vj = beta2 * v[j] + (T(1) - beta2) * g * g;
        m[j] = mj;
        v[j] = vj;
        if (flags & ADAM_AMSGRAD) {
            vj = vmax[j] > vj ? vmax[j] : vj;
            vmax[j] = vj;
        }
        p[j] = x - step_size * mj / (adam_sqrt(vj) / bc2_sqrt + eps);
    }
}
