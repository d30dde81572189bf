"""Tests of the deep RL objectives: DQN's TD loss, the replay buffer, returns, GAE, REINFORCE, actor-critic."""

import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from mathdl import rl
from tests._tolerances import tol

T64 = tol(jnp.float64)


def _rlax():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return pytest.importorskip("rlax")


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(0)
    q, q_next, q_online = (jnp.asarray(rng.normal(size=(6, 3))) for _ in range(3))
    action = jnp.asarray(rng.integers(0, 3, 6), jnp.int32)
    reward = jnp.asarray(rng.normal(size=6))
    discount = jnp.asarray([0.9, 0.0, 0.9, 0.9, 0.0, 0.9])
    return q, action, reward, discount, q_next, q_online


# ------------------------------------------------------------------ worked values


def test_worked_value_dqn_loss_by_hand(transform):
    """Worked value: Q(s) = (1, 2), a = 0, r = 1, gamma = 0.5, Q_target(s') = (3, 0): target 2.5, error 1.5,
    Huber_1(1.5) = 1.5 - 0.5 = 1; half squared error 1.125; double DQN with Q(s') = (0, 1) picks a' = 1: error 0."""
    args = (jnp.array([1.0, 2.0]), jnp.int32(0), jnp.float64(1.0), jnp.float64(0.5), jnp.array([3.0, 0.0]))
    f = transform(rl.dqn_loss)
    np.testing.assert_allclose(f(*args), 1.0, **T64)
    np.testing.assert_allclose(rl.dqn_loss(*args, delta=float("inf")), 1.125, **T64)
    np.testing.assert_allclose(rl.td_error(*args), 1.5, **T64)
    np.testing.assert_allclose(rl.dqn_loss(*args, q_next_online=jnp.array([0.0, 1.0])), 0.0, **T64)


def test_worked_value_returns_and_gae_by_hand():
    """Worked value: r = (1, 2, 3), gamma = 0.5, G_3 = 4: G = (3.25, 4.5, 5); GAE with V = 0, lambda = 1 is the
    return; n = 1 and lambda = 0 are r + gamma V(s')."""
    r, d = jnp.array([1.0, 2.0, 3.0]), jnp.full(3, 0.5)
    np.testing.assert_allclose(rl.discounted_returns(r, d, jnp.float64(4.0)), [3.25, 4.5, 5.0], **T64)
    v_next = jnp.array([2.0, -2.0, 4.0])
    one_step = r + d * v_next
    np.testing.assert_allclose(rl.n_step_returns(r, d, v_next, 1), one_step, **T64)
    np.testing.assert_allclose(rl.lambda_returns(r, d, v_next, 0.0), one_step, **T64)
    np.testing.assert_allclose(rl.gae(r, d, jnp.array([0.0, 0.0, 0.0, 4.0]), 1.0), [3.25, 4.5, 5.0], **T64)
    # n = 2 at t = 0: r0 + g r1 + g^2 V(s2) = 1 + 1 + 0.25 (-2) = 1.5
    np.testing.assert_allclose(rl.n_step_returns(r, d, v_next, 2)[0], 1.5, **T64)


def test_worked_value_policy_gradient_losses_by_hand():
    """Worked value: uniform logits over two actions, G = 2, b = 0.5: REINFORCE -(2 - 0.5) log(1/2) = 1.5 ln 2;
    actor-critic with A = 2, V = 1, y = 3: policy 2 ln 2, value (3 - 1)^2 / 2 = 2, entropy ln 2."""
    logits = jnp.zeros(2)
    np.testing.assert_allclose(
        rl.reinforce_loss(logits, jnp.int32(1), jnp.float64(2.0), jnp.float64(0.5)), 1.5 * math.log(2), **T64
    )
    out = rl.actor_critic_loss(logits, jnp.float64(1.0), jnp.int32(0), jnp.float64(2.0), jnp.float64(3.0))
    ln2 = math.log(2)
    np.testing.assert_allclose([out.policy, out.value, out.entropy], [2 * ln2, 2.0, ln2], **T64)
    np.testing.assert_allclose(out.total, 2 * ln2 + 0.5 * 2.0 - 0.01 * ln2, **T64)


