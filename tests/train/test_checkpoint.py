"""Tests of the verified checkpoints: save/restore round trip, corruption, keep-last-N, wrong model."""

import hashlib
import json
import os
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from mathdl.train import (
    CheckpointError,
    fit,
    list_checkpoints,
    mean_loss,
    restore_checkpoint,
    restore_latest,
    save_checkpoint,
    tree_digest,
)


def _tree(seed=0):
    rng = np.random.default_rng(seed)
    return {
        "params": ({"W": rng.normal(size=(3, 2)).astype(np.float32), "b": np.zeros(3, np.float32)},),
        "step": np.int32(7),
        "key": jax.random.key(seed),
    }


def test_round_trip_is_bitwise_and_keeps_typed_keys(tmp_path):
    """Round trip (stax-style get(save(x)) == x): leaves bitwise equal, typed keys restored as keys."""
    tree = _tree()
    path = save_checkpoint(tmp_path, 7, tree, {"epoch": 2})
    out, manifest = restore_checkpoint(path, _tree(seed=1))
    assert tree_digest(out) == tree_digest(tree)
    assert jax.dtypes.issubdtype(out["key"].dtype, jax.dtypes.prng_key)
    assert manifest["metadata"] == {"epoch": 2} and manifest["step"] == 7


def test_manifest_hashes_are_sha256_of_the_leaf_bytes(tmp_path):
    """Oracle: hashlib.sha256 of each leaf's bytes, computed here independently, equals the manifest's entry."""
    tree = _tree()
    path = save_checkpoint(tmp_path, 0, tree)
    manifest = json.loads(open(os.path.join(path, "manifest.json")).read().splitlines()[1])
    by_path = {leaf["path"]: leaf for leaf in manifest["leaves"]}
    W = tree["params"][0]["W"]
    assert by_path["['params'][0]['W']"]["sha256"] == hashlib.sha256(W.tobytes()).hexdigest()
    assert by_path["['params'][0]['W']"]["shape"] == [3, 2]
    assert by_path["['params'][0]['W']"]["dtype"] == "float32"
    assert by_path["['key']"]["prng_key_impl"] is not None


def test_tree_digest_worked_properties():
    """tree_digest: equal for equal trees, different after one flipped bit or a changed dtype."""
    a = {"x": np.arange(4, dtype=np.float32)}
    b = {"x": np.arange(4, dtype=np.float32)}
    c = {"x": np.arange(4, dtype=np.float32)}
    c["x"].view(np.uint32)[2] ^= 1
    assert tree_digest(a) == tree_digest(b) != tree_digest(c)
    assert tree_digest(a) != tree_digest({"x": np.arange(4, dtype=np.float64)})
    assert len(tree_digest(a)) == 64


def _damage_each_file(tmp_path, tree, damage):
    """Damage each file of a pristine checkpoint in turn; restore must raise CheckpointError or give the
    bitwise same tree (a file orbax does not read for these arrays), never different data."""
    pristine = save_checkpoint(tmp_path / "pristine", 1, tree)
    files = []
    for root, _, names in os.walk(pristine):
        files += [os.path.relpath(os.path.join(root, n), pristine) for n in names]
    detected = []
    for i, rel in enumerate(sorted(files)):
        copy = tmp_path / f"copy{i}" / "step_000000001"
        shutil.copytree(pristine, copy)
        damage(copy / rel)
        try:
            out, _ = restore_checkpoint(copy, tree)
        except CheckpointError as exc:
            assert "step_000000001" in str(exc)
            detected.append(rel)
            continue
        assert tree_digest(out) == tree_digest(tree), rel
    return files, detected


