"""Graphs as padded edge lists with masks, batching of small graphs, networkx and edge-list readers, graph tasks."""

__all__: list[str] = []
