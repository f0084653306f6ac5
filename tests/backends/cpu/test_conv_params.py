"""Shared shape rules and the conv2d argument validator."""
import pytest

from gpugrad.backends.conv_params import (check_conv2d_args, conv_output_size, normalize_pair, pool_output_size,
                                          resolve_padding)


def test_normalize_pair():
    assert normalize_pair("stride", 2) == (2, 2) and normalize_pair("stride", [1, 3]) == (1, 3)
    for bad in (1.5, (1, 2, 3), "2", (1, None)):
        with pytest.raises(ValueError, match="stride"):
            normalize_pair("stride", bad)


def test_output_sizes():
    assert conv_output_size(28, 5, 1, 2, 1) == 28 and conv_output_size(32, 3, 2, 1, 2) == 15
    assert conv_output_size(8, 3, 1, (0, 2)) == 8
    assert pool_output_size(5, 2, 2, 0, 1, False) == 2 and pool_output_size(5, 2, 2, 0, 1, True) == 3
    assert pool_output_size(5, 2, 2, 1, 1, True) == 3  # a fourth window would start in the right padding


def test_same_and_valid_padding():
    assert resolve_padding("valid", (3, 3), (1, 1), (1, 1)) == (0, 0, 0, 0)
    assert resolve_padding("same", (3, 4), (1, 1), (1, 1)) == (1, 1, 1, 2)  # even kernel: extra on the right
    assert resolve_padding("same", (2, 3), (1, 1), (3, 2)) == (1, 2, 2, 2)
    assert resolve_padding((1, 2), (3, 3), (1, 1), (1, 1)) == (1, 1, 2, 2)
    with pytest.raises(ValueError, match="stride"):
        resolve_padding("same", (3, 3), (2, 1), (1, 1))
    with pytest.raises(ValueError, match="padding"):
        resolve_padding("full", (3, 3), (1, 1), (1, 1))


def test_valid_arguments_are_normalised():
    assert check_conv2d_args((2, 4, 9, 9), (6, 2, 3, 3), 2, 1, (1, 2), 2) == ((2, 2), (1, 1, 1, 1), (1, 2))
    assert check_conv2d_args((2, 4, 9, 9), (6, 4, 2, 3), 1, "same", 1, 1) == ((1, 1), (0, 1, 1, 1), (1, 1))


@pytest.mark.parametrize("x_shape, w_shape, kwargs, names", [
    ((1, 3, 4, 4), (2, 3, 5, 5), {}, ["kernel size", "height", "(1, 3, 4, 4)", "(2, 3, 5, 5)"]),
    ((1, 3, 4, 8), (2, 3, 3, 3), dict(dilation=(1, 4)), ["kernel size", "width"]),
    ((1, 3, 8, 8), (2, 3, 3, 3), dict(stride=0), ["stride", "(1, 3, 8, 8)"]),
    ((1, 3, 8, 8), (2, 3, 3, 3), dict(dilation=(1, 0)), ["dilation"]),
    ((1, 3, 8, 8), (2, 3, 3, 3), dict(padding=-1), ["padding", "(2, 3, 3, 3)"]),
    ((1, 6, 8, 8), (4, 2, 3, 3), dict(groups=4), ["groups=4", "in_channels=6"]),
    ((1, 6, 8, 8), (3, 3, 3, 3), dict(groups=2), ["groups=2", "out_channels=3"]),
    ((1, 6, 8, 8), (4, 2, 3, 3), dict(groups=0), ["groups"]),
    ((1, 4, 8, 8), (4, 3, 3, 3), {}, ["channels", "(1, 4, 8, 8)", "(4, 3, 3, 3)"]),
    ((1, 3, 8, 8), (4, 3, 3), {}, ["weight", "4-D", "(4, 3, 3)"]),
    ((3, 8, 8), (4, 3, 3, 3), {}, ["input", "4-D", "(3, 8, 8)"]),
    ((2, 16, 16, 3), (8, 3, 3, 3), {}, ["NHWC", "(2, 16, 16, 3)", "(8, 3, 3, 3)"]),
    ((1, 3, 8, 8), (2, 3, 3, 3), dict(padding="same", stride=2), ["same", "stride"]),
])
def test_invalid_arguments_name_parameter_and_shapes(x_shape, w_shape, kwargs, names):
    args = dict(stride=1, padding=0, dilation=1, groups=1) | kwargs
    with pytest.raises(ValueError) as err:
        check_conv2d_args(x_shape, w_shape, **args)
    for name in names:
        assert name in str(err.value)
