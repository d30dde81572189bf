"""Sec. 8.1 toys: exact latent-variable models, and the reparameterisation against the score-function estimator."""

__all__: list[str] = []
