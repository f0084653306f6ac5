// im2col.cu: unfold NCHW input patches into columns for convolution as a GEMM.
#include "common.cuh"

// x[nc][oh*SH - PH + kh*DH][ow*SW - PW + kw*DW] for plane nc = n*C + c, zero in the padding.
template <typename T>
__device__ __forceinline__ T gg_im2col_tap(const T* __restrict__ x, long long nc, int H, int W,
                                           int kh, int kw, int oh, int ow, int SH, int SW, int PH,
                                           int PW, int DH, int DW) {
    const int h = oh * SH - PH + kh * DH, w = ow * SW - PW + kw * DW;
    return (h >= 0 && h < H && w >= 0 && w < W) ? x[(nc * H + h) * W + w] : T(0);
}

// cols[(c*KH + kh)*KW + kw][n][oh*OW + ow] = x[n][c][oh*SH - PH + kh*DH][ow*SW - PW + kw*DW],
// zero where that position lies in the padding: the columns with the batch inside the rows,
// the layout the CUDA backend's GEMMs want.  Each row (c, kh, kw) is then one
// N*OH*OW-long operand row, so a convolution over the whole batch is a single GEMM per group.
// One thread per element, consecutive threads write consecutive ow.  total = C*KH*KW*N*OH*OW.
template <typename T>
__global__ void im2col_rows(const T* __restrict__ x, T* __restrict__ cols, int N, int C, int H,
                            int W, int KH, int KW, int OH, int OW, int SH, int SW, int PH, int PW,
                            int DH, int DW, long long total) {
    for (long long i = gg_thread_index(); i < total; i += gg_grid_threads()) {
        long long r = i;
        const int ow = r % OW; r /= OW;
        const int oh = r % OH; r /= OH;
        const long long n = r % N; r /= N;
        const int kw = r % KW; r /= KW;
        const int kh = r % KH; r /= KH;  // r is now c
        cols[i] = gg_im2col_tap(x, n * C + r, H, W, kh, kw, oh, ow, SH, SW, PH, PW, DH, DW);
    }
}
