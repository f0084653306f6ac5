// conv_igemm.cu: 2-D convolution and both its gradients as implicit GEMMs (NCHW, groups).
//
// Each is one GEMM per group on the tiles of gemm_tile.cuh whose operand loads gather the
// convolution's taps straight from the tensors, so no column matrix is ever written.  With
// L = OH*OW and taps r = (kh, kw) of KK = KH*KW:
//   forward  y[n][f][p]  = sum_{c,r} w[f][c][r] * x[n][c][tap(p, r)]        M=F/g  N=batch*L    K=C/g*KK
//   dgrad    gx[n][c][q] = sum_{f,r} w[f][c][r] * gy[n][f][p] where tap(p, r) = q
//                          (the transposed convolution in gather form)       M=C/g  N=batch*H*W  K=F/g*KK
//   wgrad    gw[f][c][r] = sum_{n,p} gy[n][f][p] * x[n][c][tap(p, r)]        M=F/g  N=C/g*KK     K=batch*L
// where tap((oh, ow), (kh, kw)) = (oh*SH - PH + kh*DH, ow*SW - PW + kw*DW), zero outside x.
// Read as adamtiger/autograd's dilated weight-gradient convolution, wgrad is itself a
// convolution: x with batch and channels swapped, filtered by gy with batch and filters
// swapped, the forward's dilation as its stride and the stride as its dilation, cropped to
// KH x KW.  Its K (batch*L) is long and its output small, so it is split over K: split s of
// `splits` writes out[s] (the host sums the splits).
// The forward's epilogue adds bias[f] (flags & 1) and applies ReLU (flags & 2).
// Grids: (ceil(N/BN), ceil(M/BM), groups [* splits]) with gg_cfg's BM, BN; block GG_THREADS.
#include "gemm_tile.cuh"

struct ConvGeometry {
    int C, H, W, F, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW, groups;
    __device__ int Cg() const { return C / groups; }
    __device__ int Fg() const { return F / groups; }
};

// What a gathered tile column works out once: the channel-0 plane of its image and the
// spatial position (h0, w0) its taps are offset from.
template <typename T> struct TapBase {
    const T* plane;
    int h0, w0;
};
// Output position p = oh*OW + ow of image n reads x[n][cin0 + ...] from the window at (h0, w0).
template <typename T>
__device__ __forceinline__ TapBase<T> gg_x_window(const ConvGeometry& g, const T* x, int n, int cin0, int p) {
    return {x + ((long long)n * g.C + cin0) * g.H * g.W, p / g.OW * g.SH - g.PH, p % g.OW * g.SW - g.PW};
}
// Its tap r = kh*KW + kw of channel ci; zero in the padding.
template <typename T>
__device__ __forceinline__ T gg_x_tap(const ConvGeometry& g, const TapBase<T>& win, int ci, int r) {
    const int h = win.h0 + r / g.KW * g.DH, w = win.w0 + r % g.KW * g.DW;
    return h >= 0 && h < g.H && w >= 0 && w < g.W ? win.plane[((long long)ci * g.H + h) * g.W + w] : T(0);
}

template <typename T, bool TF32> struct ConvFwdOp {
    const T* __restrict__ x;
    const T* __restrict__ w;
    const T* __restrict__ bias;
    T* __restrict__ y;
    ConvGeometry g;
    int group, M, N, flags;

    template <class Tile> __device__ void fill_a(Tile& As, int m0, int k0, int k1) const {
        const int K = g.Cg() * g.KH * g.KW;
        const T* wg = w + (long long)group * M * K;
        gg_fill_tile<TF32, false>(As, m0, M, k0, k1, [&](int m, int k) { return wg[(long long)m * K + k]; });
    }
    template <class Tile> __device__ void fill_b(Tile& Bs, int k0, int n0, int k1) const {
        const ConvGeometry& c = g;
        const int L = c.OH * c.OW, KK = c.KH * c.KW, cin0 = group * c.Cg();
        gg_fill_tile<TF32, true>(
            Bs, k0, k1, n0, N, [&](int j) { return gg_x_window(c, x, j / L, cin0, j % L); },
            [&](int k, const TapBase<T>& win) { return gg_x_tap(c, win, k / KK, k % KK); });
    }
    __device__ void store(int m, int j, T v) const {
        const int L = g.OH * g.OW, f = group * M + m;
        if (flags & 1) v += bias[f];
        if (flags & 2) v = v > T(0) ? v : T(0);
        y[((long long)(j / L) * g.F + f) * L + j % L] = v;
    }
};

