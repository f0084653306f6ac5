"""Sixteen float32 lanes as one Numba value, for kernels that must keep a register tile.

LLVM's loop vectoriser turns simple loops into vector code by itself, but not a GEMM's
register-blocked inner loop: that needs a tile of accumulators that live in vector registers
for a whole pass over K. `F32x16` is a Numba type whose value is an LLVM `<16 x float>`, so a
kernel's local of that type is one register, and the intrinsics below are single vector
instructions (AVX-512 on CPUs that have it; LLVM splits them into narrower ones elsewhere).
Indices are element offsets into a 1-D float32 array; nothing is bounds-checked, so callers
keep every lane they load or store in range, or use the masked forms `load_n`/`store_n`.
"""
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, models, register_model

LANES = 16
_VEC = ir.VectorType(ir.FloatType(), LANES)
_MASK = ir.VectorType(ir.IntType(1), LANES)
_I32 = ir.IntType(32)


class F32x16(types.Type):
    def __init__(self):
        super().__init__(name="F32x16")


f32x16 = F32x16()


@register_model(F32x16)
class _F32x16Model(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _VEC)


def _address(context, builder, array_type, array, index):
    data = context.make_array(array_type)(context, builder, array).data
    return builder.bitcast(builder.gep(data, [index]), _VEC.as_pointer())


def _splat(builder, value, vector_type):
    one = builder.insert_element(ir.Constant(vector_type, ir.Undefined), value, ir.Constant(_I32, 0))
    return builder.shuffle_vector(one, ir.Constant(vector_type, ir.Undefined),
                                  ir.Constant(ir.VectorType(_I32, LANES), [0] * LANES))


def _first(builder, count):
    """The mask of lanes 0 .. count-1 (all lanes from LANES up)."""
    lanes = ir.VectorType(ir.IntType(64), LANES)
    return builder.icmp_unsigned("<", ir.Constant(lanes, list(range(LANES))), _splat(builder, count, lanes))


def _llvm(builder, name, result, *operands):
    fn_type = ir.FunctionType(result, [o.type for o in operands])
    return builder.call(cgutils.get_or_insert_function(builder.module, fn_type, name), operands)


@intrinsic
def zero(typingctx):
    """All lanes 0."""
    return f32x16(), lambda context, builder, sig, args: ir.Constant(_VEC, [0.0] * LANES)


@intrinsic
def splat(typingctx, value):
    """`value` in every lane."""
    def codegen(context, builder, sig, args):
        return _splat(builder, args[0], _VEC)
    return f32x16(types.float32), codegen


@intrinsic
def fma(typingctx, a, b, c):
    """a * b + c lane by lane, rounded once."""
    def codegen(context, builder, sig, args):
        return _llvm(builder, "llvm.fma.v16f32", _VEC, *args)
    return f32x16(f32x16, f32x16, f32x16), codegen


@intrinsic
def load(typingctx, array, index):
    """array[index : index + 16]."""
    def codegen(context, builder, sig, args):
        return builder.load(_address(context, builder, sig.args[0], *args), align=4)
    return f32x16(array, types.uint64), codegen


@intrinsic
def store(typingctx, array, index, value):
    """array[index : index + 16] = value."""
    def codegen(context, builder, sig, args):
        builder.store(args[2], _address(context, builder, sig.args[0], args[0], args[1]), align=4)
        return context.get_dummy_value()
    return types.none(array, types.uint64, f32x16), codegen


@intrinsic
def load_n(typingctx, array, index, count):
    """array[index : index + count] in the first `count` lanes, 0 in the others; memory past
    them is not touched."""
    def codegen(context, builder, sig, args):
        address = _address(context, builder, sig.args[0], args[0], args[1])
        return _llvm(builder, "llvm.masked.load.v16f32.p0", _VEC, address, ir.Constant(_I32, 4),
                     _first(builder, args[2]), ir.Constant(_VEC, [0.0] * LANES))
    return f32x16(array, types.uint64, types.uint64), codegen


@intrinsic
def store_n(typingctx, array, index, count, value):
    """array[index : index + count] = the first `count` lanes of value."""
    def codegen(context, builder, sig, args):
        address = _address(context, builder, sig.args[0], args[0], args[1])
        _llvm(builder, "llvm.masked.store.v16f32.p0", ir.VoidType(), args[3], address,
              ir.Constant(_I32, 4), _first(builder, args[2]))
        return context.get_dummy_value()
    return types.none(array, types.uint64, types.uint64, f32x16), codegen


@intrinsic
def total(typingctx, value):
    """The sum of the 16 lanes, added in lane order."""
    def codegen(context, builder, sig, args):
        return _llvm(builder, "llvm.vector.reduce.fadd.v16f32", ir.FloatType(),
                     ir.Constant(ir.FloatType(), -0.0), args[0])
    return types.float32(f32x16), codegen
