import numpy as np
import pytest

from pacbits.core import BitBreakdown, EncodeError, Triplet


def test_dense_is_paper_eq7():
    t = Triplet.build((2, 3), [1, 4], np.array([0.5, -2.0], np.float32), [1, 0])
    assert t.dense().tolist() == [[0, -2.0, 0], [0, 0.5, 0]]
    assert t.counts().tolist() == [1, 1] and t.k == 2 and t.r == 2


@pytest.mark.parametrize(
    "args,match",
    [
        (((3,), [0, 3], [1.0], [0, 0]), "lie in"),
        (((3,), [1, 1], [1.0], [0, 0]), "increasing"),
        (((3,), [0], [1.0], [1]), "codebook size"),
        (((3,), [0], [np.nan], [0]), "NaN"),
        (((3,), [0, 1], [1.0], [0]), "one index per position"),
    ],
)
def test_invalid_triplets_raise(args, match):
    shape, pos, cb, idx = args
    with pytest.raises(EncodeError, match=match):
        Triplet.build(shape, pos, np.array(cb, np.float32), idx)


def test_codebook_dtype_checked():
    with pytest.raises(EncodeError, match="float32 or float16"):
        Triplet.build((1,), [0], np.array([1.0]), [0])


def test_breakdown_total_and_sum():
    a = BitBreakdown(header=8, positions=3, codebook=32, indices=2, side=0, padding=3)
    assert a.total == 48 and (a + a).total == 96 and (a + a).padding == 6
    with pytest.raises(ValueError):
        BitBreakdown(header=-1)
