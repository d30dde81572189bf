"""Graph layers on one graph: message passing, GCN, GraphSAGE, GAT, readouts and link scores."""

__all__: list[str] = []
