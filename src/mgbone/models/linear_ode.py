"""Exact, differentiable solution of linear ODE systems x' = A x through the matrix exponential.

The mechanistic models are linear in log-deviation coordinates, with constant inputs carried as
extra states, so x(t) = expm(A t) x(0) is their closed-form solution. `expm` is PyTensor's own
`Expm` op (batched by `Blockwise`): scaling and squaring with the Pade degree and the number of
squarings chosen per matrix from its 1-norm (Al-Mohy & Higham 2009), compiled to numba (nutpie,
PyMC) or mapped to `jax.scipy.linalg.expm` (numpyro). Its gradient is the exact Frechet derivative,
read off one exponential of the block matrix [[A^T, G], [0, A^T]] (Mathias 1996); it uses no
eigendecomposition, so the defective matrices of these cascades (repeated zero eigenvalues of the
constant input states) are no problem (tests/test_solvers.py checks values and gradients on them).

It replaced a hand-written Taylor series (order 12) with 24 squarings always evaluated through
`pt.switch`: 2.8x slower per M1 log density + gradient with one thread and 4x with two threads
(bench/README.md, "Matrix exponential").
"""

import numpy as np
import pytensor.tensor as pt
import pytensor.tensor.linalg as pt_linalg
import scipy.linalg


def expm(a):
    """Matrix exponential of a batch of square matrices (..., n, n) as a PyTensor graph."""
    return pt_linalg.expm(pt.as_tensor_variable(a))


def assemble(coefficients, basis):
    """A = sum_k coefficients[..., k] * basis[k]; works for numpy arrays and PyTensor tensors."""
    n_terms, n, _ = basis.shape
    flat = basis.reshape(n_terms, n * n)
    if isinstance(coefficients, np.ndarray):
        return (coefficients @ flat).reshape(*coefficients.shape[:-1], n, n)
    return pt.dot(coefficients, flat).reshape((*coefficients.shape[:-1], n, n))


def expm_numpy(a: np.ndarray) -> np.ndarray:
    """Reference matrix exponential (scipy's Pade approximant), batched over leading axes."""
    return scipy.linalg.expm(a)


def solve_numpy(a: np.ndarray, x0: np.ndarray, times: np.ndarray) -> np.ndarray:
    """States at `times` (T,) for one system matrix a (n, n) and start x0 (..., n): shape (..., T, n)."""
    propagators = expm_numpy(a[None] * np.asarray(times, float)[:, None, None])  # (T, n, n)
    return np.einsum("tij,...j->...ti", propagators, x0)
