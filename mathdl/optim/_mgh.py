r"""The Moré-Garbow-Hillstrom collection: 35 unconstrained least-squares test problems.

Each problem is a residual vector $r: \mathbb{R}^n \to \mathbb{R}^m$ with the objective
$f(x) = \sum_{i=1}^m r_i(x)^2$ (the paper's convention; mathdl's least-squares solvers report
$\tfrac12\|r\|^2$, half of it), a standard starting point $x_0$ and the minimum values the paper
publishes (to six significant digits). The problems are chosen to break solvers: bad scaling
(Powell, Brown), exponentials that overflow or underflow (Jennrich-Sampson, Meyer, Osborne),
singular Hessians at the solution (Powell singular), local minima next to the global one
(Freudenstein-Roth, Biggs EXP6) and minima at infinity (Bard, Kowalik-Osborne).

Problems 1-19 have fixed sizes; 20-35 are sized here as the paper's tables commonly use
them (n = 10 where the paper leaves n free, except Watson n = 6, extended Powell n = 12, the linear
problems n = 5, m = 10, and Chebyquad n = 8, whose published minima depend on n).

The residual functions are pure JAX and take one vector ``x`` of shape ``(n,)``, so ``jax.jacfwd``
gives $J$ and ``jax.grad``/``jax.hessian`` of :meth:`MGHProblem.objective` give the derivatives the
solvers need. Constants take the dtype of ``x``.
"""

import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from mathdl import checks

__all__ = ["MGHProblem", "mgh_problem", "mgh_problems"]


class MGHProblem(NamedTuple):
    r"""One problem of the Moré-Garbow-Hillstrom collection.

    Attributes:
      number: the problem's number in the paper (1-35).
      name: a short snake_case name, e.g. ``"brown_badly_scaled"``.
      n: number of variables.
      m: number of residuals.
      residuals: ``r(x) -> (m,)`` for ``x`` of shape ``(n,)``.
      x0: the standard starting point, shape ``(n,)``, float64 NumPy.
      minima: published minimum values of $f = \sum_i r_i^2$ at finite points, the global one first
        (more than one where the paper lists local minima).
      minima_at_infinity: published limits of $f$ along paths to infinity (not minima a solver
        can return; reaching one counts as not solved).
    """

    number: int
    name: str
    n: int
    m: int
    residuals: Callable[[jax.Array], jax.Array]
    x0: np.ndarray
    minima: tuple[float, ...]
    minima_at_infinity: tuple[float, ...] = ()

    def objective(self, x: jax.Array) -> jax.Array:
        r"""The objective $f(x) = \sum_i r_i(x)^2$.

        Args:
          x: a point, shape ``(n,)``.

        Returns:
          $f(x)$, shape ``()``.

        References:
          Moré, Garbow & Hillstrom (1981), eq. (1.1).
        """
        r = self.residuals(x)
        return jnp.sum(r * r)

    def solved(self, value: float, *, rtol: float = 1e-5, atol: float = 1e-10) -> bool:
        r"""Whether $f$ = `value` reaches a published minimum of ``minima``.

        With $\tau(f^*) = \text{rtol}\,|f^*| + \text{atol}$: $f \le f^*_1 + \tau(f^*_1)$ for the global
        minimum $f^*_1$, or $|f - f^*_k| \le \tau(f^*_k)$ for a local one. `rtol` = 1e-5 allows for the
        six published digits, `atol` = 1e-10 is the threshold for a zero minimum.

        Args:
          value: a final objective value $f = \sum_i r_i^2$.
          rtol: relative tolerance on $f^*$.
          atol: absolute tolerance.

        Returns:
          ``True`` if `value` is finite and within the tolerance of a published minimum.

        References:
          Moré, Garbow & Hillstrom (1981), the minima listed with each problem.
        """
        value = float(value)
        if not math.isfinite(value):
            return False
        (best, *local) = self.minima
        return value <= best + rtol * abs(best) + atol or any(abs(value - fs) <= rtol * abs(fs) + atol for fs in local)


# --- helpers ----------------------------------------------------------------------------------


