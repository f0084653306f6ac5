// maxpool.cu: 2-D max pooling over NCHW planes, forward with argmax and backward.
#include "common.cuh"

// One thread per output element (grid-stride; total = N*C*OH*OW).  Padding never wins.  Like
// PyTorch, a NaN is taken as the max (the last one in scan order), otherwise the first
// maximum; argmax is the flat index h*W + w within the (n, c) plane, or -1 for a window with no
// input element (its output is -inf).  Ceil mode is decided by the caller through OH, OW:
// windows are clipped to the input.
template <typename T>
__global__ void maxpool2d_fwd(const T* __restrict__ x, T* __restrict__ y,
                              long long* __restrict__ argmax, int H, int W, int OH, int OW,
                              int KH, int KW, int SH, int SW, int PH, int PW, int DH, int DW,
                              long long total) {
    for (long long i = gg_thread_index(); i < total; i += gg_grid_threads()) {
        const int ow = i % OW, oh = i / OW % OH;
        const long long plane = i / ((long long)OW * OH);
        const T* xp = x + plane * H * W;
        T best = gg_neg_inf<T>();
        long long best_at = -1;
        for (int kh = 0; kh < KH; ++kh) {
            const int h = oh * SH - PH + kh * DH;
            if (h < 0 || h >= H) continue;
            for (int kw = 0; kw < KW; ++kw) {
                const int w = ow * SW - PW + kw * DW;
                if (w < 0 || w >= W) continue;
                const T v = xp[h * W + w];
                if (best_at < 0 || v > best || v != v) {
                    best = v;
                    best_at = (long long)h * W + w;
                }
            }
        }
        y[i] = best;
        argmax[i] = best_at;
    }
}

// Scatter each output gradient to its argmax (gx zeroed by the caller; windows may overlap,
// hence the atomics); an empty window (argmax -1) passes nothing.  total = N*C*OH*OW, plane
// sizes HW = H*W and OHW = OH*OW.
template <typename T>
__global__ void maxpool2d_bwd(const T* __restrict__ gy, const long long* __restrict__ argmax,
                              T* __restrict__ gx, long long HW, long long OHW, long long total) {
    for (long long i = gg_thread_index(); i < total; i += gg_grid_threads())
        if (argmax[i] >= 0) atomicAdd(gx + i / OHW * HW + argmax[i], gy[i]);
}
