"""Flax NNX modules of the graph layers (GCN, GAT, GraphSAGE), delegating to mathdl.layers."""

__all__: list[str] = []
