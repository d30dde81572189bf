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


# ---------------------------------------------------------------- declarative specs: checks.inputs


@checks.inputs(params=checks.fields(W="float[N p]", b="float[N]"), x="float[*batch p]", labels="int[*batch]?")
def _toy(params, x, labels=None, *, scale=1.0):
    return scale * (x @ params.W.T + jnp.broadcast_to(params.b, (*x.shape[:-1], params.b.shape[0]))), labels


def test_public_name_is_derived_from_the_module():
    from mathdl import layers

    assert checks.public_name(layers.dense) == "layers.dense"
    assert checks.public_name(checks.public_name) == "checks.public_name"
    assert checks.public_name(_toy) == "tests.test_checks._toy"


def test_inputs_accepts_lists_and_binds_dimensions():
    """Worked value: W = [[1, 2]], b = [3], x = [1, 1] gives W x + b = 6; lists are converted."""

    from mathdl.layers import DenseParams

    out, _ = _toy(DenseParams([[1.0, 2.0]], [3.0]), [1.0, 1.0])
    np.testing.assert_allclose(out, [6.0])
    out, lab = _toy(DenseParams(jnp.ones((2, 3)), jnp.zeros(2)), jnp.ones((4, 5, 3)), labels=jnp.zeros((4, 5), int))
    assert out.shape == (4, 5, 2) and lab.shape == (4, 5)


def test_inputs_messages():
    from mathdl.layers import DenseParams

    p = DenseParams(jnp.ones((2, 3)), jnp.zeros(2))
    name = "tests.test_checks._toy"
    with pytest.raises(ValueError, match=rf"^{name}: argument `x` expected shape \(3,\), got shape \(4,\)\.$"):
        _toy(p, jnp.ones(4))
    with pytest.raises(ValueError, match=r"argument `params.b` expected shape \(2,\), got shape \(3,\)"):
        _toy(DenseParams(jnp.ones((2, 3)), jnp.zeros(3)), jnp.ones(3))
    with pytest.raises(ValueError, match=r"argument `params.W` expected rank 2, got shape \(3,\) \(rank 1\)"):
        _toy(DenseParams(jnp.ones(3), jnp.zeros(2)), jnp.ones(3))
    with pytest.raises(ValueError, match=r"argument `x` expected rank >= 1, got shape \(\) \(rank 0\)"):
        _toy(p, jnp.ones(()))
    with pytest.raises(TypeError, match=r"argument `x` expected a floating-point array, got dtype int"):
        _toy(p, jnp.ones(3, int))
    with pytest.raises(TypeError, match=r"argument `x` expected a floating-point array, got str"):
        _toy(p, "abc")
    with pytest.raises(TypeError, match=r"argument `x` expected a floating-point array, got bool"):
        _toy(p, True)
    with pytest.raises(ValueError, match=r"argument `labels` expected shape \(4, 5\), got shape \(4,\)"):
        _toy(p, jnp.ones((4, 5, 3)), labels=jnp.zeros(4, int))
    with pytest.raises(TypeError, match=r"argument `params` expected params with fields W, b, got tuple"):
        _toy((jnp.ones((2, 3)), jnp.zeros(2)), jnp.ones(3))


def test_inputs_refuses_a_raw_key_with_a_clear_message():
    @checks.inputs(key="key[]")
    def draw(key):
        return jax.random.normal(key)

    assert np.isfinite(draw(jax.random.key(0)))
    with pytest.raises(TypeError, match=r"argument `key` expected a typed PRNG key.*got dtype uint32 of shape \(2,\)"):
        draw(jax.random.PRNGKey(0))


def test_inputs_checks_at_trace_time_only_once_per_compile():
    """Under jit the checks run while tracing; a wrong shape is refused before anything runs."""
    from mathdl.layers import DenseParams

    p = DenseParams(jnp.ones((2, 3)), jnp.zeros(2))
    f = jax.jit(lambda x: _toy(p, x)[0])
    np.testing.assert_allclose(f(jnp.ones(3)), [3.0, 3.0])
    with pytest.raises(ValueError, match=r"expected shape \(3,\), got shape \(2,\)"):
        f(jnp.ones(2))


