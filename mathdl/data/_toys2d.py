"""Two-dimensional toy distributions generated in code: moons, swiss roll, ring and grid mixtures, spiral."""

__all__: list[str] = []
