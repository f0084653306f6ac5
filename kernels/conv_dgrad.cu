// conv_dgrad.cu: the input gradient of a 2-D convolution (a transposed convolution), gather form.
//
//   gx[n][c][h][w] = sum over f in c's group and taps (kh, kw) with h + PH - kh*DH = oh*SH and
//                    w + PW - kw*DW = ow*SW inside gy of  gy[n][f][oh][ow] * w[f][c % Cg][kh][kw]
//
// One thread per gx element gathers its sum, so no atomics are needed and every element is
// written, including rows and columns the forward never read (their sum is empty: zero).
#include "common.cuh"

// total = N*C*H*W; grid-stride.
template <typename T>
__global__ void conv_dgrad(const T* __restrict__ gy, const T* __restrict__ wt, T* __restrict__ gx,
                           int C, int H, int W, int F, int OH, int OW, int KH, int KW, int SH,
                           int SW, int PH, int PW, int DH, int DW, int groups, long long total) {
    const int Cg = C / groups, Fg = F / groups;
    for (long long i = gg_thread_index(); i < total; i += gg_grid_threads()) {
        const int w = i % W, h = i / W % H, c = i / ((long long)W * H) % C;
        const long long n = i / ((long long)W * H * C);
        const int f0 = c / Cg * Fg, cl = c % Cg;
        T acc = T(0);
        for (int kh = 0; kh < KH; ++kh) {
            const int ph = h + PH - kh * DH;
            if (ph < 0 || ph % SH != 0 || ph / SH >= OH) continue;
            const int oh = ph / SH;
            for (int kw = 0; kw < KW; ++kw) {
                const int pw = w + PW - kw * DW;
                if (pw < 0 || pw % SW != 0 || pw / SW >= OW) continue;
                const int ow = pw / SW;
                for (int f = f0; f < f0 + Fg; ++f)
                    acc += gy[((n * F + f) * OH + oh) * OW + ow] *
                           wt[(((long long)f * Cg + cl) * KH + kh) * KW + kw];
            }
        }
        gx[i] = acc;
    }
}
