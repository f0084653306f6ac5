// cuda_emu.h: compile CUDA C kernels with g++ as host code and run them on the CPU.
//
// Blocks of a grid run one after another, so `__shared__` becomes `static` (poisoned before
// each block, as shared memory starts undefined on a GPU).  The threads of
// a block run as cooperative fibers (ucontext); `__syncthreads` and the warp collectives are
// barriers at which a fiber yields to the scheduler.  The scheduler is deterministic and can
// run threads (and blocks) in forward or reversed order to expose order dependence; when no
// fiber can run it reports a deadlock instead of hanging.  With -DCUDA_EMU_OS_THREADS every
// CUDA thread of a block is an OS thread instead (for ThreadSanitizer).
#pragma once
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atomic>
#include <cmath>
#include <string>
#include <vector>
#ifdef CUDA_EMU_OS_THREADS  // standard headers before the CUDA keyword macros below
#include <barrier>
#include <memory>
#include <thread>
#endif

#define CUDA_EMU 1
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
// Static shared variables are function-local statics; the loader's linker script gathers all
// of them (and only them: the emulator keeps its own state at namespace scope) into one
// section, which is poisoned (0xFF) before every block.
#define __shared__ static
#define __constant__ static const
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))

// ---- vector and index types ---------------------------------------------------------------
struct uint3 { unsigned int x, y, z; };
struct dim3 {
    unsigned int x = 1, y = 1, z = 1;
    dim3() = default;
    dim3(unsigned int x_, unsigned int y_ = 1, unsigned int z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct alignas(8) float2 { float x, y; };
struct alignas(16) float4 { float x, y, z, w; };
struct alignas(16) double2 { double x, y; };
struct alignas(16) int4 { int x, y, z, w; };
inline float2 make_float2(float x, float y) { return {x, y}; }
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
inline double2 make_double2(double x, double y) { return {x, y}; }

inline thread_local dim3 threadIdx, blockIdx, blockDim, gridDim;
constexpr int warpSize = 32;

// ---- device math that g++ lacks ----------------------------------------------------------------
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline double rsqrt(double x) { return 1.0 / sqrt(x); }
inline float __expf(float x) { return expf(x); }
inline float __logf(float x) { return logf(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __int_as_float(int v) { float f; memcpy(&f, &v, 4); return f; }
inline int __float_as_int(float f) { int v; memcpy(&v, &f, 4); return v; }
inline float __uint_as_float(unsigned v) { float f; memcpy(&f, &v, 4); return f; }
inline unsigned __float_as_uint(float f) { unsigned v; memcpy(&v, &f, 4); return v; }
inline double __longlong_as_double(long long v) { double d; memcpy(&d, &v, 8); return d; }
inline long long __double_as_longlong(double d) { long long v; memcpy(&v, &d, 8); return v; }
template <class T> inline T __ldg(const T* p) { return *p; }
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }
inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
inline float min(float a, float b) { return fminf(a, b); }
inline float max(float a, float b) { return fmaxf(a, b); }
inline double min(double a, double b) { return fmin(a, b); }
inline double max(double a, double b) { return fmax(a, b); }

// ---- atomics -----------------------------------------------------------------------------
template <class T> inline T atomicAdd(T* p, T v) { return std::atomic_ref<T>(*p).fetch_add(v); }
template <class T> inline T atomicSub(T* p, T v) { return std::atomic_ref<T>(*p).fetch_sub(v); }
template <class T> inline T atomicExch(T* p, T v) { return std::atomic_ref<T>(*p).exchange(v); }
template <class T> inline T atomicCAS(T* p, T expected, T desired) {
    std::atomic_ref<T>(*p).compare_exchange_strong(expected, desired);
    return expected;
}
template <class T> inline T atomicMax(T* p, T v) {
    std::atomic_ref<T> r(*p);
    T old = r.load();
    while (old < v && !r.compare_exchange_weak(old, v)) {}
    return old;
}
template <class T> inline T atomicMin(T* p, T v) {
    std::atomic_ref<T> r(*p);
    T old = r.load();
    while (v < old && !r.compare_exchange_weak(old, v)) {}
    return old;
}
inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }

namespace cuda_emu {

// Kernel bodies call these; the scheduler (fibers or OS threads) implements them.
inline void fail(const std::string& msg);
inline void block_barrier();
// Warp collective: publish `value`, wait for every lane of `mask`, return the 32 lane slots
// (valid until this lane's next collective).
inline const unsigned long long* warp_collective(unsigned mask, unsigned long long value);
// Bounds of the section holding every static __shared__ variable (weak: a module may have none).
extern "C" char __start_cuda_emu_shared[] __attribute__((weak));
extern "C" char __stop_cuda_emu_shared[] __attribute__((weak));
inline void poison_static_shared() {
    if (__start_cuda_emu_shared != __stop_cuda_emu_shared)
        memset(__start_cuda_emu_shared, 0xFF, size_t(__stop_cuda_emu_shared - __start_cuda_emu_shared));
}
inline int lane_id() {
    return int((threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z)) % 32);
}

}  // namespace cuda_emu

inline void __syncthreads() { cuda_emu::block_barrier(); }
inline void __trap() { cuda_emu::fail("__trap() called"); }

template <class T> inline T emu_shfl(unsigned mask, T var, int src) {
    static_assert(sizeof(T) <= 8, "shuffle of a type wider than 8 bytes");
    unsigned long long bits = 0;
    memcpy(&bits, &var, sizeof(T));
    bits = cuda_emu::warp_collective(mask, bits)[src];
    T out;
    memcpy(&out, &bits, sizeof(T));
    return out;
}
// Source lanes follow the CUDA rules for sub-warp `width`; out-of-segment sources read self.
template <class T> inline T __shfl_sync(unsigned mask, T var, int src, int width = 32) {
    int lane = cuda_emu::lane_id(), base = lane - lane % width;
    return emu_shfl(mask, var, base + ((src % width) + width) % width);
}
template <class T> inline T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = 32) {
    int lane = cuda_emu::lane_id(), base = lane - lane % width;
    int src = lane + int(delta);
    return emu_shfl(mask, var, src < base + width ? src : lane);
}
template <class T> inline T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = 32) {
    int lane = cuda_emu::lane_id(), base = lane - lane % width;
    int src = lane - int(delta);
    return emu_shfl(mask, var, src >= base ? src : lane);
}
template <class T> inline T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = 32) {
    int lane = cuda_emu::lane_id(), base = lane - lane % width;
    int src = lane ^ lane_mask;
    return emu_shfl(mask, var, src < base + width ? src : lane);
}
inline unsigned __ballot_sync(unsigned mask, int pred) {
    const unsigned long long* slots = cuda_emu::warp_collective(mask, pred ? 1 : 0);
    unsigned out = 0;
    for (int l = 0; l < 32; ++l)
        if (mask >> l & 1u) out |= unsigned(slots[l]) << l;
    return out;
}
inline void __syncwarp(unsigned mask = 0xffffffffu) {
    cuda_emu::warp_collective(mask, 0);
}

#include "cuda_emu_mma.h"

#ifdef CUDA_EMU_OS_THREADS
#include "cuda_emu_threads.h"
#else
#include "cuda_emu_fibers.h"
#endif
#include "cuda_emu_launch.h"
