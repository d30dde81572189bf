r"""Finite MDPs as JAX environments: a generic tabular environment, a slippery gridworld with walls, a
FrozenLake-like lake, the chain MDP and a two-state worked example.

Each environment is a :class:`FiniteEnv`: it holds the arrays of the MDP and has two pure methods on ONE
environment, ``reset(key) -> (state, obs)`` and ``step(state, action) -> (state, obs, reward, done)``.

* **Randomness** enters through a typed key carried in the state (:class:`EnvState`): ``step`` splits it,
  draws the next state from ``P[s, a, :]`` with one half and keeps the other for later. No key is passed
  to ``step``; two copies of one state take the same transition.
* **Auto-reset**: when a transition ends an episode (it reaches a terminal state, or the episode has
  taken ``max_steps`` steps), the returned state and observation are those of a fresh episode (a start
  state drawn from ``initial``) and ``done`` is true; ``reward`` is the reward of the transition that
  ended the episode. So ``lax.scan`` of ``step`` is an endless stream of episodes. The state reached
  before the reset is kept in ``state.last`` and whether it was terminal in ``state.last_terminal``, so a
  learner bootstraps from ``state.last`` after a time-limit truncation and not after a termination.
* ``jax.vmap(env.reset)(keys)`` and ``jax.vmap(env.step)(states, actions)`` run a batch.

A :class:`FiniteEnv` is hashable by identity, so it may be a static argument of ``jax.jit``; its arrays
are constants of the traced program.
"""

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from mathdl import checks
from mathdl.rl._mdp import FiniteMDP, _validate

__all__ = [
    "EnvState",
    "FiniteEnv",
    "chain_mdp",
    "finite_env",
    "frozen_lake",
    "gridworld",
    "two_state_mdp",
    "LEFT",
    "DOWN",
    "RIGHT",
    "UP",
    "GRIDWORLD_4X3",
    "LAKE_4X4",
    "LAKE_8X8",
]

#: Action "move left" of the grid environments (gymnasium's FrozenLake numbering: 0 left, 1 down, 2 right, 3 up).
LEFT = 0
#: Action "move down" of the grid environments.
DOWN = 1
#: Action "move right" of the grid environments.
RIGHT = 2
#: Action "move up" of the grid environments.
UP = 3
_MOVES = {LEFT: (0, -1), DOWN: (1, 0), RIGHT: (0, 1), UP: (-1, 0)}

#: The 4x3 world of Russell & Norvig (Sec. 17.1), top row first: ``S`` start, ``G`` goal (+1),
#: ``X`` pit (-1), ``#`` wall.
GRIDWORLD_4X3 = ("...G", ".#.X", "S...")
#: Gymnasium's 4x4 FrozenLake map: ``S`` start, ``F`` frozen, ``H`` hole, ``G`` goal.
LAKE_4X4 = ("SFFF", "FHFH", "FFFH", "HFFG")
#: Gymnasium's 8x8 FrozenLake map (same letters as :data:`LAKE_4X4`).
LAKE_8X8 = ("SFFFFFFF", "FFFFFFFF", "FFFHFFFF", "FFFFFHFF", "FFFHFFFF", "FHHFFFHF", "FHFFHFHF", "FFFHFFFG")


class EnvState(NamedTuple):
    """The state of one finite environment.

    Attributes:
      s: the current state index, int32 scalar (already reset if the last step ended an episode).
      key: the typed PRNG key that the next ``step`` splits.
      t: steps taken in the current episode, int32 scalar.
      last: the state the last transition reached, before any auto-reset (equal to ``s`` after ``reset``).
      last_terminal: whether ``last`` is terminal (a learner does not bootstrap from it), bool scalar.
    """

    s: jax.Array
    key: jax.Array
    t: jax.Array
    last: jax.Array
    last_terminal: jax.Array


