"""Exact, differentiable solution of linear ODE systems x' = A x through the matrix exponential.

The mechanistic models are linear in log-deviation coordinates, with constant inputs carried as
extra states, so x(t) = expm(A t) x(0) is their closed-form solution. PyTensor's own `expm`
differentiates through an eigendecomposition, which breaks on the defective matrices these
cascades produce (repeated zero eigenvalues of the constant states); here the exponential is built
from matrix products only (Taylor series with scaling and squaring), so gradients flow through
plain matmuls and the same graph runs under the PyMC, nutpie and JAX/numpyro backends.
"""

import numpy as np
import pytensor.tensor as pt
import scipy.linalg

TAYLOR_ORDER = 12  # truncation error (0.5**13 / 13!) < 1e-13 once the scaled norm is <= 0.5
MAX_SQUARINGS = 24  # handles ||A t|| up to 0.5 * 2**24 (about 8e6; the models reach about 1e5)


def expm(a):
    """Matrix exponential of a batch of square matrices (..., n, n) as a PyTensor graph."""
    a = pt.as_tensor_variable(a)
    norm = pt.max(pt.sum(pt.abs(a), axis=-1), axis=-1)  # infinity norm, batch shape
    squarings = pt.clip(pt.ceil(pt.log2(pt.maximum(norm, 0.5) / 0.5)), 0, MAX_SQUARINGS)
    scaled = a / pt.exp2(squarings)[..., None, None]
    eye = pt.eye(a.shape[-1], dtype=a.dtype)
    term = pt.broadcast_to(eye, a.shape)
    result = term
    for order in range(1, TAYLOR_ORDER + 1):
        term = pt.matmul(term, scaled) / order
        result = result + term
    for step in range(MAX_SQUARINGS):
        result = pt.switch((step < squarings)[..., None, None], pt.matmul(result, result), result)
    return result


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