def test_inputs_refuses_a_spec_for_a_missing_argument():
    with pytest.raises(ValueError, match=r"has no argument"):

        @checks.inputs(y="float[n]")
        def f(x):
            return x


def test_malformed_spec_is_refused():
    with pytest.raises(ValueError, match=r"malformed input spec"):
        checks.inputs(x="floatN p")
    with pytest.raises(ValueError, match=r"more than one variadic"):
        checks.inputs(x="float[*a *b]")


# ---------------------------------------------------------------- checks.ensure: the traced form of a value check


def _clipped_count(labels, K=3):
    ok = (labels >= 0) & (labels < K)
    counts = jnp.zeros(K, jnp.int32).at[labels].add(1, mode="drop")
    return checks.ensure(ok, (counts, counts.astype(float), jnp.all(ok)), "pkg.count", "labels", f"labels in [0, {K})")


def test_ensure_raises_eagerly():
    with pytest.raises(ValueError, match=r"^pkg.count: argument `labels` expected labels in \[0, 3\), got values"):
        _clipped_count(jnp.array([0, 3]))
    counts, _, flag = _clipped_count(jnp.array([0, 2, 2]))
    np.testing.assert_array_equal(counts, [1, 0, 2])
    assert bool(flag)


def test_ensure_poisons_under_jit_and_per_example_under_vmap():
    counts, fl, flag = jax.jit(_clipped_count)(jnp.array([0, 3]))
    np.testing.assert_array_equal(counts, [-1, -1, -1])  # the documented integer sentinel
    assert np.all(np.isnan(fl)) and not bool(flag)
    good, _, _ = jax.jit(_clipped_count)(jnp.array([0, 1]))
    np.testing.assert_array_equal(good, [1, 1, 0])
    batched, _, _ = jax.vmap(_clipped_count)(jnp.array([[0, 1], [0, 5]]))
    np.testing.assert_array_equal(batched, [[1, 1, 0], [-1, -1, -1]])


def test_ensure_raises_in_checked_mode_under_jit():
    f = checks.checked(jax.jit(_clipped_count))
    with pytest.raises(Exception, match=r"pkg.count: argument `labels` expected labels in \[0, 3\)"):
        f(jnp.array([0, 3]))
    np.testing.assert_array_equal(f(jnp.array([2]))[0], [0, 0, 1])


def test_ensure_under_grad_eagerly_raises_and_keeps_the_gradient():
    def f(x):
        return checks.ensure(x > 0, jnp.log(x), "pkg.log", "x", "x > 0")

    np.testing.assert_allclose(jax.grad(f)(2.0), 0.5)
    with pytest.raises(ValueError, match="pkg.log"):
        jax.grad(f)(-1.0)
    assert np.isnan(jax.jit(f)(-1.0))


def test_a_symbol_repeated_in_one_spec_must_agree():
    """"float[N N]" is a square matrix: (2, 3) is refused, (3, 3) accepted."""
    assert checks.conform("pkg.f", "A", jnp.ones((3, 3)), "float[N N]").shape == (3, 3)
    with pytest.raises(ValueError, match=r"argument `A` expected shape \(2, 2\), got shape \(2, 3\)"):
        checks.conform("pkg.f", "A", jnp.ones((2, 3)), "float[N N]")


def test_first_bad_names_the_first_bad_value_and_its_index():
    """Worked values: the eager 'got' text of a value check; traced input gives the fallback text."""
    x = jnp.array([[0, 1], [5, 2]])
    assert checks.first_bad(x, x < 3) == "5 at index 2"
    assert checks.first_bad(x, x < 3, flat=False) == "5 at index (1, 0)"
    assert checks.first_bad(jnp.array(-1.0), jnp.array(False)) == "-1.0"
    assert checks.first_bad(x, x < 9) == "a value outside it"
    assert jax.jit(lambda v: jnp.float32(len(checks.first_bad(v, v > 0, traced="t"))))(x) == 1
