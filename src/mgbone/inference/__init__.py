"""Sampling backends, seeds and convergence diagnostics."""
