// conv_wgrad.cu: the weight gradient of a 2-D convolution as a direct kernel.
//
//   gw[f][c][kh][kw] = sum_{n,oh,ow} gy[n][f][oh][ow] * x[n][g*Cg + c][kh*DH + oh*SH - PH][kw*DW + ow*SW - PW]
//
// Read as adamtiger/autograd's derivation of the convolution gradients does, this is itself a
// convolution: its input is x with batch and channel swapped, its filters are gy with batch and
// filter swapped (the batch is the reduced "channel" axis), its stride is the forward dilation
// and its dilation the forward stride, and its output is cropped to the kernel extent (KH, KW).  Each block computes one output element
// of that convolution, reducing its N*OH*OW taps across the block.
#include "common.cuh"

// One block per gw element (grid-stride over elements); blockDim.x a multiple of 32.
template <typename T>
__global__ void conv_wgrad(const T* __restrict__ x, const T* __restrict__ gy, T* __restrict__ gw,
                           int N, int C, int H, int W, int F, int OH, int OW, int KH, int KW,
                           int SH, int SW, int PH, int PW, int DH, int DW, int groups) {
    const int Cg = C / groups, Fg = F / groups;
    const long long outputs = (long long)F * Cg * KH * KW, taps = (long long)N * OH * OW;
    for (long long o = blockIdx.x; o < outputs; o += gridDim.x) {  // uniform per block
        const int kw = o % KW, kh = o / KW % KH, c = o / ((long long)KW * KH) % Cg;
        const int f = o / ((long long)KW * KH * Cg);
        const int cin = f / Fg * Cg + c;
        // Output position (kh, kw) of the swapped convolution: stride (DH, DW), taps (oh, ow)
        // spaced by the dilation (SH, SW).
        const int h0 = kh * DH - PH, w0 = kw * DW - PW;
        T acc = T(0);
        for (long long t = threadIdx.x; t < taps; t += blockDim.x) {
            const int ow = t % OW, oh = t / OW % OH;
            const long long n = t / ((long long)OW * OH);
            const int h = h0 + oh * SH, w = w0 + ow * SW;
            if (h >= 0 && h < H && w >= 0 && w < W)
                acc += gy[((n * F + f) * OH + oh) * OW + ow] * x[((n * C + cin) * H + h) * W + w];
        }
        acc = gg_block_sum(acc);
        if (threadIdx.x == 0) gw[o] = acc;
    }
}