@dataclasses.dataclass(frozen=True, eq=False)
class FiniteEnv:
    r"""A finite MDP as a JAX environment (see the module docstring for ``reset``/``step``).

    Attributes:
      P: transition probabilities, shape ``(S, A, S)``.
      R: reward of each transition ``R[s, a, s']``, shape ``(S, A, S)``; the MDP's expected reward is
        :math:`r(s, a) = \sum_{s'} P(s'|s, a) R(s, a, s')`.
      gamma: the discount factor used by :attr:`mdp`.
      initial: distribution of the start state, shape ``(S,)``.
      terminal: terminal states, bool ``(S,)``; they are absorbing with zero reward.
      max_steps: episode length limit (``None``: no limit).
      onehot: observations are one-hot float vectors ``(S,)`` instead of int32 indices.
      shape: ``(rows, cols)`` of a grid, or ``None``.
      coords: ``(row, col)`` of each state in the grid, int ``(S, 2)``, or ``None``.
      layout: the grid's rows as strings, or ``None``.
      name: a short name.

    References:
      [MEDL] Ch. 8, Sec. 8.4; Sutton & Barto (2018), Ch. 3.
    """

    P: jax.Array
    R: jax.Array
    gamma: float
    initial: jax.Array
    terminal: jax.Array
    max_steps: int | None = None
    onehot: bool = False
    shape: tuple[int, int] | None = None
    coords: np.ndarray | None = None
    layout: tuple[str, ...] | None = None
    name: str = "finite"

    @property
    def num_states(self) -> int:
        """The number of states ``S``."""
        return int(self.P.shape[0])

    @property
    def num_actions(self) -> int:
        """The number of actions ``A``."""
        return int(self.P.shape[1])

    @property
    def obs_shape(self) -> tuple[int, ...]:
        """``(S,)`` for one-hot observations, ``()`` for indices."""
        return (self.num_states,) if self.onehot else ()

    @property
    def mdp(self) -> FiniteMDP:
        """The MDP ``(P, r, gamma)`` with the expected rewards ``r = sum_{s'} P R``."""
        return FiniteMDP(self.P, jnp.sum(self.P * self.R, axis=-1), self.gamma)

    def observe(self, s: jax.Array) -> jax.Array:
        """The observation of state index ``s``: ``s`` itself or its one-hot vector."""
        if self.onehot:
            return jax.nn.one_hot(s, self.num_states, dtype=self.P.dtype)
        return s

    def _start(self, key: jax.Array) -> jax.Array:
        return jax.random.categorical(key, jnp.log(self.initial)).astype(jnp.int32)

    def reset(self, key: jax.Array) -> tuple[EnvState, jax.Array]:
        """A fresh episode: the start state is drawn from ``initial``.

        Args:
          key: a typed PRNG key; the state keeps a key split from it.

        Returns:
          ``(state, obs)``: an :class:`EnvState` and the observation of its state.
        """
        k_start, k_next = jax.random.split(key)
        s = self._start(k_start)
        state = EnvState(s, k_next, jnp.zeros((), jnp.int32), s, jnp.asarray(False))
        return state, self.observe(s)

    def step(self, state: EnvState, action) -> tuple[EnvState, jax.Array, jax.Array, jax.Array]:
        """One transition ``s' ~ P[s, a, :]`` with reward ``R[s, a, s']``, resetting when the episode ends.

        Args:
          state: an :class:`EnvState`.
          action: an int scalar in ``[0, A)``.

        Returns:
          ``(state, obs, reward, done)``: the next state (a fresh episode's if ``done``), its observation,
          the transition's reward (scalar, the dtype of ``P``) and whether the transition ended the episode.
        """
        k_move, k_start, k_next = jax.random.split(state.key, 3)
        a = jnp.asarray(action, jnp.int32)
        s_next = jax.random.categorical(k_move, jnp.log(self.P[state.s, a])).astype(jnp.int32)
        reward = self.R[state.s, a, s_next]
        t = state.t + 1
        terminated = self.terminal[s_next]
        done = terminated
        if self.max_steps is not None:
            done = done | (t >= self.max_steps)
        s_new = jnp.where(done, self._start(k_start), s_next)
        t_new = jnp.where(done, jnp.zeros((), jnp.int32), t)
        new = EnvState(s_new, k_next, t_new, s_next, terminated)
        return new, self.observe(s_new), reward, done


