"""Fixtures of the tour tests."""

from tests.bench._folders import read_only_dir  # noqa: F401  (a fixture)
