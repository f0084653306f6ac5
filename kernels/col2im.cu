// col2im.cu: fold columns back onto the NCHW input, the adjoint of im2col_rows, in gather form.
//
//   gx[n][c][h][w] = sum over taps (kh, kw) with h + PH - kh*DH = oh*SH and
//                    w + PW - kw*DW = ow*SW inside (OH, OW) of
//                    cols[((c*KH + kh)*KW + kw)*row_stride + n*batch_stride + oh*OW + ow]
//
// The strides cover both column layouts: per sample (N, C*KH*KW, OH*OW) has row_stride OH*OW and
// batch_stride C*KH*KW*OH*OW; im2col_rows' (C*KH*KW, N, OH*OW) has row_stride N*OH*OW and
// batch_stride OH*OW.  With cols = W^T @ gy this is the convolution's input gradient.
// One thread per gx element gathers its sum, so no atomics are needed and every element is
// written, including rows and columns no window read (their sum is empty: zero).
#include "common.cuh"

// total = N*C*H*W; grid-stride.
template <typename T>
__global__ void col2im(const T* __restrict__ cols, T* __restrict__ gx, int C, int H, int W,
                       int KH, int KW, int OH, int OW, int SH, int SW, int PH, int PW, int DH,
                       int DW, long long row_stride, long long batch_stride, long long total) {
    for (long long i = gg_thread_index(); i < total; i += gg_grid_threads()) {
        const int w = i % W, h = i / W % H, c = i / ((long long)W * H) % C;
        const long long n = i / ((long long)W * H * C);
        const T* base = cols + n * batch_stride;
        T acc = T(0);
        for (int kh = 0; kh < KH; ++kh) {
            const int ph = h + PH - kh * DH;
            if (ph < 0 || ph % SH != 0 || ph / SH >= OH) continue;
            const int oh = ph / SH;
            const T* row = base + ((long long)c * KH + kh) * KW * row_stride + (long long)oh * OW;
            for (int kw = 0; kw < KW; ++kw) {
                const int pw = w + PW - kw * DW;
                if (pw < 0 || pw % SW != 0 || pw / SW >= OW) continue;
                acc += row[kw * row_stride + pw / SW];
            }
        }
        gx[i] = acc;
    }
}