def finite_env(
    P,
    R,
    *,
    gamma: float = 0.99,
    initial=None,
    terminal=None,
    max_steps: int | None = None,
    onehot: bool = False,
    name: str = "finite",
) -> FiniteEnv:
    r"""A :class:`FiniteEnv` from the arrays of a finite MDP.

    Each step draws :math:`s' \sim P(\cdot | s, a)` and pays ``R[s, a, s']`` (or ``r[s, a]`` when ``R``
    has shape ``(S, A)``), :math:`\mathbb E[R_{t+1} | s, a] = \sum_{s'} P(s'|s,a) R(s,a,s')`.

    Args:
      P: transition probabilities, shape ``(S, A, S)``; each row ``P[s, a, :]`` sums to 1.
      R: rewards, shape ``(S, A, S)`` (per transition) or ``(S, A)`` (per state and action).
      gamma: discount factor in ``[0, 1]`` carried to :attr:`FiniteEnv.mdp`.
      initial: start distribution ``(S,)``; default uniform over the non-terminal states.
      terminal: bool ``(S,)``; default none. Terminal rows of ``P`` should be absorbing and their
        rewards 0 for the MDP to describe the episodes.
      max_steps: episode length limit, or ``None``.
      onehot: one-hot observations ``(S,)`` instead of int32 indices.
      name: a short name.

    Returns:
      The :class:`FiniteEnv`.

    Raises:
      ValueError: if the shapes disagree, a row of ``P`` is not a probability vector (naming the
        state and action), ``gamma`` is outside ``[0, 1]`` or ``initial`` is not a distribution.

    References:
      [MEDL] Ch. 8, Sec. 8.4; Sutton & Barto (2018), Ch. 3.
    """
    func = "rl.envs.finite_env"
    P = jnp.asarray(P)
    if not jnp.issubdtype(P.dtype, jnp.floating):
        P = P.astype(jnp.result_type(float))
    R = jnp.asarray(R, P.dtype)
    S = P.shape[0] if P.ndim == 3 else None
    if R.ndim == 2:
        checks.check_rank(func, "P", P, 3)
        if R.shape != P.shape[:2]:
            checks.fail(func, "R", f"shape (S, A) = {P.shape[:2]} or (S, A, S)", checks.Text(f"shape {R.shape}"))
        R = jnp.broadcast_to(R[:, :, None], P.shape)
    elif R.shape != P.shape:
        checks.fail(func, "R", f"shape (S, A, S) = {P.shape} or (S, A)", checks.Text(f"shape {R.shape}"))
    _validate(func, FiniteMDP(P, R[:, :, 0], gamma), None)
    terminal = jnp.zeros((S,), bool) if terminal is None else jnp.asarray(terminal, bool)
    checks.check_shape(func, "terminal", terminal, (S,))
    if initial is None:
        free = (~terminal).astype(P.dtype)
        initial = free / jnp.sum(free)
    initial = jnp.asarray(initial, P.dtype)
    checks.check_shape(func, "initial", initial, (S,))
    ok = bool(jnp.all(initial >= 0)) and abs(float(jnp.sum(initial)) - 1) <= 1e-6
    if not ok:
        checks.fail(func, "initial", "a probability vector", checks.Text(f"sum {float(jnp.sum(initial))!r}"))
    if max_steps is not None:
        checks.check_positive(func, "max_steps", max_steps)
    return FiniteEnv(P, R, float(gamma), initial, terminal, max_steps, onehot, name=name)


def _grid_env(layout, func, *, probs, rewards, step_reward, terminal_chars, walls, gamma, max_steps, onehot, name):
    layout = tuple(layout)
    rows, cols = len(layout), len(layout[0]) if layout else 0
    if rows == 0 or any(len(row) != cols for row in layout):
        checks.fail(
            func, "layout", "non-empty rows of one length", checks.Text(f"row lengths {[len(r) for r in layout]}")
        )
    cells = [(i, j) for i in range(rows) for j in range(cols) if layout[i][j] not in walls]
    index = {c: k for k, c in enumerate(cells)}
    S = len(cells)
    P = np.zeros((S, 4, S))
    R = np.zeros((S, 4, S))
    term = np.array([layout[i][j] in terminal_chars for i, j in cells])
    bonus = np.array([rewards.get(layout[i][j], 0.0) for i, j in cells])
    for k, (i, j) in enumerate(cells):
        for a in range(4):
            if term[k]:
                P[k, a, k] = 1.0
                continue
            for b, p in ((a, probs[0]), ((a - 1) % 4, probs[1]), ((a + 1) % 4, probs[2])):
                di, dj = _MOVES[b]
                target = (i + di, j + dj)
                k2 = index.get(target, k)  # off the grid or into a wall: stay
                P[k, a, k2] += p
            R[k, a, :] = step_reward + bonus
    starts = np.array([layout[i][j] == "S" for i, j in cells], dtype=float)
    if starts.sum() == 0:
        starts = (~term).astype(float)
    env = finite_env(
        P, R, gamma=gamma, initial=starts / starts.sum(), terminal=term, max_steps=max_steps, onehot=onehot, name=name
    )
    return dataclasses.replace(env, shape=(rows, cols), coords=np.array(cells, dtype=np.int32), layout=layout)


