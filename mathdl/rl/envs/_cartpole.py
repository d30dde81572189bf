"""CartPole in JAX, with gymnasium's dynamics and termination."""

__all__: list[str] = []