def test_worked_value_replay_buffer_is_a_ring():
    """Worked value: capacity 4, two adds of 3: rows hold items 4, 5, 2, 3 (5 and 4 overwrote 0 and 1);
    index 6, size 4; samples come from those rows only."""
    buf = rl.replay_init({"x": jnp.zeros(2), "a": jnp.int32(0)}, 4)
    assert int(buf.size) == 0 and buf.items["x"].shape == (4, 2)
    for start in (0, 3):
        a = jnp.arange(start, start + 3, dtype=jnp.int32)
        buf = rl.replay_add(buf, {"x": jnp.stack([a, a], axis=1).astype(jnp.float64), "a": a})
    np.testing.assert_array_equal(buf.items["a"], [4, 5, 2, 3])
    assert (int(buf.index), int(buf.size)) == (6, 4)
    s = rl.replay_sample(jax.random.key(0), buf, 50)
    assert set(np.asarray(s["a"]).tolist()) <= {2, 3, 4, 5}
    np.testing.assert_array_equal(s["x"][:, 0], s["a"].astype(jnp.float64))


# ------------------------------------------------------------------ oracles (rlax)


def test_oracle_td_errors_and_dqn_loss_equal_rlax(batch):
    """Oracle: rlax.q_learning, rlax.double_q_learning and rlax.huber_loss, vmapped over the batch."""
    rlax = _rlax()
    q, a, r, d, qn, qo = batch
    want = jax.vmap(rlax.q_learning)(q, a, r, d, qn)
    np.testing.assert_allclose(rl.td_error(q, a, r, d, qn), want, **T64)
    np.testing.assert_allclose(rl.dqn_loss(q, a, r, d, qn), rlax.huber_loss(want, 1.0), **T64)
    want2 = jax.vmap(rlax.double_q_learning)(q, a, r, d, qn, qo)
    np.testing.assert_allclose(rl.dqn_loss(q, a, r, d, qn, q_next_online=qo, delta=0.5),
                               rlax.huber_loss(want2, 0.5), **T64)  # fmt: skip


def test_oracle_returns_and_gae_equal_rlax():
    """Oracle: rlax.discounted_returns, n_step_bootstrapped_returns, lambda_returns and
    truncated_generalized_advantage_estimation on a trajectory with an episode end in the middle."""
    rlax = _rlax()
    rng = np.random.default_rng(1)
    r, v = jnp.asarray(rng.normal(size=7)), jnp.asarray(rng.normal(size=8))
    d = jnp.asarray([0.9, 0.9, 0.0, 0.9, 0.9, 0.9, 0.9])
    np.testing.assert_allclose(rl.discounted_returns(r, d, v[-1]), rlax.discounted_returns(r, d, v[-1]), **T64)
    for n in (3, 10):
        np.testing.assert_allclose(rl.n_step_returns(r, d, v[1:], n), rlax.n_step_bootstrapped_returns(r, d, v[1:], n),
                                   **T64)  # fmt: skip
    for lam in (0.0, 0.7):
        np.testing.assert_allclose(rl.lambda_returns(r, d, v[1:], lam), rlax.lambda_returns(r, d, v[1:], lam), **T64)
        np.testing.assert_allclose(rl.gae(r, d, v, lam), rlax.truncated_generalized_advantage_estimation(r, d, lam, v),
                                   **T64)  # fmt: skip


