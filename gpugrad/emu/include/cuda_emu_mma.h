// cuda_emu_mma.h: the tensor-core instructions the kernels use, as warp collectives
// (included by cuda_emu.h).
//
// Kernels reach them through gg_to_tf32 / gg_mma_tf32 (kernels/gemm_tile.cuh), which emit the
// PTX `cvt.rna.tf32.f32` and `mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32` on a GPU.
// Here the 32 lanes publish their fragment registers through the same collective the
// shuffles use, so a lane that misses the instruction deadlocks as on hardware, and each
// lane then computes its own accumulator elements from the PTX ISA fragment layouts:
//   groupID g = lane / 4, thread-in-group t = lane % 4
//   A (16x8, row-major): a0 = A[g][t], a1 = A[g+8][t], a2 = A[g][t+4], a3 = A[g+8][t+4]
//   B (8x8, column):     b0 = B[t][g], b1 = B[t+4][g]
//   C/D (16x8):          c0 = C[g][2t], c1 = C[g][2t+1], c2 = C[g+8][2t], c3 = C[g+8][2t+1]
#pragma once

namespace cuda_emu {

// cvt.rna.tf32.f32: round to the nearest TF32 (10-bit mantissa), ties away from zero.
inline unsigned cvt_rna_tf32(float x) {
    unsigned bits = __float_as_uint(x);
    if ((bits & 0x7f800000u) == 0x7f800000u) return bits;  // inf and NaN pass through
    return (bits + 0x1000u) & 0xffffe000u;
}

// The tensor core reads only the TF32 bits of an operand register (the low 13 are ignored).
inline float tf32_operand(unsigned bits) { return __uint_as_float(bits & 0xffffe000u); }

inline void mma_m16n8k8_tf32(float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2]) {
    float A[16][8], B[8][8];
    const unsigned long long* s = warp_collective(0xffffffffu, a[0] | (unsigned long long)a[1] << 32);
    for (int l = 0; l < 32; ++l) {
        A[l / 4][l % 4] = tf32_operand(unsigned(s[l]));
        A[l / 4 + 8][l % 4] = tf32_operand(unsigned(s[l] >> 32));
    }
    s = warp_collective(0xffffffffu, a[2] | (unsigned long long)a[3] << 32);
    for (int l = 0; l < 32; ++l) {
        A[l / 4][l % 4 + 4] = tf32_operand(unsigned(s[l]));
        A[l / 4 + 8][l % 4 + 4] = tf32_operand(unsigned(s[l] >> 32));
    }
    s = warp_collective(0xffffffffu, b[0] | (unsigned long long)b[1] << 32);
    for (int l = 0; l < 32; ++l) {
        B[l % 4][l / 4] = tf32_operand(unsigned(s[l]));
        B[l % 4 + 4][l / 4] = tf32_operand(unsigned(s[l] >> 32));
    }
    const int lane = lane_id(), g = lane / 4, t = lane % 4;
    for (int i = 0; i < 4; ++i) {
        const int row = g + (i >= 2 ? 8 : 0), col = 2 * t + (i & 1);
        float acc = d[i];
        for (int k = 0; k < 8; ++k) acc += A[row][k] * B[k][col];  // TF32 products are exact in float
        d[i] = acc;
    }
}

}  // namespace cuda_emu