template <typename T, bool TF32> struct ConvDgradOp {
    const T* __restrict__ gy;
    const T* __restrict__ w;
    T* __restrict__ gx;
    ConvGeometry g;
    int group, M, N;

    template <class Tile> __device__ void fill_a(Tile& As, int m0, int k0, int k1) const {
        const int KK = g.KH * g.KW, Cg = M;
        const T* wg = w + (long long)group * g.Fg() * Cg * KK;
        gg_fill_tile<TF32, false>(As, m0, M, k0, k1, [&](int ci, int k) {
            return wg[((long long)(k / KK) * Cg + ci) * KK + k % KK];
        });
    }
    template <class Tile> __device__ void fill_b(Tile& Bs, int k0, int n0, int k1) const {
        const ConvGeometry& c = g;
        const int KK = c.KH * c.KW, HW = c.H * c.W, f0 = group * c.Fg();
        // column j = (n, h, w): gy[n][f0 + ...] and the padded position (h + PH, w + PW)
        gg_fill_tile<TF32, true>(
            Bs, k0, k1, n0, N,
            [&](int j) {
                const int q = j % HW;
                return TapBase<T>{gy + ((long long)(j / HW) * c.F + f0) * c.OH * c.OW, q / c.W + c.PH,
                    q % c.W + c.PW};
            },
            [&](int k, const TapBase<T>& col) {
                const int r = k % KK, ph = col.h0 - r / c.KW * c.DH, pw = col.w0 - r % c.KW * c.DW;
                if (ph < 0 || pw < 0 || ph % c.SH != 0 || pw % c.SW != 0) return T(0);
                const int oh = ph / c.SH, ow = pw / c.SW;
                return oh < c.OH && ow < c.OW ? col.plane[((long long)(k / KK) * c.OH + oh) * c.OW + ow] : T(0);
            });
    }
    __device__ void store(int m, int j, T v) const {
        const int HW = g.H * g.W;
        gx[((long long)(j / HW) * g.C + group * M + m) * HW + j % HW] = v;
    }
};

template <typename T, bool TF32> struct ConvWgradOp {
    const T* __restrict__ x;
    const T* __restrict__ gy;
    T* __restrict__ out;  // (splits, F, C/g*KK)
    ConvGeometry g;
    int group, split, M, N;

    template <class Tile> __device__ void fill_a(Tile& As, int m0, int k0, int k1) const {
        const int L = g.OH * g.OW, F = g.F, f0 = group * M;
        gg_fill_tile<TF32, false>(As, m0, M, k0, k1, [&](int m, int k) {
            return gy[((long long)(k / L) * F + f0 + m) * L + k % L];
        });
    }
    template <class Tile> __device__ void fill_b(Tile& Bs, int k0, int n0, int k1) const {
        const ConvGeometry& c = g;
        const int L = c.OH * c.OW, KK = c.KH * c.KW, cin0 = group * c.Cg();
        // rows j, columns k: consecutive threads read consecutive output positions of x
        gg_fill_tile<TF32, false>(
            Bs, n0, N, k0, k1, [&](int k) { return gg_x_window(c, x, k / L, cin0, k % L); },
            [&](int j, const TapBase<T>& win) { return gg_x_tap(c, win, j / KK, j % KK); });
    }
    __device__ void store(int m, int j, T v) const {
        out[((long long)split * g.F + group * M + m) * N + j] = v;
    }
};

// The kernels' common parameters: batch size, then the geometry in ConvGeometry's order.
#define GG_CONV_PARAMS                                                                             \
    int batch, int C, int H, int W, int F, int OH, int OW, int KH, int KW, int SH, int SW, int PH, \
        int PW, int DH, int DW, int groups
#define GG_CONV_ARGS batch, C, H, W, F, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW, groups
#define GG_CONV_GEOMETRY ConvGeometry{C, H, W, F, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW, groups}

// bias is read only when flags & 1 (pass any array of T otherwise).
template <typename T, bool TF32>
__device__ void conv_fwd_body(const T* x, const T* w, const T* bias, T* y, GG_CONV_PARAMS, int flags) {
    const int M = F / groups, N = batch * OH * OW, K = C / groups * KH * KW;
    ConvFwdOp<T, TF32> op{x, w, bias, y, GG_CONV_GEOMETRY, int(blockIdx.z), M, N, flags};
    gg_tile<T, TF32>(op, M, N, blockIdx.y * gg_cfg<T, TF32>::BM, blockIdx.x * gg_cfg<T, TF32>::BN, 0, K);
}

