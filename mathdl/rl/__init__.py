r"""Reinforcement learning ([MEDL] Ch. 8, Sec. 8.4): finite MDPs and dynamic programming, tabular TD and
Q-learning, and the deep objectives and agents (DQN, REINFORCE, actor-critic).

Environments live in :mod:`mathdl.rl.envs` as pure ``reset(key) -> (state, obs)`` and
``step(state, action) -> (state, obs, reward, done)`` functions, so that many of them run under
``jax.vmap`` and a whole rollout under ``lax.scan``. Agents are ``step(state, batch, key)`` functions
run by :func:`mathdl.train.loop`; their networks come from :mod:`mathdl.models`.
"""

from mathdl._api import reexport

__all__ = reexport(__name__, "_mdp", "_tabular", "_deep", "_agents")
