"""mgbone: a Bayesian magnesium-bone model fitted to published study data."""

__version__ = "0.1.0"