def gridworld(
    layout=GRIDWORLD_4X3,
    *,
    slip: float = 0.2,
    step_reward: float = -0.04,
    goal_reward: float = 1.0,
    pit_reward: float = -1.0,
    gamma: float = 0.99,
    max_steps: int | None = 100,
    onehot: bool = False,
) -> FiniteEnv:
    r"""A gridworld with walls and slippery moves (default: the 4×3 world of Russell & Norvig).

    Cells: ``.`` free, ``#`` wall (not a state), ``S`` start, ``G`` goal and ``X`` pit (both terminal).
    Actions ``LEFT, DOWN, RIGHT, UP = 0, 1, 2, 3``. A move goes the intended way with probability
    :math:`1 - \text{slip}` and to each perpendicular side with :math:`\text{slip}/2`; a move into a wall
    or off the grid stays put. Every step pays ``step_reward``, plus ``goal_reward`` on entering ``G``
    and ``pit_reward`` on entering ``X``:

    .. math:: R(s, a, s') = r_{\text{step}} + r_{\text{G}} [s' = G] + r_{\text{X}} [s' = X].

    With ``gamma=1`` the optimal values are Russell & Norvig's utilities (Fig. 17.3: 0.812, 0.868,
    0.918 on the top row, 0.705 at the start) minus the terminal's own reward.

    Args:
      layout: the grid's rows as strings (all of one length).
      slip: probability of slipping to a perpendicular direction, in ``[0, 1]``.
      step_reward: reward of every step.
      goal_reward: extra reward on entering a ``G`` cell.
      pit_reward: extra reward on entering an ``X`` cell.
      gamma: discount factor of :attr:`FiniteEnv.mdp`.
      max_steps: episode length limit, or ``None``.
      onehot: one-hot observations.

    Returns:
      A :class:`FiniteEnv` with ``shape``, ``coords`` and ``layout`` set; states are the non-wall cells
      in row-major order.

    Raises:
      ValueError: if the rows differ in length, ``slip`` is outside ``[0, 1]`` or ``gamma`` outside ``[0, 1]``.

    References:
      [MEDL] Ch. 8, Sec. 8.4; Russell & Norvig (2010), *Artificial Intelligence: A Modern Approach*,
      3rd ed., Sec. 17.1; Sutton & Barto (2018), Ch. 3-4.
    """
    func = "rl.envs.gridworld"
    checks.check_range(func, "slip", slip, 0.0, 1.0, high_closed=True)
    return _grid_env(
        layout,
        func,
        probs=(1.0 - slip, slip / 2, slip / 2),
        rewards={"G": goal_reward, "X": pit_reward},
        step_reward=step_reward,
        terminal_chars="GX",
        walls="#",
        gamma=gamma,
        max_steps=max_steps,
        onehot=onehot,
        name="gridworld",
    )


def frozen_lake(
    layout=LAKE_4X4,
    *,
    slippery: bool = True,
    gamma: float = 0.99,
    max_steps: int | None = 100,
    onehot: bool = False,
) -> FiniteEnv:
    r"""A FrozenLake-like lake: reach ``G`` over frozen cells ``F`` without falling into a hole ``H``.

    The dynamics of gymnasium's ``FrozenLake-v1``: actions ``LEFT, DOWN, RIGHT, UP = 0, 1, 2, 3``, state
    ``row * cols + col``; on the slippery lake a move goes the intended way or to either perpendicular
    side, each with probability 1/3; entering ``G`` pays 1, every other transition 0; ``G`` and ``H`` are
    terminal; edges keep the agent in place.

    Args:
      layout: rows of ``S``, ``F``, ``H``, ``G`` (default the 4×4 map; :data:`LAKE_8X8` is the large one).
      slippery: the 1/3-1/3-1/3 slippery moves (``False``: deterministic).
      gamma: discount factor of :attr:`FiniteEnv.mdp`.
      max_steps: episode length limit (gymnasium's 4×4 default is 100), or ``None``.
      onehot: one-hot observations.

    Returns:
      A :class:`FiniteEnv` with ``shape``, ``coords`` and ``layout`` set.

    Raises:
      ValueError: if the rows differ in length or ``gamma`` is outside ``[0, 1]``.

    References:
      [MEDL] Ch. 8, Sec. 8.4; gymnasium documentation, ``FrozenLake-v1``; Sutton & Barto (2018), Ch. 4.
    """
    third = 1.0 / 3.0
    return _grid_env(
        layout,
        "rl.envs.frozen_lake",
        probs=(third, third, third) if slippery else (1.0, 0.0, 0.0),
        rewards={"G": 1.0},
        step_reward=0.0,
        terminal_chars="GH",
        walls="",
        gamma=gamma,
        max_steps=max_steps,
        onehot=onehot,
        name="frozen_lake",
    )


