"""mathdl.checks: the message format of every helper, and the checked mode (checkify) on real mathdl functions.

Messages have the form "<func>: argument `<name>` expected <what>, got <what came>." (docs/architecture.md, "Checks").
Where a helper passes a *descriptive* string as `got` (e.g. "shape (3,)"), `fail` currently repr()s it, so the
message reads "got 'shape (3,)'."; the regexes below accept both spellings ('? ... '?) until that is settled.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import checkify

from mathdl import checks
from mathdl import losses as L
from mathdl.activations import masked_softmax

# ---------------------------------------------------------------- fail


def test_fail_message_and_exception_class():
    """fail raises ValueError by default, `exc` otherwise; the message is exactly the standard form;
    a string `got` is shown with repr (so an empty or blank string is visible)."""
    with pytest.raises(ValueError) as info:
        checks.fail("pkg.fn", "x", "a positive number", -3)
    assert str(info.value) == "pkg.fn: argument `x` expected a positive number, got -3."
    with pytest.raises(TypeError, match=r"^pkg.fn: argument `x` expected an array, got 'abc'\.$"):
        checks.fail("pkg.fn", "x", "an array", "abc", exc=TypeError)
    with pytest.raises(ValueError, match=r"^pkg.fn: argument `mode` expected one of \['a'\], got ''\.$"):
        checks.fail("pkg.fn", "mode", "one of ['a']", "")
    with pytest.raises(ValueError, match=r"got \(2, 3\)\.$"):
        checks.fail("pkg.fn", "x", "a shape", (2, 3))
    with pytest.raises(KeyError):
        checks.fail("pkg.fn", "x", "a key", 1, exc=KeyError)


# ---------------------------------------------------------------- shape and rank


def test_check_rank():
    """check_rank: accepts an allowed rank (int or sequence); refuses others naming the shape and rank that came;
    works on NumPy arrays, JAX arrays and nested lists."""
    checks.check_rank("f", "x", jnp.ones((2, 3)), 2)
    checks.check_rank("f", "x", np.ones(3), (1, 2))
    checks.check_rank("f", "x", [[1.0, 2.0]], 2)
    with pytest.raises(ValueError, match=r"^f: argument `x` expected rank 2, got '?shape \(3,\) \(rank 1\)'?\.$"):
        checks.check_rank("f", "x", jnp.ones(3), 2)
    with pytest.raises(ValueError, match=r"^f: argument `x` expected rank in \(1, 2\), got '?shape \(\) \(rank 0\)'?"):
        checks.check_rank("f", "x", 1.0, (1, 2))
    with pytest.raises(ValueError, match=r"expected rank 0, got '?shape \(0,\) \(rank 1\)"):
        checks.check_rank("f", "x", jnp.zeros(0), 0)


def test_check_shape():
    """check_shape: None matches any size and prints as *; rank and fixed sizes are enforced; a 1-tuple prints (3,)."""
    checks.check_shape("f", "W", jnp.ones((5, 3)), (None, 3))
    with pytest.raises(ValueError, match=r"^f: argument `W` expected shape \(\*, 3\), got '?shape \(5, 4\)'?\.$"):
        checks.check_shape("f", "W", jnp.ones((5, 4)), (None, 3))
    with pytest.raises(ValueError, match=r"^f: argument `b` expected shape \(3,\), got '?shape \(3, 1\)'?\.$"):
        checks.check_shape("f", "b", jnp.ones((3, 1)), (3,))
    with pytest.raises(ValueError, match=r"expected shape \(\*, \*\), got '?shape \(2,\)'?\.$"):
        checks.check_shape("f", "x", jnp.ones(2), (None, None))
    with pytest.raises(ValueError, match=r"expected shape \(\), got '?shape \(1,\)'?\.$"):
        checks.check_shape("f", "x", jnp.ones(1), ())


def test_check_same_shape():
    """check_same_shape: names the second argument and quotes the first's shape; (n, 1) vs (n,) is refused."""
    checks.check_same_shape("f", "a", jnp.ones((2, 3)), "b", np.zeros((2, 3)))
    with pytest.raises(
        ValueError, match=r"^f: argument `y` expected the shape of `y_hat` \(3, 1\), got '?shape \(3,\)'?"
    ):
        checks.check_same_shape("f", "y_hat", jnp.ones((3, 1)), "y", jnp.ones(3))
    with pytest.raises(ValueError, match=r"expected the shape of `a` \(\), got '?shape \(1,\)'?"):
        checks.check_same_shape("f", "a", 1.0, "b", jnp.ones(1))


