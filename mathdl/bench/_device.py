"""The device under test: which backends exist, what the machine is, and its own limits.

The limits are measured in the same process run as the cases, with the same timing
protocol (:mod:`mathdl.bench._timing`), so "achieved FLOP/s as a fraction of peak" compares
like with like on a machine whose speed drifts:

* **matmul peak**: ``jnp.matmul`` of square matrices, float32 and bfloat16, at a few sizes;
  the best FLOP/s over sizes and rounds ($2n^3$ FLOPs per product; the median is kept too);
* **memory bandwidth**: a full reduction ``jnp.sum(x)`` (reads $4N$ bytes) and an
  elementwise ``x + 1`` (reads and writes, $8N$ bytes) over a large float32 vector;
* **dispatch latency**: a jitted ``x + 1`` on a scalar, blocked on every call.
"""

import datetime
import importlib
import os
import platform
import resource
import sys

from mathdl.bench import _timing

__all__ = ["BACKENDS", "available_backends", "environment", "measure_limits", "memory_probe", "select_device"]

BACKENDS = ("cpu", "gpu", "tpu")

# Square matmul sizes and vector lengths per platform: (quick, full).
_MATMUL_SIZES = {
    # CPU: medium sizes too; on a shared 2-core machine batch-128 GEMMs beat the 1024/2048 products.
    "cpu": {"float32": ((128,), (512, 1024, 2048)), "bfloat16": ((128,), (256, 512, 1024))},
    "gpu": {"float32": ((512,), (4096, 8192)), "bfloat16": ((512,), (4096, 8192))},
    "tpu": {"float32": ((512,), (4096, 8192)), "bfloat16": ((512,), (4096, 8192))},
}
_BANDWIDTH_N = {"cpu": (1 << 20, 1 << 24), "gpu": (1 << 22, 1 << 28), "tpu": (1 << 22, 1 << 28)}

_BF16_FLAGS = ("avx512_bf16", "amx_bf16", "avxneconvert", "bf16")  # x86 and Arm cpuinfo names


def _cpuinfo() -> tuple[str | None, set[str]]:
    """The CPU model name and flag set from /proc/cpuinfo (``(None, set())`` elsewhere)."""
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
    except OSError:
        return None, set()
    model, flags = None, set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key in ("model name", "Model", "cpu model") and model is None:
            model = value.strip()
        elif key in ("flags", "Features") and not flags:
            flags = set(value.split())
    return model, flags


def _bf16_note(platform_name: str) -> str | None:
    if platform_name != "cpu":
        return None
    found = sorted(f for f in _BF16_FLAGS if f in _cpuinfo()[1])
    if found:
        return (
            f"CPU bfloat16: this CPU reports {', '.join(found)} (bfloat16 dot-product instructions); whether "
            "XLA's CPU kernels use them depends on the kernel library, so read it as measured, not as a spec peak."
        )
    return (
        "CPU bfloat16: this CPU reports no bfloat16 instructions, so XLA converts to float32; "
        "this is not a hardware bfloat16 peak."
    )


def available_backends() -> list[str]:
    r"""The JAX backends this process can use, among ``cpu``, ``gpu`` and ``tpu``.

    Returns:
      Backend names, in the order of :data:`BACKENDS`.

    References:
      ``jax.devices(backend)``.
    """
    import jax

    out = []
    for name in BACKENDS:
        try:
            if jax.devices(name):
                out.append(name)
        except RuntimeError:  # "Unknown backend" / "Backend 'gpu' failed to initialize"
            pass
    return out


def select_device(name: str | None):
    r"""The first device of backend ``name`` (the default backend when ``None``).

    Args:
      name: ``"cpu"``, ``"gpu"``, ``"tpu"`` or ``None``.

    Returns:
      A ``jax.Device``.

    Raises:
      ValueError: if ``name`` is not a known backend, or that backend is not available here;
        the message lists the available ones.

    References:
      ``jax.devices``.
    """
    import jax

    if name is None:
        return jax.devices()[0]
    available = available_backends()
    if name not in BACKENDS:
        raise ValueError(f"bench: argument `--device` expected one of {available} (available here), got {name!r}.")
    if name not in available:
        raise ValueError(
            f"bench: argument `--device` expected one of {available} (available here), got {name!r}, "
            "which JAX cannot use in this installation."
        )
    return jax.devices(name)[0]


def _version(module: str) -> str | None:
    try:
        return getattr(importlib.import_module(module), "__version__", "unknown")
    except ImportError:
        return None