def _c(x, values) -> jax.Array:
    """A constant array in the dtype of ``x``."""
    return jnp.asarray(values, x.dtype)


def _i(x, m: int, start: int = 1) -> jax.Array:
    """The index vector (start, ..., start + m - 1) in the dtype of ``x``."""
    return jnp.arange(start, start + m, dtype=x.dtype)


# --- problems 1-19 (fixed size) -----------------------------------------------------------------------


def _rosenbrock(x):
    return jnp.stack([10.0 * (x[1] - x[0] ** 2), 1.0 - x[0]])


def _freudenstein_roth(x):
    return jnp.stack(
        [-13.0 + x[0] + ((5.0 - x[1]) * x[1] - 2.0) * x[1], -29.0 + x[0] + ((x[1] + 1.0) * x[1] - 14.0) * x[1]]
    )


def _powell_badly_scaled(x):
    return jnp.stack([1e4 * x[0] * x[1] - 1.0, jnp.exp(-x[0]) + jnp.exp(-x[1]) - 1.0001])


def _brown_badly_scaled(x):
    return jnp.stack([x[0] - 1e6, x[1] - 2e-6, x[0] * x[1] - 2.0])


def _beale(x):
    y = _c(x, [1.5, 2.25, 2.625])
    return y - x[0] * (1.0 - x[1] ** _i(x, 3))


def _jennrich_sampson(x):
    i = _i(x, 10)
    return 2.0 + 2.0 * i - (jnp.exp(i * x[0]) + jnp.exp(i * x[1]))


def _helical_valley(x):
    x1 = jnp.where(x[0] == 0.0, 1.0, x[0])  # theta is defined for x1 != 0 only
    theta = jnp.arctan(x[1] / x1) / (2.0 * jnp.pi) + jnp.where(x[0] < 0.0, 0.5, 0.0)
    return jnp.stack([10.0 * (x[2] - 10.0 * theta), 10.0 * (jnp.sqrt(x[0] ** 2 + x[1] ** 2) - 1.0), x[2]])


_BARD_Y = [0.14, 0.18, 0.22, 0.25, 0.29, 0.32, 0.35, 0.39, 0.37, 0.58, 0.73, 0.96, 1.34, 2.10, 4.39]


def _bard(x):
    u = _i(x, 15)
    v = 16.0 - u
    w = jnp.minimum(u, v)
    return _c(x, _BARD_Y) - (x[0] + u / (v * x[1] + w * x[2]))


_GAUSSIAN_Y = [0.0009, 0.0044, 0.0175, 0.0540, 0.1295, 0.2420, 0.3521, 0.3989]


def _gaussian(x):
    t = (8.0 - _i(x, 15)) / 2.0
    y = _c(x, _GAUSSIAN_Y + _GAUSSIAN_Y[-2::-1])  # symmetric about t = 0
    return x[0] * jnp.exp(-x[1] * (t - x[2]) ** 2 / 2.0) - y


_MEYER_Y = [34780.0, 28610.0, 23650.0, 19630.0, 16370.0, 13720.0, 11540.0, 9744.0]
_MEYER_Y += [8261.0, 7030.0, 6005.0, 5147.0, 4427.0, 3820.0, 3307.0, 2872.0]


def _meyer(x):
    t = 45.0 + 5.0 * _i(x, 16)
    return x[0] * jnp.exp(x[1] / (t + x[2])) - _c(x, _MEYER_Y)


_GULF_M = 99


def _gulf(x):
    t = _i(x, _GULF_M) / 100.0
    y = 25.0 + (-50.0 * jnp.log(t)) ** (2.0 / 3.0)
    return jnp.exp(-(jnp.abs(y - x[1]) ** x[2]) / x[0]) - t


def _box_3d(x):
    t = 0.1 * _i(x, 10)
    return jnp.exp(-t * x[0]) - jnp.exp(-t * x[1]) - x[2] * (jnp.exp(-t) - jnp.exp(-10.0 * t))


def _powell_singular_block(x):
    return jnp.stack(
        [
            x[0] + 10.0 * x[1],
            math.sqrt(5.0) * (x[2] - x[3]),
            (x[1] - 2.0 * x[2]) ** 2,
            math.sqrt(10.0) * (x[0] - x[3]) ** 2,
        ]
    )


