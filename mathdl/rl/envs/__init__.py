r"""Environments written in JAX ([MEDL] Ch. 8, Sec. 8.4): the finite MDPs of the chapter, CartPole, Acrobot
and MountainCar.

Each environment is a pair of pure functions, ``reset(key) -> (state, obs)`` and
``step(state, action) -> (state, obs, reward, done)`` on ONE environment; ``jax.vmap`` runs many.
They come in two records, which differ in who starts the next episode:

* :class:`FiniteEnv` (``gridworld``, ``frozen_lake``, ``chain_mdp``, ``two_state_mdp``, any
  :func:`finite_env`) carries its key in the state and resets itself inside ``step`` when an episode
  ends, so a ``lax.scan`` of ``step`` is an endless stream of episodes, as the tabular learners of
  :mod:`mathdl.rl` need; ``state.last`` keeps the state reached before the reset.
* :class:`Environment` (``cartpole``, ``mountain_car``, ``acrobot``) returns the state reached, as
  gymnasium's ``step`` does (so the two can be compared step by step); the caller resets when
  ``done``, which the agents of :mod:`mathdl.rl` (DQN, REINFORCE, A2C) do for both records.
"""

from mathdl._api import reexport

__all__ = reexport(__name__, "_finite", "_cartpole", "_classic")