def _truncate(path):
    with open(path, "r+b") as fh:
        fh.truncate(os.path.getsize(path) // 2)


def _flip(path):
    raw = bytearray(open(path, "rb").read())
    raw[len(raw) // 2] ^= 0x10
    open(path, "wb").write(bytes(raw))


def test_truncated_file_is_detected_and_named(tmp_path):
    """Truncating any one file of a checkpoint: restore raises CheckpointError naming the checkpoint, or (for
    a file that holds none of these arrays) restores bitwise-equal data; never different data. The array
    files and the manifest are among the detected ones."""
    tree = {"W": np.arange(4096, dtype=np.float32).reshape(64, 64), "b": np.ones(64, np.float32)}
    files, detected = _damage_each_file(tmp_path, tree, _truncate)
    assert "manifest.json" in detected
    assert any(f.startswith("leaf_") for f in detected)


def test_bit_flip_is_detected_and_named(tmp_path):
    """Flipping one bit in the middle of any one file: CheckpointError naming the checkpoint (manifest hash or
    orbax's own checks), or bitwise-equal data; never different data. Array files are among the detected."""
    tree = {"W": np.arange(4096, dtype=np.float32).reshape(64, 64), "b": np.ones(64, np.float32)}
    files, detected = _damage_each_file(tmp_path, tree, _flip)
    assert any(f.startswith("leaf_") for f in detected)


def test_edited_manifest_is_detected(tmp_path):
    """A manifest edited by hand (one leaf hash changed) no longer matches its own SHA-256 line: corrupt."""
    tree = {"W": np.ones((4,), np.float32)}
    path = save_checkpoint(tmp_path, 1, tree)
    mpath = os.path.join(path, "manifest.json")
    digest, body = open(mpath).read().splitlines()
    manifest = json.loads(body)
    h = manifest["leaves"][0]["sha256"]
    manifest["leaves"][0]["sha256"] = ("0" if h[0] != "0" else "1") + h[1:]
    open(mpath, "w").write(digest + "\n" + json.dumps(manifest, sort_keys=True) + "\n")
    with pytest.raises(CheckpointError, match=r"manifest.json is corrupt \(its content does not match its own SHA-256"):
        restore_checkpoint(path, tree)


def test_missing_or_truncated_manifest(tmp_path):
    """No manifest = an interrupted write; a truncated manifest = corrupt; both named."""
    tree = {"W": np.ones((4,), np.float32)}
    p1 = save_checkpoint(tmp_path, 1, tree)
    p2 = save_checkpoint(tmp_path, 2, tree)
    os.remove(os.path.join(p1, "manifest.json"))
    with pytest.raises(CheckpointError, match=r"step_000000001 has no manifest.json: its write was interrupted"):
        restore_checkpoint(p1, tree)
    mpath = os.path.join(p2, "manifest.json")
    text = open(mpath).read()
    open(mpath, "w").write(text[: len(text) // 2])
    with pytest.raises(CheckpointError, match=r"step_000000002: manifest.json is corrupt"):
        restore_checkpoint(p2, tree)


def test_restore_latest_falls_back_past_a_corrupt_checkpoint(tmp_path, capsys):
    """The newest checkpoint is corrupt: restore_latest loads the previous good one and says so on stderr."""
    save_checkpoint(tmp_path, 1, {"W": np.full(4, 1.0, np.float32)})
    p2 = save_checkpoint(tmp_path, 2, {"W": np.full(4, 2.0, np.float32)})
    os.remove(os.path.join(p2, "manifest.json"))  # an interrupted write
    tree, meta, path = restore_latest(tmp_path, {"W": np.zeros(4, np.float32)})
    np.testing.assert_array_equal(tree["W"], np.full(4, 1.0, np.float32))
    assert path.endswith("step_000000001")
    err = capsys.readouterr().err
    assert "skipping checkpoint" in err and "step_000000002" in err and "falling back" in err


def test_restore_latest_none_without_a_good_checkpoint_and_refuses_another_model(tmp_path):
    """An empty folder gives None; a tree of other shapes raises (it is not skipped as corrupt)."""
    assert restore_latest(tmp_path, {"W": np.zeros(4, np.float32)}) is None
    save_checkpoint(tmp_path, 3, {"W": np.full(4, 3.0, np.float32)})
    tree, meta, path = restore_latest(tmp_path, {"W": np.zeros(4, np.float32)}, verbose=False)
    assert path.endswith("step_000000003") and float(tree["W"][0]) == 3.0
    with pytest.raises(CheckpointError, match="different model"):
        restore_latest(tmp_path, {"W": np.zeros(5, np.float32)}, verbose=False)


def test_keep_last_n_and_never_the_newest_good(tmp_path):
    """keep=2 keeps the newest two; an interrupted newer folder (no manifest) is never counted as good."""
    for s in range(5):
        save_checkpoint(tmp_path, s, {"W": np.full(2, s, np.float32)}, keep=2)
    assert [s for s, _ in list_checkpoints(tmp_path)] == [3, 4]
    save_checkpoint(tmp_path, 9, {"W": np.zeros(2, np.float32)}, keep=1)
    assert [s for s, _ in list_checkpoints(tmp_path)] == [9]
    # a newer but incomplete folder cannot push out the good one
    os.makedirs(os.path.join(tmp_path, "step_000000010"))
    save_checkpoint(tmp_path, 8, {"W": np.zeros(2, np.float32)}, keep=1)
    steps = [s for s, _ in list_checkpoints(tmp_path)]
    assert 8 in steps


def test_checkpoint_of_a_different_model_is_refused_naming_the_leaf(tmp_path):
    """A checkpoint whose leaf shapes or tree differ from the model is refused, naming the leaf."""
    path = save_checkpoint(tmp_path, 1, {"W": np.zeros((3, 2), np.float32), "b": np.zeros(3, np.float32)})
    with pytest.raises(CheckpointError, match=r"leaf \['W'\] has shape \(3, 2\) .* expects shape \(4, 2\)"):
        restore_checkpoint(path, {"W": np.zeros((4, 2), np.float32), "b": np.zeros(3, np.float32)})
    with pytest.raises(CheckpointError, match=r"dtype float32.*dtype float64"):
        restore_checkpoint(path, {"W": np.zeros((3, 2), np.float64), "b": np.zeros(3, np.float32)})
    with pytest.raises(CheckpointError, match=r"structure differs: leaves only in the checkpoint: \[\"\['b'\]\"\]"):
        restore_checkpoint(path, {"W": np.zeros((3, 2), np.float32)})


def test_fit_refuses_a_checkpoint_of_another_model(tmp_path):
    """fit with a checkpoint_dir written by a different architecture refuses before training, naming the leaf."""
    X, y = np.zeros((8, 2)), np.zeros(8)
    loss = mean_loss(lambda th, ex: (jnp.dot(th["w"], ex[0]) - ex[1]) ** 2)
    kw = dict(key=jax.random.key(0), epochs=1, batch_size=4, checkpoint_dir=tmp_path, progress=False)
    fit(loss, optax.sgd(0.1), {"w": jnp.zeros(2)}, (X, y), **kw)
    with pytest.raises(CheckpointError, match=r"different model: leaf \['state'\]\.(opt_state|params)"):
        fit(mean_loss(lambda th, ex: (th["w"][0] - ex[1]) ** 2), optax.sgd(0.1), {"w": jnp.zeros(3)}, (X, y), **kw)


@pytest.mark.parametrize(
    ("args", "kw", "match"),
    [
        ((-1, {"W": np.zeros(1)}), {}, r"train.save_checkpoint: argument `step` expected an integer >= 0, got -1"),
        ((1.5, {"W": np.zeros(1)}), {}, r"argument `step` expected an integer >= 0, got 1.5"),
        ((1, {"W": np.zeros(1)}), {"keep": 0}, r"argument `keep` expected an integer >= 1, got 0"),
    ],
)
def test_save_checkpoint_bad_inputs(tmp_path, args, kw, match):
    """save_checkpoint refuses a negative or fractional step and keep < 1."""
    with pytest.raises(ValueError, match=match):
        save_checkpoint(tmp_path, *args, **kw)


def test_restore_missing_folder_is_named(tmp_path):
    """Restoring from a folder that is not a checkpoint says the manifest is missing."""
    with pytest.raises(CheckpointError, match=r"has no manifest.json"):
        restore_checkpoint(tmp_path / "nope", {"W": np.zeros(1)})
    assert list_checkpoints(tmp_path / "nope") == []
