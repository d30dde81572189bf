"""Classifier-based sample metrics: a Frechet distance in a classifier's features and the accuracy on samples."""

__all__: list[str] = []
