// cuda_emu_fibers.h: the threads of a block as cooperative ucontext fibers (included by cuda_emu.h).
//
// The scheduler resumes every runnable fiber in turn (forward or reversed thread order); a
// fiber runs until it finishes or waits at a barrier.  When none can run, a barrier whose
// participants have all arrived is released; if there is none, the block has deadlocked
// (e.g. a __syncthreads inside divergent code) and the launch fails with a description.
#pragma once
#include <sys/mman.h>
#include <ucontext.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define CUDA_EMU_ASAN 1
#endif

namespace cuda_emu {

enum class State { ready, at_sync, at_warp, done };

struct Fiber {
    ucontext_t ctx;
    State state = State::ready;
    unsigned mask = 0;              // lanes of the warp collective it waits in
    unsigned long long value = 0;   // what it published there
    unsigned long long lanes[32];   // what every lane published, copied on release
    void* fake_stack = nullptr;  // AddressSanitizer's bookkeeping for stack switches
};

struct Block {
    static constexpr size_t stack_bytes =
#ifdef CUDA_EMU_ASAN
        512 * 1024;
#else
        128 * 1024;
#endif
    std::vector<Fiber> fibers;
    std::vector<char*> stacks;  // each preceded by a PROT_NONE guard page
    ucontext_t main;
    void* main_fake_stack = nullptr;
    const void* main_bottom = nullptr;
    size_t main_size = 0;
    int current = -1, nthreads = 0;
    bool failed = false;
    std::string error;
    void (*body)(void*) = nullptr;
    void* arg = nullptr;