def test_oracle_reinforce_mean_equals_rlax_policy_gradient_loss(batch):
    """Oracle: the mean of reinforce_loss is rlax.policy_gradient_loss (unit weights), and so are their
    gradients with respect to the logits; the entropy term equals rlax.entropy_loss's negative."""
    rlax = _rlax()
    q, a, r, *_ = batch
    ones = jnp.ones(6)
    mine = jax.value_and_grad(lambda z: jnp.mean(rl.reinforce_loss(z, a, r)))(q)
    with warnings.catch_warnings():  # rlax's softmax announces its own deprecation
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        want = jax.value_and_grad(lambda z: rlax.policy_gradient_loss(z, a, r, ones))(q)
        entropy = rlax.entropy_loss(q, ones)
    np.testing.assert_allclose(mine[0], want[0], **T64)
    np.testing.assert_allclose(mine[1], want[1], **T64)
    out = rl.actor_critic_loss(q, r, a, r, r)
    np.testing.assert_allclose(-jnp.mean(out.entropy), entropy, **T64)


# ------------------------------------------------------------------ transforms


def test_transforms_grads_order_2_on_tiny_shapes(batch):
    """Transforms: check_grads (order 2, float64, under jit) of the double-DQN loss in Q and of the actor-critic
    loss in the logits and the value (its policy term is REINFORCE's loss); the returns are linear maps, checked
    against rlax above."""
    q, a, r, d, qn, qo = (v[:2] for v in batch)

    def losses(z, v):
        dqn = rl.dqn_loss(z, a, r, d, qn, q_next_online=qo, delta=5.0)
        return dqn + rl.actor_critic_loss(z, v, a, r, qn[:, 1]).total

    check_grads(jax.jit(losses), (q, r), order=2, modes=["rev"])


def test_transforms_targets_carry_no_gradient(batch):
    """Transforms: the DQN target, the advantages of GAE and the REINFORCE return are constants: their
    gradients are zero, and the DQN gradient in Q(s, a) is -clip(delta, -1, 1) (Huber's derivative)."""
    q, a, r, d, qn, _ = batch
    g_next = jax.grad(lambda z: jnp.sum(rl.dqn_loss(q, a, r, d, z)))(qn)
    np.testing.assert_array_equal(g_next, jnp.zeros_like(qn))
    g = jax.grad(lambda z: jnp.sum(rl.dqn_loss(z, a, r, d, qn)))(q)
    err = rl.td_error(q, a, r, d, qn)
    np.testing.assert_allclose(jnp.take_along_axis(g, a[:, None], axis=1)[:, 0], -jnp.clip(err, -1, 1), **T64)
    v = jnp.concatenate([r, r[:1]])
    np.testing.assert_array_equal(jax.grad(lambda x: jnp.sum(rl.gae(r, d, x, 0.9)))(v), jnp.zeros(7))
    np.testing.assert_array_equal(jax.grad(lambda x: jnp.sum(rl.reinforce_loss(q, a, x)))(r), jnp.zeros(6))


def test_transforms_jit_and_vmap_over_trajectories(batch):
    """Transforms: jitted GAE over 4 trajectories under vmap equals a loop of eager calls; dqn_loss under jit
    equals eager; replay_add and replay_sample run under jit."""
    rng = np.random.default_rng(2)
    R, V = jnp.asarray(rng.normal(size=(4, 5))), jnp.asarray(rng.normal(size=(4, 6)))
    D = jnp.full((4, 5), 0.95)
    got = jax.jit(jax.vmap(lambda x, y, z: rl.gae(x, y, z, 0.9)))(R, D, V)
    for i in range(4):
        np.testing.assert_allclose(got[i], rl.gae(R[i], D[i], V[i], 0.9), **T64)
    np.testing.assert_allclose(jax.jit(rl.dqn_loss)(*batch[:5]), rl.dqn_loss(*batch[:5]), **T64)
    buf = rl.replay_init({"x": jnp.zeros(())}, 8)
    buf = jax.jit(rl.replay_add)(buf, {"x": jnp.arange(3.0)})
    s = jax.jit(rl.replay_sample, static_argnums=2)(jax.random.key(1), buf, 5)
    assert s["x"].shape == (5,) and bool(jnp.all(s["x"] < 3))


# ------------------------------------------------------------------ properties


