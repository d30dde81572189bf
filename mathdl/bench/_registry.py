"""The benchmark registry: suites register cases; the runner times them side by side.

A *case* is a function ``make(quick: bool) -> dict[str, Impl]`` that builds its inputs
once and returns one zero-argument callable per implementation. Each callable runs one
unit of work (a kernel call or one training step) and returns something the runner can
block on (a JAX pytree, or a torch tensor). Compilation happens on the first call, which
the runner times separately as compile time.

Implementation names are fixed so that tables line up across suites:
``mathdl``, ``jax`` (hand-written ``jax.jit``), ``flax_nnx`` (default ``nnx.jit``),
``flax_nnx_split`` (``nnx.split``/``merge`` under ``jax.jit``), ``flax_linen``,
``torch`` (eager), ``torch_compile``, ``sklearn``, ``scipy``, ``optax``, ``loop`` (a
Python loop), ``jax_cudnn`` (a JAX call pinned to a cuDNN kernel, GPU only). Ratios are
computed against ``jax`` where it exists.

A ``make`` that cannot run here (a GPU-only kernel on CPU, a missing mathdl layer) raises
:class:`SkipCase` with the reason; the runner records the reason as a note. A case may
also declare ``devices=("gpu",)`` so the runner skips it elsewhere without calling
``make``, and ``peak_dtype="bfloat16"`` so its FLOP/s are compared with the bfloat16 peak.

Suites live in ``mathdl/bench/suites/<name>.py`` and are discovered automatically.
"""

import dataclasses
from collections.abc import Callable

__all__ = ["Case", "IMPLEMENTATIONS", "SkipCase", "cases", "register_case"]

#: The implementation names a benchmark case may register: ``mathdl`` and its peers.
IMPLEMENTATIONS = (
    "mathdl",
    "jax",
    "optax",
    "flax_nnx",
    "flax_nnx_split",
    "flax_linen",
    "torch",
    "torch_compile",
    "sklearn",
    "scipy",
    "loop",
    "jax_cudnn",
)


class SkipCase(Exception):  # noqa: N818 - it is a signal, not an error
    """Raised by a case's ``make`` when the case cannot run on this machine; the message says why."""


@dataclasses.dataclass(frozen=True)
class Case:
    """A registered benchmark case.

    Attributes:
      suite: suite name (``"kernels"``, ``"training"``, ``"optim"``, ``"linear"`` ...).
      name: case name, unique within the suite.
      make: ``make(quick: bool) -> dict[str, Callable[[], object]]``.
      flops: ``flops(quick: bool) -> float``, floating-point operations of one call
        (``None`` when not meaningful).
      bytes: ``bytes(quick: bool) -> float``, bytes moved by one call (for bandwidth-bound
        kernels; ``None`` when not meaningful).
      ratio_floor: mathdl/jax ratio the regression guard demands (``None``: no guard).
      devices: platforms the case runs on (``None``: all), e.g. ``("gpu",)``.
      peak_dtype: which measured matmul peak its FLOP/s are compared with.
    """

    suite: str
    name: str
    make: Callable[[bool], dict[str, Callable[[], object]]]
    flops: Callable[[bool], float] | None = None
    bytes: Callable[[bool], float] | None = None
    ratio_floor: float | None = None
    devices: tuple[str, ...] | None = None
    peak_dtype: str = "float32"


_CASES: list[Case] = []


def register_case(
    suite: str,
    name: str,
    *,
    flops: Callable[[bool], float] | None = None,
    bytes: Callable[[bool], float] | None = None,
    ratio_floor: float | None = None,
    devices: tuple[str, ...] | None = None,
    peak_dtype: str = "float32",
):
    r"""Register a benchmark case (used as a decorator on its ``make`` function).

    Args:
      suite: the suite this case belongs to.
      name: the case's name, unique within the suite.
      flops: FLOPs of one call as a function of ``quick`` (for achieved FLOP/s).
      bytes: bytes moved by one call as a function of ``quick`` (for achieved bandwidth).
      ratio_floor: minimum speed ratio ``t_jax / t_mathdl`` the regression guard enforces.
      devices: platforms (``"cpu"``, ``"gpu"``, ``"tpu"``) the case makes sense on; ``None``: all.
      peak_dtype: ``"float32"`` or ``"bfloat16"``: the measured matmul peak to compare FLOP/s with.

    Returns:
      The decorator; it returns ``make`` unchanged.

    Raises:
      ValueError: if the (suite, name) pair is already registered, or ``peak_dtype`` is unknown.

    References:
      benchmarks/README.md.
    """

    if peak_dtype not in ("float32", "bfloat16"):
        raise ValueError(
            f"bench.register_case: argument `peak_dtype` expected 'float32' or 'bfloat16', got {peak_dtype!r}."
        )

    def decorator(make):
        if any(c.suite == suite and c.name == name for c in _CASES):
            raise ValueError(f"bench.register_case: case {suite}/{name} is already registered.")
        _CASES.append(
            Case(suite, name, make, flops, bytes, ratio_floor, tuple(devices) if devices else None, peak_dtype)
        )
        return make

    return decorator


def cases() -> list[Case]:
    r"""All registered cases, in registration order.

    Args:
      None.

    Returns:
      A list of :class:`Case` (import the suites first, e.g. with ``load_cases``).

    References:
      benchmarks/README.md.
    """
    return list(_CASES)
