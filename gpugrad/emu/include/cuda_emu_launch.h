// cuda_emu_launch.h: what the generated per-kernel wrappers call (included by cuda_emu.h).
//
// `signature` describes a kernel's parameters so the Python loader can check arguments;
// `launch` unpacks CuPy-style argument pointers into the kernel's real parameter types, poisons
// dynamic shared memory, runs the grid and reports crashes with the kernel and launch.
#pragma once
#include <signal.h>
#include <unistd.h>

#include <type_traits>
#include <utility>

namespace cuda_emu {

constexpr size_t max_dynamic_shared = 227 * 1024;  // sm_90's per-block limit
constexpr size_t shared_guard = 256;               // canary bytes after the requested size
alignas(16) inline unsigned char dynamic_shared[max_dynamic_shared + shared_guard];

template <class T> constexpr int kind_code() {
    if constexpr (std::is_same_v<T, bool>) return 'b';
    else if constexpr (std::is_floating_point_v<T>) return 'f';
    else if constexpr (std::is_integral_v<T>) return std::is_signed_v<T> ? 'i' : 'u';
    else if constexpr (std::is_void_v<T>) return 'v';
    else return 'o';
}

// Four ints per parameter: kind ('p' for pointers), size, pointee kind, pointee size.
template <class A> void describe(int* d) {
    using T = std::remove_cv_t<A>;
    if constexpr (std::is_pointer_v<T>) {
        using P = std::remove_cv_t<std::remove_pointer_t<T>>;
        d[0] = 'p';
        d[1] = sizeof(T);
        d[2] = kind_code<P>();
        if constexpr (std::is_void_v<P>) d[3] = 0;
        else d[3] = sizeof(P);
    } else {
        d[0] = kind_code<T>();
        d[1] = sizeof(T);
        d[2] = d[3] = 0;
    }
}

template <class... A> int signature(void (*)(A...), int* out) {
    int i = 0;
    ((describe<A>(out + 4 * i), ++i), ...);
    return int(sizeof...(A));
}

template <class... A, size_t... I>
void call(void (*kernel)(A...), void** args, std::index_sequence<I...>) {
    kernel(*static_cast<std::remove_cv_t<A>*>(args[I])...);
}

// ---- crash report: a fatal signal inside a kernel names the kernel and the launch --------------
inline char crash_note[512];
inline struct sigaction previous_actions[32];
inline char alt_stack[64 * 1024];
constexpr int crash_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};

inline std::atomic<bool> crash_reported{false};

// Says once where the crash happened, then lets the fault repeat into the previous handler
// (Python's faulthandler, or the default: the process ends).  Entered again, it hands the
// signal to the default action, so a crash can never loop through report after report.
inline void on_crash(int sig) {
    if (crash_reported.exchange(true)) {
        signal(sig, SIG_DFL);
        if (sig == SIGABRT) raise(sig);
        return;
    }
    char msg[768];
    int n = snprintf(msg, sizeof msg,
                     "\ngpugrad.emu: signal %d in %s at blockIdx=(%u,%u,%u) threadIdx=(%u,%u,%u)\n",
                     sig, crash_note, blockIdx.x, blockIdx.y, blockIdx.z, threadIdx.x, threadIdx.y,
                     threadIdx.z);
    if (write(2, msg, size_t(n)) < 0) {}
    sigaction(sig, &previous_actions[sig], nullptr);
    if (sig == SIGABRT) raise(sig);
}

inline void install_crash_report(bool on) {
#ifndef CUDA_EMU_ASAN  // AddressSanitizer's own report is better
    if (on) {
        stack_t ss{};
        ss.ss_sp = alt_stack;
        ss.ss_size = sizeof alt_stack;
        sigaltstack(&ss, nullptr);
    }
    for (int sig : crash_signals) {
        if (on) {
            struct sigaction sa{};
            sa.sa_handler = on_crash;
            sa.sa_flags = SA_ONSTACK;
            sigemptyset(&sa.sa_mask);
            sigaction(sig, &sa, &previous_actions[sig]);
        } else {
            sigaction(sig, &previous_actions[sig], nullptr);
        }
    }
#else
    (void)on;
#endif
}

// dims: grid x,y,z then block x,y,z.  Returns 0, or -1 with a message in err.
template <class... A>
int launch(void (*kernel)(A...), const char* name, void** args, const unsigned* dims,
           unsigned long long shared_bytes, int reversed, char* err, int errlen) {
    dim3 grid(dims[0], dims[1], dims[2]), blk(dims[3], dims[4], dims[5]);
    snprintf(crash_note, sizeof crash_note, "%s grid=(%u,%u,%u) block=(%u,%u,%u) shared_mem=%llu",
             name, grid.x, grid.y, grid.z, blk.x, blk.y, blk.z, shared_bytes);
    std::string error;
    long long nthreads = (long long)blk.x * blk.y * blk.z;
    if (nthreads < 1 || nthreads > 1024 || blk.z > 64 || grid.x < 1 || grid.y < 1 || grid.z < 1 ||
        grid.y > 65535 || grid.z > 65535)
        error = "invalid launch configuration";
    else if (shared_bytes > max_dynamic_shared)
        error = "shared_mem exceeds " + std::to_string(max_dynamic_shared) + " bytes";
    if (error.empty()) {
        memset(dynamic_shared, 0xFF, shared_bytes);
        memset(dynamic_shared + shared_bytes, 0xA5, shared_guard);
        struct Ctx {
            void (*kernel)(A...);
            void** args;
        } ctx{kernel, args};
        auto body = [](void* p) {
            auto* c = static_cast<Ctx*>(p);
            call(c->kernel, c->args, std::index_sequence_for<A...>{});
        };
        install_crash_report(true);
        run_grid(grid, blk, reversed != 0, body, &ctx, error);
        install_crash_report(false);
        for (size_t i = 0; i < shared_guard && error.empty(); ++i)
            if (dynamic_shared[shared_bytes + i] != 0xA5)
                error = "write past the end of dynamic shared memory";
    }
    if (error.empty()) return 0;
    snprintf(err, size_t(errlen), "%s: %s", crash_note, error.c_str());
    return -1;
}

}  // namespace cuda_emu

// Dynamic shared memory: the loader rewrites `extern __shared__ T name[];` into
// `T* name = CUDA_EMU_DYNAMIC_SHARED(T);`, so all such arrays alias one buffer, as on a GPU.
#define CUDA_EMU_EXPORT __attribute__((visibility("default")))
#define CUDA_EMU_DYNAMIC_SHARED(T) reinterpret_cast<T*>(cuda_emu::dynamic_shared)