def environment(device, command: str | None = None) -> dict:
    r"""What the numbers depend on: device, library versions, flags, CPU count, date, command.

    Args:
      device: the ``jax.Device`` under test.
      command: the command line that produced the run.

    Returns:
      A JSON-serialisable dict.

    References:
      benchmarks/README.md, "What a result file holds".
    """
    import jax

    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        affinity = os.cpu_count()
    versions = {m: _version(m) for m in ("jax", "jaxlib", "flax", "optax", "numpy", "torch")}
    env = {
        "date_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": command,
        "device": {
            "platform": device.platform,
            "kind": device.device_kind,
            "id": device.id,
            "count": len(jax.devices(device.platform)),
        },
        "host": {
            "machine": platform.machine(),
            "processor": _cpuinfo()[0] or platform.processor() or None,
            "cpu_count": os.cpu_count(),
            "cpus_usable": affinity,
            "python": sys.version.split()[0],
            "system": f"{platform.system()} {platform.release()}",
        },
        "versions": versions,
        "flags": {
            "XLA_FLAGS": os.environ.get("XLA_FLAGS", ""),
            "JAX_PLATFORMS": os.environ.get("JAX_PLATFORMS", ""),
            "jax_enable_x64": bool(jax.config.jax_enable_x64),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", ""),
        },
    }
    if versions["torch"] is not None:
        import torch

        env["flags"]["torch_num_threads"] = torch.get_num_threads()
    return env


class memory_probe:  # noqa: N801 - used like a function: ``with memory_probe(dev) as m: ...``
    r"""Peak memory of the code inside a ``with`` block, where the backend reports it.

    On a GPU/TPU, JAX's ``device.memory_stats()["peak_bytes_in_use"]`` (process-wide and
    monotonic: the probe reports its growth inside the block, and the peak itself) and, for
    torch on CUDA, ``torch.cuda.max_memory_allocated`` after a reset. On CPU there is no
    allocator report: the probe gives the growth of the process's maximum resident set
    size, labelled as such (0 when the block reused memory already touched).

    Args:
      device: the ``jax.Device`` under test.

    Returns:
      A context manager; after the block ``.result`` is ``{"bytes": int | None, "kind": str}``.

    References:
      ``jax.Device.memory_stats``; ``resource.getrusage``.
    """

    def __init__(self, device):
        self.device = device
        self.result = {"bytes": None, "kind": "n/a"}

    def _stats(self):
        try:
            return self.device.memory_stats() or {}
        except Exception:  # some backends raise instead of returning None
            return {}

    def __enter__(self):
        self._before = self._stats().get("peak_bytes_in_use")
        self._rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        torch = sys.modules.get("torch")
        self._torch_cuda = torch is not None and torch.cuda.is_available()
        if self._torch_cuda:
            torch.cuda.reset_peak_memory_stats()
        return self

    def __exit__(self, *exc):
        after = self._stats().get("peak_bytes_in_use")
        torch = sys.modules.get("torch")
        torch_peak = torch.cuda.max_memory_allocated() if self._torch_cuda else 0
        if after is not None:
            self.result = {
                "bytes": int(after),
                "growth_bytes": int(after - (self._before or 0)),
                "torch_cuda_bytes": int(torch_peak) if self._torch_cuda else None,
                "kind": "device peak_bytes_in_use (process-wide)",
            }
        else:
            # ru_maxrss is in KiB on Linux, bytes on macOS.
            scale = 1 if sys.platform == "darwin" else 1024
            growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - self._rss) * scale
            self.result = {"bytes": int(growth), "kind": "host max-RSS growth (no device allocator report)"}
        return False


def _time_one(make_fn, *, repeats, window_s, pause_s):
    fn = make_fn()
    compile_s = _timing.time_first_call(fn)
    calls = _timing.calibrate(fn, window_s=window_s)
    t = _timing.run_rotation({"x": fn}, {"x": calls}, repeats=repeats, pause_s=pause_s)["x"]
    return compile_s, _timing.summarize(t)


