"""Benchmark suites; each module registers its cases on import."""
