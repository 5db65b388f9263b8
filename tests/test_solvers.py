"""The closed-form solver (matrix exponential) against scipy's solve_ivp at rtol 1e-10, over prior draws."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from scipy.integrate import solve_ivp

from mgbone.models import get_model
from mgbone.models.linear_ode import assemble, expm, expm_numpy, solve_numpy
from mgbone.models.mechanistic import mg_deficit
from mgbone.models.priors import PRIORS

TIMES = np.array([0.0, 0.5, 3.0, 12.0, 52.0, 260.0, 520.0])  # weeks: days to a decade


def prior_parameters(model, rng):
    p = {name: float(PRIORS[name].draw(rng)) for name in model.parameters if name in PRIORS}
    p["speed"] = float(np.exp(PRIORS["rodent_speed_mean"].draw(rng)))
    p["mg_elasticity"] = float(PRIORS["mg_elasticity"].draw(rng))
    return p


def system_matrix(model, p, human):
    terms = model.terms(model._rates(p, p["speed"]), np.array([human]))
    coefficients = np.array([[np.asarray(c, float).item() for _, _, c in terms]])
    return assemble(coefficients, model._basis(terms))[0]


def initial_state(model, p, rng):
    deficit = mg_deficit(np.array(rng.uniform(0.03, 1.5)), p["mg_sufficiency_threshold"])
    e_start = float(rng.integers(0, 2))
    return np.array(model.initial_state(p, -p["mg_elasticity"] * deficit, e_start, 1.0), dtype=float)


MODES = ["FAST_RUN", "NUMBA"]  # PyTensor's default (C/Python) and numba, which nutpie and PyMC's numba mode use


@pytest.fixture(scope="module", params=MODES)
def compiled_expm(request):
    a = pt.tensor3("a")
    return pytensor.function([a], expm(a), mode=request.param)


def stiff_defective(rng, scale, batch=4, n=9):
    """Lower-triangular cascades: decaying dynamic states and three constant input states (zero rows), i.e.
    repeated zero eigenvalues and a defective matrix, as the models' system matrices."""
    a = np.tril(rng.normal(size=(batch, n, n)), -1)
    a[:, np.arange(n), np.arange(n)] = -rng.uniform(0.1, 2.0, size=(batch, n))
    a[:, :3, :] = 0.0
    return a * scale


@pytest.mark.parametrize("name", ["M1", "M2"])
def test_closed_form_matches_solve_ivp(name, compiled_expm):
    model = get_model(name)
    rng = np.random.default_rng(20261126)
    worst = 0.0
    for _ in range(12):
        p = prior_parameters(model, rng)
        human = float(rng.integers(0, 2))
        a = system_matrix(model, p, human)
        x0 = initial_state(model, p, rng)
        reference = solve_ivp(lambda t, x, a=a: a @ x, (0.0, TIMES[-1]), x0, method="Radau", t_eval=TIMES,
                              rtol=1e-10, atol=1e-13, jac=a).y.T
        closed = np.einsum("tij,j->ti", compiled_expm(a[None] * TIMES[:, None, None]), x0)
        scale = np.maximum(np.abs(reference), 1e-3 * np.abs(reference).max())
        worst = max(worst, float(np.max(np.abs(closed - reference) / scale)))
    assert worst <= 1e-6, f"max relative error {worst:.2e}"


def test_pytensor_expm_matches_scipy_on_stiff_defective_matrices(compiled_expm):
    rng = np.random.default_rng(1)
    for scale in (0.0, 1e-3, 1.0, 1e3, 1e5):
        a = stiff_defective(rng, scale)
        ref = expm_numpy(a)
        np.testing.assert_allclose(compiled_expm(a), ref, rtol=1e-9, atol=1e-12 * np.abs(ref).max())


@pytest.mark.parametrize("mode", MODES)
def test_expm_gradient_is_finite_and_matches_finite_differences(mode):
    a = pt.matrix("a")
    f = pytensor.function([a], pytensor.grad(expm(a)[3, 0], a), mode=mode)
    rng = np.random.default_rng(3)
    a0 = np.tril(rng.normal(size=(5, 5)))
    a0[0, 0] = a0[1, 1] = 0.0
    grad = f(a0)
    eps = 1e-6
    bump = np.zeros_like(a0)
    bump[3, 1] = eps
    numeric = (expm_numpy(a0 + bump)[3, 0] - expm_numpy(a0 - bump)[3, 0]) / (2 * eps)
    assert np.isfinite(grad).all()
    assert grad[3, 1] == pytest.approx(numeric, rel=1e-6)


def test_solve_numpy_is_the_semigroup():
    rng = np.random.default_rng(2)
    a = -np.diag(rng.uniform(0.1, 2, 4)) + np.tril(rng.normal(size=(4, 4)), -1)
    x0 = rng.normal(size=4)
    path = solve_numpy(a, x0, np.array([0.0, 1.0, 2.0]))
    np.testing.assert_allclose(path[0], x0)
    np.testing.assert_allclose(path[2], expm_numpy(a) @ path[1], rtol=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_expm_gradient_on_stiff_defective_batches(mode):
    """Gradient of a weighted sum of batched exponentials against central differences of scipy's expm."""
    rng = np.random.default_rng(4)
    a = pt.tensor3("a")
    weights = rng.normal(size=(3, 9, 9))
    f = pytensor.function([a], pytensor.grad(pt.sum(expm(a) * weights), a), mode=mode)
    for scale in (1.0, 50.0):
        a0 = stiff_defective(rng, scale, batch=3)
        grad = f(a0)
        assert np.isfinite(grad).all()
        for b, i, j in [(0, 4, 0), (1, 8, 3), (2, 5, 5), (2, 8, 1)]:
            eps = 1e-6 * max(1.0, abs(a0[b, i, j]))
            bump = np.zeros_like(a0)
            bump[b, i, j] = eps
            numeric = np.sum((expm_numpy(a0 + bump) - expm_numpy(a0 - bump)) * weights) / (2 * eps)
            assert grad[b, i, j] == pytest.approx(numeric, rel=1e-5, abs=1e-8)