def _wood(x):
    return jnp.stack(
        [
            10.0 * (x[1] - x[0] ** 2),
            1.0 - x[0],
            math.sqrt(90.0) * (x[3] - x[2] ** 2),
            1.0 - x[2],
            math.sqrt(10.0) * (x[1] + x[3] - 2.0),
            (x[1] - x[3]) / math.sqrt(10.0),
        ]
    )


_KO_Y = [0.1957, 0.1947, 0.1735, 0.1600, 0.0844, 0.0627, 0.0456, 0.0342, 0.0323, 0.0235, 0.0246]
_KO_U = [4.0, 2.0, 1.0, 0.5, 0.25, 0.167, 0.125, 0.1, 0.0833, 0.0714, 0.0625]


def _kowalik_osborne(x):
    u = _c(x, _KO_U)
    return _c(x, _KO_Y) - x[0] * (u**2 + u * x[1]) / (u**2 + u * x[2] + x[3])


def _brown_dennis(x):
    t = _i(x, 20) / 5.0
    return (x[0] + t * x[1] - jnp.exp(t)) ** 2 + (x[2] + x[3] * jnp.sin(t) - jnp.cos(t)) ** 2


_OSBORNE1_Y = [0.844, 0.908, 0.932, 0.936, 0.925, 0.908, 0.881, 0.850, 0.818, 0.784, 0.751]
_OSBORNE1_Y += [0.718, 0.685, 0.658, 0.628, 0.603, 0.580, 0.558, 0.538, 0.522, 0.506, 0.490]
_OSBORNE1_Y += [0.478, 0.467, 0.457, 0.448, 0.438, 0.431, 0.424, 0.420, 0.414, 0.411, 0.406]


def _osborne1(x):
    t = 10.0 * _i(x, 33, start=0)
    return _c(x, _OSBORNE1_Y) - (x[0] + x[1] * jnp.exp(-t * x[3]) + x[2] * jnp.exp(-t * x[4]))


def _biggs_exp6(x):
    t = 0.1 * _i(x, 13)
    y = jnp.exp(-t) - 5.0 * jnp.exp(-10.0 * t) + 3.0 * jnp.exp(-4.0 * t)
    return x[2] * jnp.exp(-t * x[0]) - x[3] * jnp.exp(-t * x[1]) + x[5] * jnp.exp(-t * x[4]) - y


_OSBORNE2_Y = [1.366, 1.191, 1.112, 1.013, 0.991, 0.885, 0.831, 0.847, 0.786, 0.725, 0.746, 0.679, 0.608]
_OSBORNE2_Y += [0.655, 0.616, 0.606, 0.602, 0.626, 0.651, 0.724, 0.649, 0.649, 0.694, 0.644, 0.624, 0.661]
_OSBORNE2_Y += [0.612, 0.558, 0.533, 0.495, 0.500, 0.423, 0.395, 0.375, 0.372, 0.391, 0.396, 0.405, 0.428]
_OSBORNE2_Y += [0.429, 0.523, 0.562, 0.607, 0.653, 0.672, 0.708, 0.633, 0.668, 0.645, 0.632, 0.591, 0.559]
_OSBORNE2_Y += [0.597, 0.625, 0.739, 0.710, 0.729, 0.720, 0.636, 0.581, 0.428, 0.292, 0.162, 0.098, 0.054]


def _osborne2(x):
    t = _i(x, 65, start=0) / 10.0
    model = (
        x[0] * jnp.exp(-t * x[4])
        + x[1] * jnp.exp(-((t - x[8]) ** 2) * x[5])
        + x[2] * jnp.exp(-((t - x[9]) ** 2) * x[6])
        + x[3] * jnp.exp(-((t - x[10]) ** 2) * x[7])
    )
    return _c(x, _OSBORNE2_Y) - model


# --- problems 20-35 (variable size) ---------------------------------------------------------------------


