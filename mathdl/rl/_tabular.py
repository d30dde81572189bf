"""Tabular learning on JAX environments: Monte Carlo, TD(0), TD(lambda), SARSA, Q-learning, double Q-learning."""

__all__: list[str] = []