# ---------------------------------------------------------------- dtypes


def test_check_dtype_floating():
    """check_dtype_floating: float16/32/64, bfloat16 and Python floats pass; ints, bools and uints raise TypeError."""
    for ok in (jnp.ones(2, jnp.float16), jnp.ones(2, jnp.bfloat16), jnp.ones(2, jnp.float32), 1.5):
        checks.check_dtype_floating("f", "x", ok)
    with pytest.raises(TypeError, match=r"^f: argument `x` expected a floating-point array, got '?dtype int32'?\.$"):
        checks.check_dtype_floating("f", "x", jnp.ones(2, jnp.int32))
    with pytest.raises(TypeError, match=r"got '?dtype bool'?\.$"):
        checks.check_dtype_floating("f", "x", jnp.ones(2, bool))
    with pytest.raises(TypeError, match=r"got '?dtype uint8'?\.$"):
        checks.check_dtype_floating("f", "x", np.ones(2, np.uint8))


def test_check_dtype_integer():
    """check_dtype_integer: signed and unsigned ints pass; floats and bools raise TypeError (labels must be ints)."""
    checks.check_dtype_integer("f", "labels", jnp.array([1, 2]))
    checks.check_dtype_integer("f", "labels", np.array([1], np.uint8))
    with pytest.raises(TypeError, match=r"^f: argument `labels` expected an integer array, got '?dtype float64'?\.$"):
        checks.check_dtype_integer("f", "labels", jnp.array([1.0]))
    with pytest.raises(TypeError, match=r"got '?dtype bool'?\.$"):
        checks.check_dtype_integer("f", "labels", jnp.array([True]))


# ---------------------------------------------------------------- hyperparameters


def test_check_positive():
    """check_positive: > 0 by default, >= 0 with strict=False; NaN and negative values raise with the value shown;
    traced values are not checked (they cannot be), so the call inside jit does not raise."""
    checks.check_positive("f", "lr", 1e-3)
    checks.check_positive("f", "lr", 0, strict=False)
    with pytest.raises(ValueError, match=r"^f: argument `lr` expected a value > 0, got 0\.$"):
        checks.check_positive("f", "lr", 0)
    with pytest.raises(ValueError, match=r"^f: argument `lr` expected a value >= 0, got -1e-08\.$"):
        checks.check_positive("f", "lr", -1e-8, strict=False)
    with pytest.raises(ValueError, match=r"^f: argument `lr` expected a value > 0, got nan\.$"):
        checks.check_positive("f", "lr", math.nan)
    with pytest.raises(ValueError, match=r"expected a value > 0, got -2\.0\.$"):
        checks.check_positive("f", "lr", jnp.float64(-2.0))  # a concrete 0-d array is checked
    jax.jit(lambda v: checks.check_positive("f", "lr", v) or v)(-1.0)  # traced: skipped


def test_check_range():
    """check_range: the interval's closedness is printed and enforced at both ends; NaN raises; traced skipped."""
    checks.check_range("f", "beta", 0.0, 0, 1)
    checks.check_range("f", "beta", 1.0, 0, 1, high_closed=True)
    with pytest.raises(ValueError, match=r"^f: argument `beta` expected a value in \[0, 1\), got 1\.0\.$"):
        checks.check_range("f", "beta", 1.0, 0, 1)
    with pytest.raises(ValueError, match=r"^f: argument `beta` expected a value in \(0, 1\], got 0\.$"):
        checks.check_range("f", "beta", 0, 0, 1, low_closed=False, high_closed=True)
    with pytest.raises(ValueError, match=r"expected a value in \[0, 1\), got nan\.$"):
        checks.check_range("f", "beta", math.nan, 0, 1)
    with pytest.raises(ValueError, match=r"expected a value in \[-1, 1\], got -1\.5\.$"):
        checks.check_range("f", "rho", -1.5, -1, 1, high_closed=True)
    jax.jit(lambda v: checks.check_range("f", "beta", v, 0, 1) or v)(2.0)


