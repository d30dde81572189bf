"""Finite MDPs in code (gridworld, lake, chain, the book's example) and the environment of any finite MDP."""

__all__: list[str] = []