def _watson(x):
    n = x.shape[0]
    t = _i(x, 29) / 29.0
    j = _i(x, n)
    powers = t[:, None] ** (j[None, :] - 1.0)  # t_i^(j-1), shape (29, n)
    sum1 = powers[:, :-1] @ ((j[1:] - 1.0) * x[1:])  # sum_{j>=2} (j-1) x_j t^(j-2)
    sum2 = powers @ x
    return jnp.concatenate([sum1 - sum2**2 - 1.0, jnp.stack([x[0], x[1] - x[0] ** 2 - 1.0])])


def _extended_rosenbrock(x):
    odd, even = x[0::2], x[1::2]
    return jnp.stack([10.0 * (even - odd**2), 1.0 - odd], axis=1).reshape(-1)


def _extended_powell(x):
    return jax.vmap(_powell_singular_block)(x.reshape(-1, 4)).reshape(-1)


def _penalty_i(x):
    return jnp.concatenate([math.sqrt(1e-5) * (x - 1.0), jnp.stack([jnp.sum(x**2) - 0.25])])


def _penalty_ii(x):
    n = x.shape[0]
    i = _i(x, n - 1, start=2)
    y = jnp.exp(i / 10.0) + jnp.exp((i - 1.0) / 10.0)
    a = math.sqrt(1e-5)
    e = jnp.exp(x / 10.0)
    middle = a * (e[1:] + e[:-1] - y)
    tail = a * (e[1:] - math.exp(-0.1))
    last = jnp.sum((n - _i(x, n) + 1.0) * x**2) - 1.0
    return jnp.concatenate([jnp.stack([x[0] - 0.2]), middle, tail, jnp.stack([last])])


def _variably_dimensioned(x):
    s = jnp.sum(_i(x, x.shape[0]) * (x - 1.0))
    return jnp.concatenate([x - 1.0, jnp.stack([s, s**2])])


def _trigonometric(x):
    n = x.shape[0]
    return n - jnp.sum(jnp.cos(x)) + _i(x, n) * (1.0 - jnp.cos(x)) - jnp.sin(x)


def _brown_almost_linear(x):
    n = x.shape[0]
    return jnp.concatenate([x[:-1] + jnp.sum(x) - (n + 1.0), jnp.stack([jnp.prod(x) - 1.0])])


def _h_t(x):
    n = x.shape[0]
    h = 1.0 / (n + 1.0)
    return h, _i(x, n) * h


def _discrete_boundary_value(x):
    h, t = _h_t(x)
    padded = jnp.pad(x, 1)  # x_0 = x_{n+1} = 0
    return 2.0 * x - padded[:-2] - padded[2:] + h**2 * (x + t + 1.0) ** 3 / 2.0


def _discrete_integral_equation(x):
    h, t = _h_t(x)
    c = (x + t + 1.0) ** 3
    lower = jnp.cumsum(t * c)  # sum_{j <= i} t_j (x_j + t_j + 1)^3
    upper = jnp.sum((1.0 - t) * c) - jnp.cumsum((1.0 - t) * c)  # sum_{j > i} (1 - t_j)(x_j + t_j + 1)^3
    return x + h * ((1.0 - t) * lower + t * upper) / 2.0


def _broyden_tridiagonal(x):
    padded = jnp.pad(x, 1)
    return (3.0 - 2.0 * x) * x - padded[:-2] - 2.0 * padded[2:] + 1.0


def _broyden_banded(x):
    n = x.shape[0]
    i = np.arange(n)[:, None]
    j = np.arange(n)[None, :]
    band = _c(x, ((j != i) & (j >= i - 5) & (j <= i + 1)).astype(np.float64))  # J_i: max(1, i-5) <= j <= min(n, i+1)
    return x * (2.0 + 5.0 * x**2) + 1.0 - band @ (x * (1.0 + x))


_LINEAR_M = 10


def _linear_full_rank(x):
    n, m = x.shape[0], _LINEAR_M
    s = 2.0 / m * jnp.sum(x)
    return jnp.concatenate([x - s - 1.0, jnp.full((m - n,), -1.0, x.dtype) - s])


def _linear_rank1(x):
    n, m = x.shape[0], _LINEAR_M
    return _i(x, m) * jnp.sum(_i(x, n) * x) - 1.0


