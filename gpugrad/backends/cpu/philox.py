"""Philox4x32-10 uniform numbers from a [key, counter] state, vectorised in NumPy: the numbers
kernels/philox.cu draws on CUDA for the same state (see that file for the layout)."""
import numpy as np

_M0, _M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
_W0, _W1 = np.uint32(0x9E3779B9), np.uint32(0xBB67AE85)
_LO = np.uint64(0xFFFFFFFF)
_32 = np.uint64(32)


def philox_uniform(state, n, dtype):
    """kernel_interface.philox_uniform: n numbers in [0, 1) of dtype; state[1] advanced in place."""
    key, counter = (int(v) for v in np.asarray(state, np.uint64))
    dtype = np.dtype(dtype)
    i = np.arange(n, dtype=np.uint64)
    block = np.uint64(counter) + (i >> np.uint64(1))
    c = [block & _LO, block >> _32, np.zeros_like(block), np.zeros_like(block)]
    k0, k1 = np.uint32(key & 0xFFFFFFFF), np.uint32(key >> 32)
    with np.errstate(over="ignore"):
        for r in range(10):
            if r:
                k0, k1 = k0 + _W0, k1 + _W1
            p0, p1 = _M0 * c[0], _M1 * c[2]
            c = [(p1 >> _32) ^ c[1] ^ np.uint64(k0), p1 & _LO, (p0 >> _32) ^ c[3] ^ np.uint64(k1), p0 & _LO]
    odd = (i & np.uint64(1)).astype(bool)
    bits = np.where(odd, c[2] | c[3] << _32, c[0] | c[1] << _32)
    state[1] = np.uint64((counter + (n + 1) // 2) % (1 << 64))
    if dtype == np.float32:
        return (bits >> np.uint64(40)).astype(np.float32) * np.float32(2.0 ** -24)
    return (bits >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
