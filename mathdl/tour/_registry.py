"""The tour's registry: each chapter registers short demos that return named metrics."""

import dataclasses
from collections.abc import Callable
from pathlib import Path

__all__ = ["Demo", "demos", "register"]

# Chapter order used for sorting the table ("A" and "B" are the appendices).
CHAPTER_ORDER = ("2", "3", "4", "5", "6", "7", "8", "A", "B")


@dataclasses.dataclass(frozen=True)
class Demo:
    """A registered tour demo.

    Attributes:
      chapter: book chapter or appendix, e.g. ``"3"`` or ``"B"``.
      title: what ran, in a few words.
      fn: ``fn(out_dir: Path) -> dict[str, float]``; saves any plots under ``out_dir``.
      expected: metric name -> ``(low, high)`` inclusive range the value must fall in.
    """

    chapter: str
    title: str
    fn: Callable[[Path], dict[str, float]]
    expected: dict[str, tuple[float, float]]


_DEMOS: list[Demo] = []


def register(chapter: str, title: str, *, expected: dict[str, tuple[float, float]]):
    r"""Register a tour demo (used as a decorator).

    The decorated function takes the output directory (a ``pathlib.Path``) and returns a
    dict of metric name to float. Every metric must have an ``expected`` range; the tour
    fails (non-zero exit) if a value falls outside it or is missing.

    Args:
      chapter: chapter or appendix label (``"2"`` ... ``"8"``, ``"A"``, ``"B"``).
      title: short description shown in the table.
      expected: metric name -> inclusive ``(low, high)`` range.

    Returns:
      The decorator; it returns the function unchanged.

    Raises:
      ValueError: if ``chapter`` is unknown or ``expected`` is empty.

    References:
      README, "The tour".
    """
    if chapter not in CHAPTER_ORDER:
        raise ValueError(f"tour.register: argument `chapter` expected one of {CHAPTER_ORDER}, got {chapter!r}.")
    if not expected:
        raise ValueError("tour.register: argument `expected` expected at least one metric range, got {}.")

    def decorator(fn):
        _DEMOS.append(Demo(chapter, title, fn, dict(expected)))
        return fn

    return decorator


def demos() -> list[Demo]:
    r"""All registered demos, sorted by chapter.

    Returns:
      A list of :class:`Demo` (import the demo modules first, e.g. with ``load_demos``).

    References:
      README, "The tour".
    """
    return sorted(_DEMOS, key=lambda d: CHAPTER_ORDER.index(d.chapter))
