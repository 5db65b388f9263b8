"""mgbone: a Bayesian magnesium-bone model fitted to published study data."""

import os

# One BLAS thread per process: multi-threaded BLAS can change the order of floating-point sums from
# run to run, and an MCMC chain amplifies a last-bit difference into different draws. Chains are
# already parallel, so nothing is lost. (Set before numpy is imported by anything below.)
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

__version__ = "0.1.0"
