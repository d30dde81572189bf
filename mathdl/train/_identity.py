r"""The identity of a training run, recorded in every checkpoint and checked on resume.

A run is identified by its key (the seed, for ``jax.random.key(seed)``), the caller's
configuration (optimizer name, learning rate ... as a JSON dict), the batch size and number of
examples, a SHA-256 fingerprint of the data (every leaf's path, dtype, shape and bytes; in a job,
of every process's shard), the number of processes (and of data shards), and the types in the
state's tree (``AdamState`` against ``SGDState``). Resuming a checkpoint whose identity differs
is refused with a message naming each difference (``seed: checkpoint 0, this run 7``, ``number
of processes: checkpoint 2, this run 1``); shapes and dtypes of the state are checked leaf by
leaf when it is restored.
"""

import hashlib
import json
import re

import jax
import jax.numpy as jnp
import numpy as np

from mathdl import checks

__all__ = []

_NOT_RECORDED = "(not recorded)"


def data_fingerprint(data) -> str | None:
    """SHA-256 over every leaf's path, dtype, shape and bytes (``None`` without data)."""
    if data is None:
        return None
    h = hashlib.sha256()
    for path, leaf in jax.tree_util.tree_leaves_with_path(data):
        arr = np.ascontiguousarray(np.asarray(leaf))
        h.update(f"{jax.tree_util.keystr(path)}|{arr.dtype}|{arr.shape}|".encode())
        h.update(memoryview(arr).cast("B"))
    return h.hexdigest()


def state_types(state) -> list[str]:
    """The named node types in the state's tree, in order of first appearance (``["AdamState"]``)."""
    text = str(jax.tree.structure(state))
    names = re.findall(r"namedtuple\[(\w+)\]|CustomNode\((?!namedtuple)(\w+)\[", text)
    out = []
    for a, b in names:
        name = a or b
        if name not in out:
            out.append(name)
    return out


def first_update(optimizer, params) -> str | None:
    r"""The mean of the optimizer's first update of a unit gradient, to 6 digits.

    It tells learning rates and most hyperparameters apart ($-\alpha$ for SGD and, up to
    $\epsilon$, for Adam) without knowing the optimizer's type. ``None`` if it cannot be computed.
    """

    def probe(p):
        g = jax.tree.map(jnp.ones_like, p)
        u, _ = optimizer.update(g, optimizer.init(p), p)
        means = [jnp.mean(x.astype(jnp.float32)) for x in jax.tree.leaves(u)]
        return jnp.mean(jnp.stack(means)) if means else jnp.float32(0.0)

    try:
        value = float(jax.jit(probe)(params))
    except Exception:  # noqa: BLE001 - a fingerprint only: an optimizer that cannot take this probe has none
        return None
    return f"{value:.6g}"


def _jsonable(func: str, config):
    if config is None:
        return {}
    if not isinstance(config, dict):
        checks.fail(func, "config", "a dict of JSON values", type(config).__name__, exc=TypeError)
    try:
        return json.loads(json.dumps(config, sort_keys=True))
    except (TypeError, ValueError) as exc:
        checks.fail(func, "config", "a dict of JSON values (str, number, bool, None, list, dict)", str(exc))


def run_identity(func: str, key, *, config, batch_size, n, data, state) -> dict:
    """The identity recorded in each checkpoint's manifest (JSON)."""
    return {
        "key": {"impl": str(jax.random.key_impl(key)), "data": np.asarray(jax.random.key_data(key)).tolist()},
        "config": _jsonable(func, config),
        "batch_size": batch_size,
        "examples": n,
        "data": data_fingerprint(data),
        "state_types": state_types(state),
    }


def _seed(key: dict) -> int | None:
    """The seed of a ``jax.random.key(seed)`` key (threefry data ``[0, seed]``), else ``None``."""
    data = key.get("data") or []
    if key.get("impl") == "threefry2x32" and len(data) == 2 and data[0] == 0:
        return int(data[1])
    return None


def _show(value) -> str:
    if value is _NOT_RECORDED:
        return value
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        return f"sha256 {value[:12]}..."
    return json.dumps(value) if not isinstance(value, str) else value


def differences(saved: dict, current: dict) -> list[str]:
    """``"<what>: checkpoint <a>, this run <b>"`` for each part of the identity that differs."""
    out = []
    for field, label, default in (("processes", "number of processes", 1), ("data_shards", "data shards", "none")):
        a, b = saved.get(field, default), current.get(field, default)
        if ("processes" in saved or field in current) and a != b:
            # the batch order depends on the shards: a job of another size cannot continue this run
            out.append(f"{label}: checkpoint {a}, this run {b}")
    saved_cfg, cur_cfg = saved.get("config", {}), current.get("config", {})
    for name in sorted(set(saved_cfg) | set(cur_cfg)):
        a, b = saved_cfg.get(name, _NOT_RECORDED), cur_cfg.get(name, _NOT_RECORDED)
        if a != b:
            out.append(f"{name}: checkpoint {_show(a)}, this run {_show(b)}")
    a, b = saved.get("key"), current.get("key")
    if a is not None and a != b:
        sa, sb = _seed(a), _seed(b)
        if sa is not None and sb is not None:
            out.append(f"seed: checkpoint {sa}, this run {sb}")
        else:
            out.append(
                f"key: checkpoint key data {a['data']} ({a['impl']}), this run key data {b['data']} ({b['impl']})"
            )
    labels = {
        "batch_size": "batch_size",
        "examples": "number of examples",
        "data": "data",
        "state_types": "state types",
    }
    for field, label in labels.items():
        if field in saved and saved[field] != current.get(field):
            out.append(f"{label}: checkpoint {_show(saved[field])}, this run {_show(current.get(field))}")
    return out
