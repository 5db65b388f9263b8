"""What the results say: summaries, prediction bands, study curves, comparisons and agreement, evidence counts.
These compute tables; `mgbone.reports` only renders them."""
