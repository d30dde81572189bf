"""Placeholder: filled in by the Chapter 7 work (sequence models)."""

__all__: list[str] = []
