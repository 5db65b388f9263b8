"""Model M1 at full size through `pymc.ode.DifferentialEquation` (scipy odeint with forward
sensitivities), for the solver comparison in bench/bench_stan.py.

Same priors as `BoneCellsModel.build` (the project's own `_pymc_parameters`, so the same random
variables and transforms), same right-hand side, initial state, menopause switch and observation
model; only the solution of the ODE differs: one `DifferentialEquation` op per group (and one more
per menopause leg), each integrating the six dynamic states with the constant inputs (Mg target,
estrogen target, human ageing switch) passed as parameters, exactly like the Stan twin in m1_stan.py.
"""

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from mgbone.models import get_model
from mgbone.models.base import coords_for
from mgbone.models.mechanistic import mg_deficit

from m1_stan import stan_data

N_THETA = 16  # 7 rates, 6 gains, mg_target, e_target, human


def rhs(y, t, p):
    k_mg, k_inf, k_oc, k_ob, k_bone, e_rate, ageing = (p[i] for i in range(7))
    g_inf, g_no, g_ioc, g_mob, g_eoc, g_efd = (p[i] for i in range(7, 13))
    mg_target, e_target, human = p[13], p[14], p[15]
    return [
        k_mg * (mg_target - y[0]),
        k_inf * (-g_inf * y[0] - y[1]),
        e_rate * (e_target - y[2]),
        k_oc * (g_eoc * y[2] - g_no * y[0] + g_ioc * y[1] - y[3]),
        k_ob * (y[3] + g_mob * y[0] - g_efd * y[2] - y[4]),
        k_bone * (y[4] - y[3]) - ageing * human,
    ]


def build(obs) -> pm.Model:
    m = get_model("M1")
    obs = m.fits(obs)
    coords = coords_for(obs)
    d = stan_data(obs)  # the same groups, solve times and slots as the Stan twin
    c, g = obs.contrasts, obs.groups
    with pm.Model(coords=coords) as model:
        p = m._pymc_parameters(coords, obs)
        gains = [p[n] for n in ("inflammation_gain", "no_osteoclast_gain", "inflammation_osteoclast_gain",
                                "mg_osteoblast_gain", "estrogen_osteoclast_gain", "estrogen_formation_deficit")]
        deficit = mg_deficit(g["mg_fraction"].to_numpy(), p["mg_sufficiency_threshold"], pt)
        states, pos = [None] * (d["G"] + d["T"]), 0
        for gi in range(d["G"]):
            s = d["g_species"][gi] - 1
            speed = p["speed"][s]
            rates = [p["mg_equilibration_rate"] * speed, p["inflammation_rate"] * speed, p["osteoclast_rate"] * speed,
                     p["osteoblast_rate"] * speed, p["bone_turnover_rate"] * speed, 1.0 / p["estrogen_decay_time"],
                     p["ageing_loss_rate"]]
            effect = p["study_effect"][d["g_study"][gi] - 1] if d["g_study"][gi] > 0 else 0.0
            mg_target = -p["mg_elasticity"][s] * pt.exp(effect) * deficit[gi]
            e0 = d["e_start"][gi]
            x0 = pt.stack([0.0 * mg_target, 0.0 * mg_target, 0.0 * mg_target + e0,
                           p["estrogen_osteoclast_gain"] * e0 + 0.0 * mg_target,
                           (p["estrogen_osteoclast_gain"] - p["estrogen_formation_deficit"]) * e0 + 0.0 * mg_target,
                           0.0 * mg_target])
            states[gi] = x0
            legs = [(d["n_first"][gi], 0.0, d["e_target_first"][gi]), (d["n_then"][gi], d["shift"][gi], d["e_target"][gi])]
            start = x0
            for n, t0, e_target in legs:
                if n == 0:
                    continue
                times = d["ts"][pos:pos + n]
                ode = pm.ode.DifferentialEquation(func=rhs, times=times, n_states=6, n_theta=N_THETA, t0=t0)
                theta = pt.stack([*rates, *gains, mg_target, pt.as_tensor(float(e_target)),
                                  pt.as_tensor(d["is_human"][s])])
                solution = ode(y0=start, theta=theta)  # (n, 6)
                for j in range(n):
                    states[d["G"] + pos + j] = solution[j]
                start = solution[n - 1]
                pos += n
        x = pt.stack(states)  # (G + T, 6)
        slot_t, slot_r = np.array(d["slot_t"]) - 1, np.array(d["slot_r"]) - 1
        row = np.array(d["row"]) - 1
        mu = pm.Deterministic("mu", x[slot_t, row] - x[slot_r, row], dims="contrast")
        outcome = np.array(d["outcome"]) - 1
        se = np.array(d["se"])
        y = pm.Data("y_observed", c["y"].to_numpy(float), dims="contrast")
        pm.Normal("y", mu=mu, sigma=pt.sqrt(se**2 + p["noise"][outcome] ** 2), observed=y, dims="contrast")
    return model
