// cuda_emu_threads.h: every CUDA thread of a block as an OS thread (-DCUDA_EMU_OS_THREADS).
//
// For ThreadSanitizer, which then sees real concurrency: a data race between threads of a
// block (a missing barrier) is reported as such.  Barriers are std::barrier; warp collectives
// need full warps.  Failures abort with a message (there is no deadlock detection here).
#pragma once

namespace cuda_emu {

struct ThreadBlock {
    std::unique_ptr<std::barrier<>> sync;
    std::vector<std::unique_ptr<std::barrier<>>> warps;
    unsigned long long values[1024];
};
inline ThreadBlock* current_block;
inline thread_local int thread_rank;
inline thread_local unsigned long long lane_values[32];

inline void fail(const std::string& msg) {
    fprintf(stderr, "gpugrad.emu: %s (threadIdx=(%u,%u,%u) blockIdx=(%u,%u,%u))\n", msg.c_str(),
            threadIdx.x, threadIdx.y, threadIdx.z, blockIdx.x, blockIdx.y, blockIdx.z);
    abort();
}

inline void block_barrier() { current_block->sync->arrive_and_wait(); }

inline const unsigned long long* warp_collective(unsigned mask, unsigned long long value) {
    ThreadBlock& b = *current_block;
    const int warp = thread_rank / 32;
    if (mask != 0xffffffffu || (warp + 1) * 32 > int(blockDim.x * blockDim.y * blockDim.z))
        fail("OS-thread mode supports warp collectives of full warps only");
    b.values[thread_rank] = value;
    b.warps[warp]->arrive_and_wait();  // all lanes published
    memcpy(lane_values, b.values + warp * 32, sizeof lane_values);
    b.warps[warp]->arrive_and_wait();  // all lanes copied before anyone publishes again
    return lane_values;
}

inline bool run_grid(dim3 grid, dim3 blk, bool reversed, void (*body)(void*), void* arg,
                     std::string&) {
    const int nthreads = int(blk.x * blk.y * blk.z);
    const long long nblocks = (long long)grid.x * grid.y * grid.z;
    for (long long k = 0; k < nblocks; ++k) {
        const long long i = reversed ? nblocks - 1 - k : k;
        const dim3 bidx(unsigned(i % grid.x), unsigned(i / grid.x % grid.y),
                        unsigned(i / ((long long)grid.x * grid.y)));
        ThreadBlock b;
        b.sync = std::make_unique<std::barrier<>>(nthreads);
        for (int w = 0; w * 32 < nthreads; ++w)
            b.warps.push_back(std::make_unique<std::barrier<>>(std::min(32, nthreads - 32 * w)));
        current_block = &b;
        poison_static_shared();
        std::vector<std::thread> threads;
        for (int t = 0; t < nthreads; ++t)
            threads.emplace_back([&, t] {
                gridDim = grid;
                blockDim = blk;
                blockIdx = bidx;
                thread_rank = t;
                threadIdx = dim3(t % blk.x, t / blk.x % blk.y, t / (blk.x * blk.y));
                body(arg);
                b.sync->arrive_and_drop();  // exited threads no longer hold barriers up
                b.warps[t / 32]->arrive_and_drop();
            });
        for (std::thread& th : threads) th.join();
    }
    return true;
}

}  // namespace cuda_emu