def test_check_choice():
    """check_choice: lists the allowed choices and shows a string choice with repr."""
    checks.check_choice("f", "mode", "forward", ("forward", "reverse"))
    with pytest.raises(ValueError, match=r"^f: argument `mode` expected one of \['forward', 'reverse'\], got 'fwd'\.$"):
        checks.check_choice("f", "mode", "fwd", ("forward", "reverse"))
    with pytest.raises(ValueError, match=r"expected one of \[0, 1\], got 2\.$"):
        checks.check_choice("f", "ddof", 2, (0, 1))
    with pytest.raises(ValueError, match=r"expected one of \[\], got None\.$"):
        checks.check_choice("f", "x", None, ())


# ---------------------------------------------------------------- value_check, is_checking, checked


def test_value_check_is_a_no_op_outside_checked_mode():
    """value_check does nothing outside checked(): a false predicate neither raises nor changes the result;
    is_checking() is False outside and True while a checked call is being traced."""
    assert checks.is_checking() is False
    checks.value_check(jnp.array(False), "never raised")
    seen = []

    def f(x):
        seen.append(checks.is_checking())
        checks.value_check(x > 0, "f: argument `x` expected a positive value, got {x}.", x=x)
        return 2 * x

    assert float(f(jnp.array(-1.0))) == -2.0
    with pytest.raises(checkify.JaxRuntimeError, match=r"f: argument `x` expected a positive value, got -1\.0\."):
        checks.checked(f)(jnp.array(-1.0))
    assert float(checks.checked(f)(jnp.array(3.0))) == 6.0
    assert seen[0] is False and seen[1] is True and checks.is_checking() is False


def test_checked_raises_on_nan_unless_disabled():
    """checked raises when a NaN is produced (nan=True, the default) and names the primitive; nan=False lets NaN
    through; without checked the same call returns NaN."""
    assert np.isnan(jnp.log(jnp.array(-1.0)))
    with pytest.raises(checkify.JaxRuntimeError, match=r"nan generated by primitive: log"):
        checks.checked(jnp.log)(jnp.array(-1.0))
    assert np.isnan(checks.checked(jnp.log, nan=False)(jnp.array(-1.0)))
    with pytest.raises(TypeError, match=r"^checks.checked: argument `fn` expected a callable, got '?int'?\.$"):
        checks.checked(3)


def test_checked_raises_on_out_of_range_labels():
    """Out-of-range integer labels: NaN normally, a JaxRuntimeError naming the function and argument when checked;
    also for labels = −1 and for the checked gradient."""
    z = jnp.zeros((2, 3))
    assert np.isnan(L.softmax_cross_entropy(z, jnp.array([0, 3]))[1])
    for bad in (jnp.array([0, 3]), jnp.array([-1, 0])):
        with pytest.raises(
            checkify.JaxRuntimeError,
            match=r"losses.softmax_cross_entropy: argument `labels` expected class indices in \[0, 3\), got one",
        ):
            checks.checked(L.softmax_cross_entropy)(z, bad)
    grad_fn = jax.grad(lambda z, y: jnp.mean(L.softmax_cross_entropy(z, y)))
    with pytest.raises(checkify.JaxRuntimeError, match=r"expected class indices in \[0, 3\)"):
        checks.checked(grad_fn)(z, jnp.array([0, 5]))