    ~Block() {
        for (char* s : stacks) munmap(s - 4096, stack_bytes + 4096);
    }
    void ensure_stacks(int n) {
        while ((int)stacks.size() < n) {
            void* m = mmap(nullptr, stack_bytes + 4096, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
            if (m == MAP_FAILED) { perror("cuda_emu: mmap fiber stack"); abort(); }
            mprotect(m, 4096, PROT_NONE);
            stacks.push_back(static_cast<char*>(m) + 4096);
        }
    }
};

inline Block the_block;  // namespace scope: function-local statics are shared memory (loader.py)
inline Block& block() { return the_block; }

inline void set_thread_index(int t) {
    threadIdx.x = t % blockDim.x;
    threadIdx.y = (t / blockDim.x) % blockDim.y;
    threadIdx.z = t / (blockDim.x * blockDim.y);
}

// Fiber -> scheduler.  Returns when the scheduler resumes this fiber.
inline void yield_to_scheduler(bool finished = false) {
    Block& b = block();
    Fiber& f = b.fibers[b.current];
#ifdef CUDA_EMU_ASAN
    __sanitizer_start_switch_fiber(finished ? nullptr : &f.fake_stack, b.main_bottom, b.main_size);
#endif
    swapcontext(&f.ctx, &b.main);
#ifdef CUDA_EMU_ASAN
    __sanitizer_finish_switch_fiber(f.fake_stack, &b.main_bottom, &b.main_size);
#endif
    (void)finished;
}

inline void fiber_entry() {
    Block& b = block();
#ifdef CUDA_EMU_ASAN
    __sanitizer_finish_switch_fiber(nullptr, &b.main_bottom, &b.main_size);
#endif
    b.body(b.arg);
    b.fibers[b.current].state = State::done;
    yield_to_scheduler(true);
}

// Scheduler -> fiber t.
inline void resume(int t) {
    Block& b = block();
    b.current = t;
    set_thread_index(t);
#ifdef CUDA_EMU_ASAN
    __sanitizer_start_switch_fiber(&b.main_fake_stack, b.stacks[t], Block::stack_bytes);
#endif
    swapcontext(&b.main, &b.fibers[t].ctx);
#ifdef CUDA_EMU_ASAN
    __sanitizer_finish_switch_fiber(b.main_fake_stack, nullptr, nullptr);
#endif
}

inline void fail(const std::string& msg) {
    Block& b = block();
    char where[96];
    snprintf(where, sizeof where, " (threadIdx=(%u,%u,%u))", threadIdx.x, threadIdx.y, threadIdx.z);
    b.failed = true;
    b.error = msg + where;
    b.fibers[b.current].state = State::done;
    yield_to_scheduler(true);  // never resumed
}

inline void block_barrier() {
    Block& b = block();
    b.fibers[b.current].state = State::at_sync;
    yield_to_scheduler();
}

inline const unsigned long long* warp_collective(unsigned mask, unsigned long long value) {
    Block& b = block();
    Fiber& f = b.fibers[b.current];
    if (!(mask >> (b.current % 32) & 1u)) fail("warp collective called by a lane outside its mask");
    f.value = value;
    f.mask = mask;
    f.state = State::at_warp;
    yield_to_scheduler();
    return f.lanes;
}

// Releases every warp collective whose lanes have all arrived; reports lanes that cannot.
inline bool release_warps() {
    Block& b = block();
    bool released = false;
    for (int t = 0; t < b.nthreads && !b.failed; ++t) {
        Fiber& f = b.fibers[t];
        if (f.state != State::at_warp) continue;
        int warp = t / 32;
        bool complete = true;
        for (int l = 0; l < 32 && complete; ++l) {
            if (!(f.mask >> l & 1u)) continue;
            int u = warp * 32 + l;
            if (u >= b.nthreads) {
                char msg[96];
                snprintf(msg, sizeof msg, "warp collective mask 0x%08x names lane %d beyond the block",
                         f.mask, l);
                b.failed = true;
                b.error = msg;
                return false;
            }
            Fiber& g = b.fibers[u];
            if (g.state == State::done) {
                b.failed = true;
                b.error = "thread " + std::to_string(t) + " waits in a warp collective for lane " +
                          std::to_string(l) + ", which has exited";
                return false;
            }
            complete = g.state == State::at_warp && g.mask == f.mask;
        }
        if (!complete) continue;
        unsigned long long lanes[32] = {};
        for (int l = 0; l < 32; ++l)
            if (f.mask >> l & 1u) lanes[l] = b.fibers[warp * 32 + l].value;
        for (int l = 0; l < 32; ++l)
            if (f.mask >> l & 1u) {
                Fiber& g = b.fibers[warp * 32 + l];
                memcpy(g.lanes, lanes, sizeof lanes);
                g.state = State::ready;
            }
        released = true;
    }
    return released;
}

inline bool release_block_barrier() {
    Block& b = block();
    int sync = 0, done = 0, first_done = -1;
    for (int t = 0; t < b.nthreads; ++t) {
        State s = b.fibers[t].state;
        sync += s == State::at_sync;
        if (s == State::done && first_done < 0) first_done = t;
        done += s == State::done;
    }
    if (sync == 0 || sync + done != b.nthreads) return false;
    if (done > 0) {
        b.failed = true;
        b.error = std::to_string(sync) + " threads wait at __syncthreads but thread " +
                  std::to_string(first_done) + " (and " + std::to_string(done - 1) +
                  " more) exited: divergent __syncthreads";
        return false;
    }
    for (Fiber& f : b.fibers) f.state = State::ready;
    return true;
}

inline std::string describe_deadlock() {
    Block& b = block();
    int n[4] = {0, 0, 0, 0};
    for (int t = 0; t < b.nthreads; ++t) ++n[int(b.fibers[t].state)];
    return "deadlock: no thread can run (" + std::to_string(n[1]) + " at __syncthreads, " +
           std::to_string(n[2]) + " in warp collectives, " + std::to_string(n[3]) + " exited)";
}

inline bool run_block(int nthreads, bool reversed) {
    Block& b = block();
    b.ensure_stacks(nthreads);
    b.fibers.assign(nthreads, Fiber{});
    b.nthreads = nthreads;
    for (int t = 0; t < nthreads; ++t) {
        Fiber& f = b.fibers[t];
        getcontext(&f.ctx);
        f.ctx.uc_stack.ss_sp = b.stacks[t];
        f.ctx.uc_stack.ss_size = Block::stack_bytes;
        f.ctx.uc_link = nullptr;
        makecontext(&f.ctx, fiber_entry, 0);
    }
    for (;;) {
        bool all_done = true;
        for (int k = 0; k < nthreads; ++k) {
            int t = reversed ? nthreads - 1 - k : k;
            if (b.fibers[t].state == State::ready) resume(t);
            if (b.failed) return false;
            all_done = all_done && b.fibers[t].state == State::done;
        }
        if (all_done) return true;
        if (release_warps() || (!b.failed && release_block_barrier())) continue;
        if (!b.failed) {
            b.failed = true;
            b.error = describe_deadlock();
        }
        return false;
    }
}

// Runs every block of the grid; on failure `err` names the block and the problem.
inline bool run_grid(dim3 grid, dim3 blk, bool reversed, void (*body)(void*), void* arg,
                     std::string& err) {
    Block& b = block();
    b.body = body;
    b.arg = arg;
    b.failed = false;
    gridDim = grid;
    blockDim = blk;
    long long nblocks = (long long)grid.x * grid.y * grid.z;
    int nthreads = int(blk.x * blk.y * blk.z);
    for (long long k = 0; k < nblocks; ++k) {
        long long i = reversed ? nblocks - 1 - k : k;
        blockIdx = dim3(unsigned(i % grid.x), unsigned(i / grid.x % grid.y),
                        unsigned(i / ((long long)grid.x * grid.y)));
        poison_static_shared();
        if (!run_block(nthreads, reversed)) {
            char where[80];
            snprintf(where, sizeof where, "blockIdx=(%u,%u,%u): ", blockIdx.x, blockIdx.y, blockIdx.z);
            err = where + b.error;
            return false;
        }
    }
    return true;
}

}  // namespace cuda_emu
