r"""Two training steps that are not supervised fit steps, run by ``train.loop`` in the tests.

* :func:`gan_step`: a 1-D GAN ([MEDL] Ch. 8): generator $G(z) = a z + b$, discriminator
  $D(x) = \sigma(v_1 x + v_2 x^2 + c)$, two Adam optimizers, ``K_DISC = 2`` discriminator
  updates per generator update; real samples come from ``data`` (a batch per step).
* :func:`replay_step`: a DQN-style step with no data set: the state holds a 1-D random-walk
  environment, a fixed-size replay buffer (arrays and an insert index), an online Q-network and a
  target network refreshed every ``TARGET_EVERY`` steps; each step acts, stores the transition,
  samples a minibatch from the filled part of the buffer and takes one TD step
  $\big(Q(s, a) - r - \gamma \max_{a'} Q_{\text{target}}(s', a')\big)^2$.

Every array is float32 or int32 explicitly, so the steps behave the same with and without x64.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax

from mathdl import optim

K_DISC = 2
OPT_G, OPT_D = optim.adam(0.02), optim.adam(0.05)  # optax transformations (mathdl.optim: strict-promotion safe)
REAL_MEAN, REAL_STD = 3.0, 0.5

CAPACITY, MINIBATCH, TARGET_EVERY, GAMMA, EPSILON = 32, 8, 10, 0.9, 0.5
OPT_Q = optim.adam(0.01)

f32 = np.float32


def gan_data(n: int = 256, seed: int = 0) -> np.ndarray:
    """Real samples x ~ N(3, 0.5^2), shape (n,), float32."""
    return (REAL_MEAN + REAL_STD * np.random.default_rng(seed).normal(size=n)).astype(f32)


def gan_init() -> dict:
    G = {"a": f32(1.0), "b": f32(0.0)}
    D = {"v": np.zeros(2, f32), "c": f32(0.0)}
    count = {"d": np.int32(0), "g": np.int32(0)}
    return {"G": G, "D": D, "opt_G": OPT_G.init(G), "opt_D": OPT_D.init(D), "count": count}


def _d_logit(D, x):
    return D["v"][0] * x + D["v"][1] * x * x + D["c"]


def _d_loss(D, x_real, x_fake):
    # -log D(x_real) - log(1 - D(x_fake)), with log(1 - sigmoid(l)) = log_sigmoid(-l)
    return -jnp.mean(jax.nn.log_sigmoid(_d_logit(D, x_real))) - jnp.mean(jax.nn.log_sigmoid(-_d_logit(D, x_fake)))


def _g_loss(G, D, z):
    return -jnp.mean(jax.nn.log_sigmoid(_d_logit(D, G["a"] * z + G["b"])))  # non-saturating generator loss


def gan_step(state, batch, key):
    """K_DISC discriminator steps on this real batch and fresh noise, then one generator step."""
    keys = jax.random.split(key, K_DISC + 1)
    G, D, opt_G, opt_D = state["G"], state["D"], state["opt_G"], state["opt_D"]
    B = batch.shape[0]
    for j in range(K_DISC):
        z = jax.random.normal(keys[j], (B,), jnp.float32)
        d_loss, g = jax.value_and_grad(_d_loss)(D, batch, G["a"] * z + G["b"])
        u, opt_D = OPT_D.update(g, opt_D, D)
        D = optax.apply_updates(D, u)
    z = jax.random.normal(keys[K_DISC], (B,), jnp.float32)
    g_loss, g = jax.value_and_grad(_g_loss)(G, D, z)
    u, opt_G = OPT_G.update(g, opt_G, G)
    G = optax.apply_updates(G, u)
    count = {"d": state["count"]["d"] + K_DISC, "g": state["count"]["g"] + 1}
    new = {"G": G, "D": D, "opt_G": opt_G, "opt_D": opt_D, "count": count}
    return new, {"d_loss": d_loss, "g_loss": g_loss}


def replay_init() -> dict:
    Q = {"W": np.zeros((2, 3), f32), "b": np.zeros(2, f32)}
    buffer = {"s": np.zeros(CAPACITY, f32), "a": np.zeros(CAPACITY, np.int32), "r": np.zeros(CAPACITY, f32)}
    buffer["s2"] = np.zeros(CAPACITY, f32)
    return {
        "Q": Q,
        "target": {"W": np.zeros((2, 3), f32), "b": np.zeros(2, f32)},
        "opt": OPT_Q.init(Q),
        "buffer": buffer,
        "index": np.int32(0),  # transitions inserted so far; the next goes to index mod CAPACITY
        "env": f32(0.5),
        "t": np.int32(0),
    }


def q_values(Q, s):
    """Q(s, .) for both actions: W [1, s, s^2] + b."""
    return Q["W"] @ jnp.stack([jnp.ones_like(s), s, s * s]) + Q["b"]


def _td_loss(Q, target, s, a, r, s2):
    y = r + GAMMA * jnp.max(jax.vmap(q_values, in_axes=(None, 0))(target, s2), axis=-1)
    q = jnp.take_along_axis(jax.vmap(q_values, in_axes=(None, 0))(Q, s), a[:, None], axis=1)[:, 0]
    return jnp.mean((q - jax.lax.stop_gradient(y)) ** 2)


def replay_step(state, batch, key):
    """Act (epsilon-greedy), store the transition, refresh the target every TARGET_EVERY steps, one TD step."""
    del batch  # no data set: the step makes its own
    k_explore, k_action, k_noise, k_sample = jax.random.split(key, 4)
    s = state["env"]
    greedy = jnp.argmax(q_values(state["Q"], s)).astype(jnp.int32)
    random_action = jax.random.randint(k_action, (), 0, 2, jnp.int32)
    a = jnp.where(jax.random.uniform(k_explore, (), jnp.float32) < EPSILON, random_action, greedy)
    noise = 0.01 * jax.random.normal(k_noise, (), jnp.float32)
    s2 = jnp.clip(s + jnp.where(a == 1, f32(0.1), f32(-0.1)) + noise, -1.0, 1.0)
    r = -(s2 * s2)
    slot = state["index"] % CAPACITY
    buf = state["buffer"]
    buf = {
        "s": buf["s"].at[slot].set(s),
        "a": buf["a"].at[slot].set(a),
        "r": buf["r"].at[slot].set(r),
        "s2": buf["s2"].at[slot].set(s2),
    }
    index = state["index"] + 1
    filled = jnp.minimum(index, CAPACITY)
    rows = jax.random.randint(k_sample, (MINIBATCH,), 0, filled, jnp.int32)
    target = jax.tree.map(lambda q, tq: jnp.where(state["t"] % TARGET_EVERY == 0, q, tq), state["Q"], state["target"])
    loss, g = jax.value_and_grad(_td_loss)(
        state["Q"], target, buf["s"][rows], buf["a"][rows], buf["r"][rows], buf["s2"][rows]
    )
    u, opt = OPT_Q.update(g, state["opt"], state["Q"])
    new = {
        "Q": optax.apply_updates(state["Q"], u),
        "target": target,
        "opt": opt,
        "buffer": buf,
        "index": index,
        "env": s2,
        "t": state["t"] + 1,
    }
    return new, {"td_loss": loss, "reward": r}