def _linear_rank1_zero(x):
    n, m = x.shape[0], _LINEAR_M
    s = jnp.sum(_i(x, n - 2, start=2) * x[1:-1])
    inner = _i(x, m - 2, start=1) * s - 1.0  # (i - 1) s - 1 for i = 2, ..., m - 1
    minus_one = jnp.full((1,), -1.0, x.dtype)
    return jnp.concatenate([minus_one, inner, minus_one])


def _chebyquad(x):
    n = x.shape[0]
    u = 2.0 * x - 1.0
    T_prev, T = jnp.ones_like(u), u
    rows = []
    for i in range(1, n + 1):  # T_i(u) by the three-term recurrence
        integral = 0.0 if i % 2 else -1.0 / (i * i - 1.0)  # the integral of T_i(2t - 1) over [0, 1]
        rows.append(jnp.mean(T) - integral)
        T_prev, T = T, 2.0 * u * T - T_prev
    return jnp.stack(rows)


# --- the collection ---------------------------------------------------------------------------


def _linspace_start(n: int) -> np.ndarray:
    t = np.arange(1, n + 1) / (n + 1.0)
    return t * (t - 1.0)


def _table() -> tuple[MGHProblem, ...]:
    m_lin = _LINEAR_M
    n10 = 10
    rows = [
        (1, "rosenbrock", 2, 2, _rosenbrock, [-1.2, 1.0], (0.0,), ()),
        (2, "freudenstein_roth", 2, 2, _freudenstein_roth, [0.5, -2.0], (0.0, 48.9842), ()),
        (3, "powell_badly_scaled", 2, 2, _powell_badly_scaled, [0.0, 1.0], (0.0,), ()),
        (4, "brown_badly_scaled", 2, 3, _brown_badly_scaled, [1.0, 1.0], (0.0,), ()),
        (5, "beale", 2, 3, _beale, [1.0, 1.0], (0.0,), ()),
        (6, "jennrich_sampson", 2, 10, _jennrich_sampson, [0.3, 0.4], (124.362,), ()),
        (7, "helical_valley", 3, 3, _helical_valley, [-1.0, 0.0, 0.0], (0.0,), ()),
        (8, "bard", 3, 15, _bard, [1.0, 1.0, 1.0], (8.21487e-3,), (17.4286,)),
        (9, "gaussian", 3, 15, _gaussian, [0.4, 1.0, 0.0], (1.12793e-8,), ()),
        (10, "meyer", 3, 16, _meyer, [0.02, 4000.0, 250.0], (87.9458,), ()),
        (11, "gulf", 3, _GULF_M, _gulf, [5.0, 2.5, 0.15], (0.0,), ()),
        (12, "box_3d", 3, 10, _box_3d, [0.0, 10.0, 20.0], (0.0,), ()),
        (13, "powell_singular", 4, 4, _powell_singular_block, [3.0, -1.0, 0.0, 1.0], (0.0,), ()),
        (14, "wood", 4, 6, _wood, [-3.0, -1.0, -3.0, -1.0], (0.0,), ()),
        (15, "kowalik_osborne", 4, 11, _kowalik_osborne, [0.25, 0.39, 0.415, 0.39], (3.07505e-4,), (1.02734e-3,)),
        (16, "brown_dennis", 4, 20, _brown_dennis, [25.0, 5.0, -5.0, -1.0], (85822.2,), ()),
        (17, "osborne1", 5, 33, _osborne1, [0.5, 1.5, -1.0, 0.01, 0.02], (5.46489e-5,), ()),
        (18, "biggs_exp6", 6, 13, _biggs_exp6, [1.0, 2.0, 1.0, 1.0, 1.0, 1.0], (0.0, 5.65565e-3), ()),
        (
            19,
            "osborne2",
            11,
            65,
            _osborne2,
            [1.3, 0.65, 0.65, 0.7, 0.6, 3.0, 5.0, 7.0, 2.0, 4.5, 5.5],
            (4.01377e-2,),
            (),
        ),
        (20, "watson", 6, 31, _watson, np.zeros(6), (2.28767e-3,), ()),
        (21, "extended_rosenbrock", n10, n10, _extended_rosenbrock, np.tile([-1.2, 1.0], n10 // 2), (0.0,), ()),
        (22, "extended_powell", 12, 12, _extended_powell, np.tile([3.0, -1.0, 0.0, 1.0], 3), (0.0,), ()),
        (23, "penalty_i", n10, n10 + 1, _penalty_i, np.arange(1.0, n10 + 1.0), (7.08765e-5,), ()),
        (24, "penalty_ii", n10, 2 * n10, _penalty_ii, np.full(n10, 0.5), (2.93660e-4,), ()),
        (
            25,
            "variably_dimensioned",
            n10,
            n10 + 2,
            _variably_dimensioned,
            1.0 - np.arange(1, n10 + 1) / n10,
            (0.0,),
            (),
        ),
        (26, "trigonometric", n10, n10, _trigonometric, np.full(n10, 1.0 / n10), (0.0,), ()),
        (27, "brown_almost_linear", n10, n10, _brown_almost_linear, np.full(n10, 0.5), (0.0, 1.0), ()),
        (28, "discrete_boundary_value", n10, n10, _discrete_boundary_value, _linspace_start(n10), (0.0,), ()),
        (29, "discrete_integral_equation", n10, n10, _discrete_integral_equation, _linspace_start(n10), (0.0,), ()),
        (30, "broyden_tridiagonal", n10, n10, _broyden_tridiagonal, np.full(n10, -1.0), (0.0,), ()),
        (31, "broyden_banded", n10, n10, _broyden_banded, np.full(n10, -1.0), (0.0,), ()),
        (32, "linear_full_rank", 5, m_lin, _linear_full_rank, np.ones(5), (float(m_lin - 5),), ()),
        (33, "linear_rank1", 5, m_lin, _linear_rank1, np.ones(5), (m_lin * (m_lin - 1) / (2.0 * (2 * m_lin + 1)),), ()),
        (
            34,
            "linear_rank1_zero",
            5,
            m_lin,
            _linear_rank1_zero,
            np.ones(5),
            ((m_lin**2 + 3 * m_lin - 6) / (2.0 * (2 * m_lin - 3)),),
            (),
        ),
        (35, "chebyquad", 8, 8, _chebyquad, np.arange(1, 9) / 9.0, (3.51687e-3,), ()),
    ]
    return tuple(
        MGHProblem(num, name, n, m, fn, np.asarray(x0, np.float64), minima, at_inf)
        for num, name, n, m, fn, x0, minima, at_inf in rows
    )


_PROBLEMS = _table()


def mgh_problems() -> tuple[MGHProblem, ...]:
    r"""The 35 problems of Moré, Garbow & Hillstrom (1981), in the paper's order.

    Each :class:`MGHProblem` carries its residuals $r(x)$, the standard starting point and the
    published minimum values of $f = \sum_i r_i^2$. Sizes of the variable-dimension problems:
    module docstring.

    Returns:
      A tuple of 35 :class:`MGHProblem`, ``number`` 1 to 35.

    References:
      J. J. Moré, B. S. Garbow, K. E. Hillstrom, "Testing unconstrained optimization software",
      ACM Trans. Math. Softw. 7(1), 17-41, 1981 (problems, starting points, minima).
      [MEDL] Ch. 4, Sec. 4.6 (the solvers these test).

    Example:
      >>> p = mgh_problems()[3]
      >>> p.name, p.n, p.m
      ('brown_badly_scaled', 2, 3)
    """
    return _PROBLEMS


def mgh_problem(name: str) -> MGHProblem:
    """One problem of :func:`mgh_problems` by its name, e.g. ``"jennrich_sampson"``.

    Args:
      name: the problem's ``name``.

    Returns:
      The :class:`MGHProblem`.

    Raises:
      ValueError: if no problem has that name.

    References:
      Moré, Garbow & Hillstrom (1981); see :func:`mgh_problems`.
    """
    names = [p.name for p in _PROBLEMS]
    checks.check_choice("optim.mgh_problem", "name", name, names)
    return _PROBLEMS[names.index(name)]