def test_property_gae_telescopes_and_n_step_limits():
    """Property: with lambda = 1 and no terminal, A_t + V(s_t) is the return bootstrapped by V(s_T); with
    lambda = 0, A_t is the TD error; n >= T gives the same return; lambda = 1 lambda-return too."""
    rng = np.random.default_rng(3)
    for _ in range(2):
        r, v = jnp.asarray(rng.normal(size=6)), jnp.asarray(rng.normal(size=7))
        d = jnp.asarray(rng.uniform(0.5, 1.0, size=6))
        G = rl.discounted_returns(r, d, v[-1])
        np.testing.assert_allclose(rl.gae(r, d, v, 1.0) + v[:-1], G, **tol(jnp.float64, composite=True))
        np.testing.assert_allclose(rl.gae(r, d, v, 0.0), r + d * v[1:] - v[:-1], **T64)
        np.testing.assert_allclose(rl.n_step_returns(r, d, v[1:], 6), G, **tol(jnp.float64, composite=True))
        np.testing.assert_allclose(rl.lambda_returns(r, d, v[1:], 1.0), G, **tol(jnp.float64, composite=True))


def test_property_replay_keeps_the_last_capacity_items():
    """Property: after adding 0..n-1 in chunks, the buffer holds exactly the last `capacity` items."""
    rng = np.random.default_rng(4)
    for capacity in (3, 5):
        buf = rl.replay_init({"i": jnp.int32(0)}, capacity)
        n = 0
        for _ in range(4):
            k = int(rng.integers(1, capacity + 1))
            buf = rl.replay_add(buf, {"i": jnp.arange(n, n + k, dtype=jnp.int32)})
            n += k
        kept = sorted(np.asarray(buf.items["i"]).tolist())
        assert kept == list(range(max(0, n - capacity), n))[-capacity:] and int(buf.size) == min(n, capacity)


# ------------------------------------------------------------------ bad input


def test_bad_input_messages_eager_and_nan_under_jit(batch):
    """Bad input: a float action, mismatched shapes, values one too short for GAE, lambda outside [0, 1], an
    action out of range (ValueError eagerly, NaN under jit), an empty buffer, a non-positive capacity."""
    q, a, r, d, qn, _ = batch
    with pytest.raises(TypeError, match="rl.dqn_loss: argument `action` expected an integer array"):
        rl.dqn_loss(q, a.astype(jnp.float64), r, d, qn)
    with pytest.raises(ValueError, match="rl.dqn_loss: argument `q_next`"):
        rl.dqn_loss(q, a, r, d, qn[:, :2])
    with pytest.raises(ValueError, match=r"rl.gae: argument `values` expected shape \(7,\)"):
        rl.gae(r, d, r, 0.9)
    with pytest.raises(ValueError, match="rl.gae: argument `lam`"):
        rl.gae(r, d, jnp.concatenate([r, r[:1]]), 1.5)
    bad = a.at[0].set(3)
    with pytest.raises(ValueError, match=r"rl.dqn_loss: argument `action` expected actions in \[0, 3\)"):
        rl.dqn_loss(q, bad, r, d, qn)
    assert bool(jnp.all(jnp.isnan(jax.jit(rl.dqn_loss)(q, bad, r, d, qn))))
    with pytest.raises(ValueError, match="rl.reinforce_loss: argument `action`"):
        rl.reinforce_loss(q, bad, r)
    with pytest.raises(ValueError, match="rl.replay_sample: argument `buffer`"):
        rl.replay_sample(jax.random.key(0), rl.replay_init({"x": jnp.zeros(())}, 2), 3)
    with pytest.raises(ValueError, match="rl.replay_init: argument `capacity` expected a positive int"):
        rl.replay_init({"x": jnp.zeros(())}, 0)
    with pytest.raises(ValueError, match="rl.dqn_loss: argument `delta`"):
        rl.dqn_loss(q, a, r, d, qn, delta=0.0)
