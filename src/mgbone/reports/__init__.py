"""Summaries, prediction bands, figures and the HTML report."""
