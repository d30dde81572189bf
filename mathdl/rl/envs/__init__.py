r"""Environments written in JAX ([MEDL] Ch. 8, Sec. 8.4): the finite MDPs of the chapter, CartPole, Acrobot
and MountainCar.

Each environment is a pair of pure functions, ``reset(key) -> (state, obs)`` and
``step(state, action) -> (state, obs, reward, done)`` on ONE environment; ``jax.vmap`` runs many.
"""

from mathdl._api import reexport

__all__ = reexport(__name__, "_finite", "_cartpole", "_classic")