def chain_mdp(
    n: int = 5,
    *,
    slip: float = 0.2,
    forward_reward: float = 0.0,
    end_reward: float = 10.0,
    back_reward: float = 2.0,
    gamma: float = 0.9,
    max_steps: int | None = None,
    onehot: bool = False,
) -> FiniteEnv:
    r"""The chain MDP of Strens (2000): a continuing task where exploration pays.

    States ``0..n-1``, start at 0. Action 0 ("forward") moves to ``s + 1`` paying ``forward_reward``, and
    at the end ``n - 1`` stays paying ``end_reward``; action 1 ("back") returns to 0 paying ``back_reward``.
    With probability ``slip`` the other action happens. A myopic agent keeps taking "back" for 2;
    the optimal policy (for ``gamma`` near 1) walks forward to the end.

    Args:
      n: number of states, at least 2.
      slip: probability that the other action happens, in ``[0, 1]``.
      forward_reward: reward of a forward move before the end.
      end_reward: reward of moving forward at the end.
      back_reward: reward of going back to state 0.
      gamma: discount factor of :attr:`FiniteEnv.mdp`.
      max_steps: episode length limit, or ``None`` (a continuing task).
      onehot: one-hot observations.

    Returns:
      A :class:`FiniteEnv` with no terminal states.

    Raises:
      ValueError: if ``n < 2`` or ``slip`` or ``gamma`` is outside ``[0, 1]``.

    References:
      [MEDL] Ch. 8, Sec. 8.4; Strens (2000), "A Bayesian framework for reinforcement learning", ICML.
    """
    func = "rl.envs.chain_mdp"
    if n < 2:
        checks.fail(func, "n", "at least 2 states", n)
    checks.check_range(func, "slip", slip, 0.0, 1.0, high_closed=True)
    P = np.zeros((n, 2, n))
    R = np.zeros((n, 2, n))
    for s in range(n):
        fwd = min(s + 1, n - 1)
        for a, p_fwd in ((0, 1.0 - slip), (1, slip)):
            P[s, a, fwd] += p_fwd
            P[s, a, 0] += 1.0 - p_fwd
            R[s, a, fwd] = end_reward if s == n - 1 else forward_reward
            R[s, a, 0] = back_reward
    initial = np.eye(n)[0]
    return finite_env(P, R, gamma=gamma, initial=initial, max_steps=max_steps, onehot=onehot, name="chain")


def two_state_mdp(gamma: float = 0.9, *, onehot: bool = False) -> FiniteEnv:
    r"""A two-state worked example whose optimal policy is found by hand.

    The book's worked optimal-policy example (its eq. 8.72) comes with data we do not have, so this is
    our own. States 0 and 1; action 0 "stay", action 1 "move" (deterministic). Staying in 0 pays 1,
    staying in 1 pays 2, moving pays 0. Staying forever in 1 is worth :math:`2 / (1 - \gamma)`; in 0 the
    choice is between :math:`1 / (1 - \gamma)` (stay) and :math:`\gamma \cdot 2 / (1 - \gamma)` (move
    then stay), so "move" is optimal in state 0 exactly when :math:`\gamma > 1/2`. At ``gamma = 0.9``:

    .. math:: V^* = (18, 20), \quad Q^* = \begin{pmatrix} 17.2 & 18 \\ 20 & 16.2 \end{pmatrix},
       \quad \pi^* = (\text{move}, \text{stay}).

    Args:
      gamma: discount factor in ``[0, 1)``.
      onehot: one-hot observations.

    Returns:
      A :class:`FiniteEnv` (start in state 0, no terminal states); its :attr:`FiniteEnv.mdp` is the example.

    Raises:
      ValueError: if ``gamma`` is outside ``[0, 1]``.

    References:
      [MEDL] Ch. 8, Sec. 8.4; Sutton & Barto (2018), Ch. 3.5-3.6 (optimal value functions).
    """
    P = np.zeros((2, 2, 2))
    P[0, 0, 0] = P[0, 1, 1] = P[1, 0, 1] = P[1, 1, 0] = 1.0
    r = np.array([[1.0, 0.0], [2.0, 0.0]])
    return finite_env(P, r, gamma=gamma, initial=np.eye(2)[0], onehot=onehot, name="two_state")