template <typename T, bool TF32>
__device__ void conv_dgrad_body(const T* gy, const T* w, T* gx, GG_CONV_PARAMS) {
    const int M = C / groups, N = batch * H * W, K = F / groups * KH * KW;
    ConvDgradOp<T, TF32> op{gy, w, gx, GG_CONV_GEOMETRY, int(blockIdx.z), M, N};
    gg_tile<T, TF32>(op, M, N, blockIdx.y * gg_cfg<T, TF32>::BM, blockIdx.x * gg_cfg<T, TF32>::BN, 0, K);
}

// k_chunk: the K range of one split, a multiple of BK.
template <typename T, bool TF32>
__device__ void conv_wgrad_body(const T* x, const T* gy, T* out, GG_CONV_PARAMS, int splits, int k_chunk) {
    const int M = F / groups, N = C / groups * KH * KW, K = batch * OH * OW;
    const int group = blockIdx.z / splits, split = blockIdx.z % splits;
    const int k_begin = split * k_chunk, k_end = min(K, k_begin + k_chunk);
    ConvWgradOp<T, TF32> op{x, gy, out, GG_CONV_GEOMETRY, group, split, M, N};
    gg_tile<T, TF32>(op, M, N, blockIdx.y * gg_cfg<T, TF32>::BM, blockIdx.x * gg_cfg<T, TF32>::BN,
                     k_begin, k_end);
}

template <typename T>
__global__ __launch_bounds__(GG_THREADS, 2) void conv_fwd_igemm(
    const T* __restrict__ x, const T* __restrict__ w, const T* __restrict__ bias, T* __restrict__ y,
    int batch, int C, int H, int W, int F, int OH, int OW, int KH, int KW, int SH, int SW,
    int PH, int PW, int DH, int DW, int groups, int flags) {
    conv_fwd_body<T, false>(x, w, bias, y, GG_CONV_ARGS, flags);
}

__global__ __launch_bounds__(GG_THREADS, 2) void conv_fwd_igemm_tf32(
    const float* __restrict__ x, const float* __restrict__ w, const float* __restrict__ bias,
    float* __restrict__ y, int batch, int C, int H, int W, int F, int OH, int OW, int KH,
    int KW, int SH, int SW, int PH, int PW, int DH, int DW, int groups, int flags) {
    conv_fwd_body<float, true>(x, w, bias, y, GG_CONV_ARGS, flags);
}

template <typename T>
__global__ __launch_bounds__(GG_THREADS, 2) void conv_dgrad_igemm(
    const T* __restrict__ gy, const T* __restrict__ w, T* __restrict__ gx,
    int batch, int C, int H, int W, int F, int OH, int OW, int KH, int KW, int SH, int SW,
    int PH, int PW, int DH, int DW, int groups) {
    conv_dgrad_body<T, false>(gy, w, gx, GG_CONV_ARGS);
}

__global__ __launch_bounds__(GG_THREADS, 2) void conv_dgrad_igemm_tf32(
    const float* __restrict__ gy, const float* __restrict__ w, float* __restrict__ gx,
    int batch, int C, int H, int W, int F, int OH, int OW, int KH, int KW, int SH, int SW,
    int PH, int PW, int DH, int DW, int groups) {
    conv_dgrad_body<float, true>(gy, w, gx, GG_CONV_ARGS);
}

template <typename T>
__global__ __launch_bounds__(GG_THREADS, 2) void conv_wgrad_igemm(
    const T* __restrict__ x, const T* __restrict__ gy, T* __restrict__ out,
    int batch, int C, int H, int W, int F, int OH, int OW, int KH, int KW, int SH, int SW,
    int PH, int PW, int DH, int DW, int groups, int splits, int k_chunk) {
    conv_wgrad_body<T, false>(x, gy, out, GG_CONV_ARGS, splits, k_chunk);
}

__global__ __launch_bounds__(GG_THREADS, 2) void conv_wgrad_igemm_tf32(
    const float* __restrict__ x, const float* __restrict__ gy, float* __restrict__ out,
    int batch, int C, int H, int W, int F, int OH, int OW, int KH, int KW, int SH, int SW,
    int PH, int PW, int DH, int DW, int groups, int splits, int k_chunk) {
    conv_wgrad_body<float, true>(x, gy, out, GG_CONV_ARGS, splits, k_chunk);
}
