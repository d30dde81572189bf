"""Graph networks built from the graph layers: node, graph and link prediction."""

__all__: list[str] = []
