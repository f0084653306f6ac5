// philox.cu: the device generator's uniform numbers, Philox4x32-10 (Salmon et al., "Parallel
// random numbers: as easy as 1, 2, 3", SC'11), counter-based: number i of a draw is a pure
// function of (key, counter + i/2), so any thread computes any number and a CUDA graph replays
// a draw with new numbers once the counter moved.
//
// state = [key, counter] (two uint64 on the device). Philox block b = counter + i/2 is the
// 128-bit counter (lo32(b), hi32(b), 0, 0) under the key (lo32(key), hi32(key)); its four
// output words give two 64-bit values, w0 | w1 << 32 for even i and w2 | w3 << 32 for odd i.
// A float is its top 24 bits times 2^-24, a double its top 53 bits times 2^-53: [0, 1).
// philox_uniform reads the state; philox_advance then moves the counter past the draw.
#include "common.cuh"

typedef unsigned long long u64;

__device__ __forceinline__ void philox_round(unsigned* c, unsigned k0, unsigned k1) {
    const u64 p0 = (u64)0xD2511F53u * c[0], p1 = (u64)0xCD9E8D57u * c[2];
    const unsigned c1 = c[1], c3 = c[3];
    c[0] = (unsigned)(p1 >> 32) ^ c1 ^ k0;
    c[1] = (unsigned)p1;
    c[2] = (unsigned)(p0 >> 32) ^ c3 ^ k1;
    c[3] = (unsigned)p0;
}

__device__ __forceinline__ u64 philox_bits(u64 key, u64 block, int odd) {
    unsigned c[4] = {(unsigned)block, (unsigned)(block >> 32), 0u, 0u};
    unsigned k0 = (unsigned)key, k1 = (unsigned)(key >> 32);
    for (int r = 0; r < 10; ++r) {
        if (r) { k0 += 0x9E3779B9u; k1 += 0xBB67AE85u; }
        philox_round(c, k0, k1);
    }
    return odd ? (u64)c[2] | (u64)c[3] << 32 : (u64)c[0] | (u64)c[1] << 32;
}

template <typename T> __device__ __forceinline__ T philox_unit(u64 bits);
template <> __device__ __forceinline__ float philox_unit<float>(u64 bits) {
    return (float)(bits >> 40) * 5.9604644775390625e-08f;  // 2^-24
}
template <> __device__ __forceinline__ double philox_unit<double>(u64 bits) {
    return (double)(bits >> 11) * 1.1102230246251565e-16;  // 2^-53
}

template <typename T>
__global__ void philox_uniform(const u64* __restrict__ state, T* __restrict__ out, long long n) {
    const u64 key = state[0], counter = state[1];
    for (long long i = gg_thread_index(); i < n; i += gg_grid_threads())
        out[i] = philox_unit<T>(philox_bits(key, counter + (u64)(i >> 1), (int)(i & 1)));
}

__global__ void philox_advance(u64* __restrict__ state, long long n) {
    if (gg_thread_index() == 0) state[1] += (u64)((n + 1) / 2);
}
