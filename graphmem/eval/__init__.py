"""Evaluation: extraction against hand-labelled triples (retrieval benchmarks come later)."""
