// im2col.cu: unfold NCHW input patches into columns for convolution as a GEMM.
#include "common.cuh"

// cols[n][(c*KH + kh)*KW + kw][oh*OW + ow] = x[n][c][oh*SH - PH + kh*DH][ow*SW - PW + kw*DW],
// zero where that position lies in the padding.  One thread per column element (grid-stride),
// so consecutive threads write consecutive ow.  total = N*C*KH*KW*OH*OW.
template <typename T>
__global__ void im2col(const T* __restrict__ x, T* __restrict__ cols, int H, int W,
                       int KH, int KW, int OH, int OW, int SH, int SW, int PH, int PW, int DH,
                       int DW, long long total) {
    for (long long i = gg_thread_index(); i < total; i += gg_grid_threads()) {
        long long r = i;
        const int ow = r % OW; r /= OW;
        const int oh = r % OH; r /= OH;
        const int kw = r % KW; r /= KW;
        const int kh = r % KH; r /= KH;  // r is now n*C + c
        const int h = oh * SH - PH + kh * DH, w = ow * SW - PW + kw * DW;
        cols[i] = (h >= 0 && h < H && w >= 0 && w < W) ? x[(r * H + h) * W + w] : T(0);
    }
}