def measure_limits(device, *, quick: bool, repeats: int, window_s: float, pause_s: float, log=print) -> dict:
    r"""Measure the device's matmul peak (float32, bfloat16), memory bandwidth and dispatch latency.

    Args:
      device: the ``jax.Device`` under test (the caller sets it as default device).
      quick: tiny sizes (a smoke test; the figures then mean little).
      repeats: timing windows per probe.
      window_s: target seconds per window.
      pause_s: seconds slept before each window.
      log: a ``print``-like progress function.

    Returns:
      ``{"matmul": {dtype: {...}}, "bandwidth": {...}, "dispatch": {...}}``; the headline
      figures are ``matmul[dtype]["peak_flops"]`` and ``bandwidth["peak_bytes_per_s"]`` (the
      best round over sizes: what the device can do) and ``dispatch["median_s"]``.

    References:
      benchmarks/README.md, "Device limits".
    """
    import jax
    import jax.numpy as jnp

    plat = device.platform
    out: dict = {"matmul": {}, "bandwidth": {}, "dispatch": {}}
    key = jax.random.key(0)
    for dtype_name in ("float32", "bfloat16"):
        dtype = jnp.dtype(dtype_name)
        sizes = _MATMUL_SIZES.get(plat, _MATMUL_SIZES["gpu"])[dtype_name][0 if quick else 1]
        per_size = {}
        for n in sizes:
            ka, kb = jax.random.split(jax.random.fold_in(key, n))
            a = jax.device_put(jax.random.normal(ka, (n, n), dtype), device)
            b = jax.device_put(jax.random.normal(kb, (n, n), dtype), device)
            f = jax.jit(jnp.matmul)
            try:
                compile_s, s = _time_one(lambda f=f, a=a, b=b: lambda: f(a, b), **_kw(repeats, window_s, pause_s))
            except Exception as exc:  # e.g. a backend without this dtype
                per_size[str(n)] = {"error": f"{type(exc).__name__}: {exc}"[:200]}
                continue
            flops = 2.0 * n**3
            per_size[str(n)] = {
                "median_s": s["median"],
                "min_s": s["min"],
                "flops": flops,
                "median_flops_per_s": flops / s["median"],
                "best_flops_per_s": flops / s["min"],
                "compile_s": compile_s,
            }
            log(f"  limits: matmul {dtype_name} n={n}: {flops / s['median'] / 1e9:.1f} GFLOP/s (median)")
        ok = [v for v in per_size.values() if "median_flops_per_s" in v]
        entry = {
            "sizes": per_size,
            # The peak is the best round: on a shared machine the median includes other people's
            # work, and a peak is what the device can do. Cases are then measured at their median,
            # so "% of peak" errs low, never above 100% because of a noisy probe.
            "peak_flops": max((v["best_flops_per_s"] for v in ok), default=None),
            "median_flops": max((v["median_flops_per_s"] for v in ok), default=None),
            "definition": "best over sizes and rounds of 2 n^3 / seconds of jnp.matmul(n x n, n x n)",
        }
        if dtype_name == "bfloat16" and _bf16_note(plat):
            entry["note"] = _bf16_note(plat)
        out["matmul"][dtype_name] = entry

    n = _BANDWIDTH_N.get(plat, _BANDWIDTH_N["gpu"])[0 if quick else 1]
    x = jax.device_put(jnp.ones((n,), jnp.float32), device)
    probes = {
        "reduce_sum": (jax.jit(jnp.sum), 4.0 * n, "jnp.sum(x): reads 4N bytes"),
        "add_one": (jax.jit(lambda v: v + 1.0), 8.0 * n, "x + 1: reads 4N and writes 4N bytes"),
    }
    for name, (f, nbytes, what) in probes.items():
        compile_s, s = _time_one(lambda f=f: lambda: f(x), **_kw(repeats, window_s, pause_s))
        out["bandwidth"][name] = {
            "n": n,
            "bytes": nbytes,
            "median_s": s["median"],
            "min_s": s["min"],
            "bytes_per_s": nbytes / s["median"],
            "best_bytes_per_s": nbytes / s["min"],
            "what": what,
        }
        log(f"  limits: bandwidth {name} N={n}: {nbytes / s['median'] / 1e9:.1f} GB/s (median)")
    out["bandwidth"]["peak_bytes_per_s"] = max(v["best_bytes_per_s"] for v in out["bandwidth"].values())
    if quick:
        out["bandwidth"]["note"] = "quick: a small vector that may sit in cache; not a DRAM figure."

    scalar = jax.device_put(jnp.float32(1.0), device)
    f = jax.jit(lambda v: v + 1.0)
    compile_s, s = _time_one(lambda: lambda: f(scalar), **_kw(repeats, window_s, pause_s))
    out["dispatch"] = {
        "median_s": s["median"],
        "q25_s": s["q25"],
        "q75_s": s["q75"],
        "what": "jax.jit(lambda v: v + 1)(scalar), blocked on every call",
    }
    log(f"  limits: dispatch latency {s['median'] * 1e6:.1f} us (median)")
    return out


def _kw(repeats, window_s, pause_s):
    return {"repeats": repeats, "window_s": window_s, "pause_s": pause_s}