def test_checked_raises_on_invalid_probabilities():
    """A value_check on probabilities: BCE with p = 1.2, labels outside [0, 1], hinge labels not ±1, soft targets
    not summing to 1 all raise in checked mode and give NaN outside it."""
    cases = [
        (
            L.binary_cross_entropy,
            (jnp.array([0.5, 1.2]), jnp.array([1.0, 1.0])),
            r"argument `p` expected probabilities",
        ),
        (L.binary_cross_entropy, (jnp.array([0.5, 0.5]), jnp.array([1.0, 2.0])), r"argument `y` expected targets in"),
        (L.binary_cross_entropy_with_logits, (jnp.zeros(2), jnp.array([0.0, -1.0])), r"argument `labels` expected"),
        (L.hinge, (jnp.zeros(2), jnp.array([1, 0])), r"argument `labels` expected values -1 or \+1"),
        (L.softmax_cross_entropy_with_probs, (jnp.zeros((1, 2)), jnp.array([[0.6, 0.6]])), r"probability vectors"),
    ]
    for fn, args, msg in cases:
        assert bool(jnp.any(jnp.isnan(fn(*args))))
        with pytest.raises(checkify.JaxRuntimeError, match=msg):
            checks.checked(fn)(*args)


def test_checked_has_no_false_positives_on_valid_edge_values():
    """Stable forms produce no intermediate NaN: checked mode accepts p ∈ {0, 1}, logits ±1e4, a fully masked
    softmax row, and an infinite BCE (a value, not an error), returning the same result as unchecked."""
    p, y = jnp.array([0.0, 1.0, 0.3, 0.0]), jnp.array([0.0, 1.0, 1.0, 1.0])
    np.testing.assert_array_equal(checks.checked(L.binary_cross_entropy)(p, y), L.binary_cross_entropy(p, y))
    z = jnp.array([1e4, -1e4])
    np.testing.assert_array_equal(
        checks.checked(L.binary_cross_entropy_with_logits)(z, jnp.array([0.0, 1.0])), [1e4, 1e4]
    )
    x, m = jnp.ones((2, 3)), jnp.array([[False] * 3, [True, False, True]])
    np.testing.assert_array_equal(checks.checked(masked_softmax)(x, m), masked_softmax(x, m))
    np.testing.assert_array_equal(
        checks.checked(L.softmax_cross_entropy)(jnp.array([[0.0, 0.0]]), jnp.array([1])), [math.log(2)]
    )


def test_checked_index_checks():
    """checked also turns on checkify's index checks: out-of-bounds indexing raises instead of clamping."""
    x = jnp.arange(3.0)
    assert float((lambda v: v[5])(x)) == 2.0  # JAX clamps silently
    with pytest.raises(checkify.JaxRuntimeError, match=r"out-of-bounds indexing"):
        checks.checked(lambda v: v[5])(x)


def test_checked_of_a_previously_jitted_function_still_raises():
    """checked(jax.jit(f)) should raise on a bad label even when jax.jit(f) has been called before."""
    f = lambda z, y: L.softmax_cross_entropy(z, y)
    jf = jax.jit(f)
    z, bad = jnp.zeros((2, 3)), jnp.array([0, 7])
    jf(z, bad)
    with pytest.raises(checkify.JaxRuntimeError):
        checks.checked(jf)(z, bad)


def test_plain_call_after_a_checked_one_is_unchecked():
    """The checked flag is part of jit's cache key: a plain call after checked(jax.jit(f)) re-traces
    without checks and returns the defined value (NaN for a bad label) instead of crashing."""
    jf = jax.jit(lambda z, y: L.softmax_cross_entropy(z, y))
    z, bad = jnp.zeros((2, 3)), jnp.array([0, 7])
    with pytest.raises(checkify.JaxRuntimeError):
        checks.checked(jf)(z, bad)
    out = jf(z, bad)
    assert np.isnan(np.asarray(out)[1]) and np.isclose(np.asarray(out)[0], np.log(3.0))


def test_value_check_message_with_braces():
    """A literal brace in a value_check message is text, not a format field."""

    def f(x):
        checks.value_check(x > 0, "x must be in {positive numbers}")
        return x

    with pytest.raises(checkify.JaxRuntimeError, match=r"\{positive numbers\}"):
        checks.checked(f)(jnp.array(-1.0))


def test_check_choice_refuses_bool_for_int():
    """`True == 1` in Python; check_choice must still refuse a bool where ints are expected."""
    with pytest.raises(ValueError, match=r"expected one of \[0, 1\], got True"):
        checks.check_choice("f", "k", True, [0, 1])
    checks.check_choice("f", "k", 1, [0, 1])
