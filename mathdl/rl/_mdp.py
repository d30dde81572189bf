"""Finite Markov decision processes as arrays: Bellman operators, policy evaluation, value and policy iteration."""

__all__: list[str] = []
