"""Shared machinery of the mechanistic models (M1, M2): linear ODEs in log-deviation coordinates.

Every state is the log of a quantity relative to the healthy, Mg-adequate, premenopausal steady
state, so that steady state is 0 (quantity 1). Constant inputs (the Mg target set by the diet, the
estrogen-deficit target, the ageing clock) are carried as states with zero derivative, which makes
each model x' = A x with A built from the parameters: solved exactly by `linear_ode.expm`.
"""

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import xarray as xr

from mgbone.models.base import BoneModel, Scenario, coords_for, flat_draws, study_index
from mgbone.models.linear_ode import assemble, expm, expm_numpy
from mgbone.models.observations import ObservationSet
from mgbone.models.priors import DEFICIT_SHARPNESS, PRIORS

RODENTS = ("rat", "mouse")
INPUT_STATES = ("mg_target", "estrogen_target", "ageing")


def mg_deficit(mg_fraction, threshold, xp=np):
    """Smooth deficit below the sufficiency threshold: 0 when adequate, ~log(threshold/f) below it."""
    z = DEFICIT_SHARPNESS * (xp.log(threshold) - xp.log(mg_fraction))
    # (an unknown intake is coded as a very large fraction upstream, i.e. no deficit)
    return xp.log1p(xp.exp(z)) / DEFICIT_SHARPNESS


def species_speed(species: list[str]):
    """Time-scale factor per species: 1 for humans; rodents partially pooled when there are two.

    With a single rodent species a pooling spread is not identified (only its product with the
    species deviation enters) and its funnel slows NUTS, so the rodent factor is then the mean.
    """
    rodents = [s for s in species if s in RODENTS]
    speed = pt.ones(len(species))
    if not rodents:
        return speed
    speed_mean = PRIORS["rodent_speed_mean"].rv()
    pm.Deterministic("rodent_speed_mean_factor", pt.exp(speed_mean))
    if len(rodents) == 1:
        return pt.set_subtensor(speed[species.index(rodents[0])], pt.exp(speed_mean))
    speed_spread = PRIORS["rodent_speed_spread"].rv()
    for s in rodents:
        z = pm.Normal(f"{s}_speed_z", 0.0, 1.0)
        speed = pt.set_subtensor(speed[species.index(s)], pt.exp(speed_mean + speed_spread * z))
    return speed


class LinearMechanisticModel(BoneModel):
    """Subclasses list their states and the terms of A (row state, column state, coefficient)."""

    states: tuple[str, ...]
    species_parameters: tuple[str, ...] = ()  # parameters with one value per species

    def terms(self, p: dict, human) -> list[tuple[str, str, object]]:
        raise NotImplementedError

    # -- shared structure ------------------------------------------------------------------------
    def _basis(self, terms) -> np.ndarray:
        index = {s: i for i, s in enumerate(self.states)}
        basis = np.zeros((len(terms), len(self.states), len(self.states)))
        for k, (row, col, _) in enumerate(terms):
            basis[k, index[row], index[col]] = 1.0
        return basis

    def _rates(self, p: dict, speed) -> dict:
        """Cell and mineral rates scaled by the species speed factor."""
        scaled = dict(p)
        for name in ("mg_equilibration_rate", "inflammation_rate", "osteoclast_rate", "osteoblast_rate",
                     "bone_turnover_rate"):
            scaled[name] = p[name] * speed
        return scaled

    def initial_state(self, p: dict, mg_target, e_start, e_target, xp=np) -> list:
        """x(0) per group: inputs set, estrogen deficit and bone cells at their quasi-steady values."""
        zero = 0.0 * mg_target
        values = {
            "mg_target": mg_target,
            "estrogen_target": e_target + zero,
            "ageing": 1.0 + zero,
            "estrogen_deficit": e_start + zero,
            "osteoclast_activity": p["estrogen_osteoclast_gain"] * e_start + zero,
            "osteoblast_activity": (p["estrogen_osteoclast_gain"] - p["estrogen_formation_deficit"]) * e_start + zero,
        }
        return [values.get(s, zero) for s in self.states]

    # -- PyMC ---------------------------------------------------------------------------------------
    def _pymc_parameters(self, coords: dict, obs: ObservationSet) -> dict:
        species = coords["species"]
        scalar = [n for n in self.parameters if n not in self.species_parameters and n not in self._hierarchy_names]
        p = {name: PRIORS[name].rv() for name in scalar}
        for name in self.species_parameters:
            p[name] = PRIORS[name].rv(dims="species")
        # one elasticity per species from a common prior: with two or three species a pooling
        # spread is barely identified and its funnel cost more ESS than the pooling gains
        p["mg_elasticity"] = PRIORS["mg_elasticity"].rv(dims="species")
        speed = species_speed(species)
        p["speed"] = pm.Deterministic("species_speed", speed, dims="species")
        if coords["study"]:
            p["study_effect"] = PRIORS["study_effect"].rv(dims="study")
        p["noise"] = PRIORS["noise"].rv(dims="outcome")
        return p

    _hierarchy_names = ("mg_elasticity", "rodent_speed_mean", "rodent_speed_spread", "study_effect", "noise")

    def build(self, obs: ObservationSet) -> pm.Model:
        obs = self.fits(obs)
        coords = coords_for(obs)
        c, g = obs.contrasts, obs.groups
        species = coords["species"]
        g_species = g["species"].map({s: i for i, s in enumerate(species)}).to_numpy()
        g_study, g_has_effect = study_index(g, coords["study"])
        is_human = np.array([s == "human" for s in species], float)
        # Groups whose menopause comes after time 0 (natural-history cohorts followed through it)
        # switch the estrogen target on at that time; by linearity
        # x(t) = Phi(t) x0 + [t > shift] * e_target * Phi(t - shift)[:, estrogen_target].
        shift = g["menopause_at_weeks"].to_numpy(float)
        keys, pairs = {}, []

        def pair(group, t):
            key = (int(g_species[group]), float(max(t, 0.0)))
            if key not in keys:
                keys[key] = len(pairs)
                pairs.append(key)
            return keys[key]

        def lookups(groups, times):
            full = np.array([pair(gi, t) for gi, t in zip(groups, times, strict=True)])
            late = np.array([pair(gi, t - shift[gi]) for gi, t in zip(groups, times, strict=True)])
            switched = np.array([shift[gi] > 0 and t > shift[gi] for gi, t in zip(groups, times, strict=True)], float)
            return full, late, switched

        targets, references = c["target_group"].to_numpy(), c["reference_group"].to_numpy()
        u_t, v_t, on_t = lookups(targets, c["time_weeks"].to_numpy())
        u_r, v_r, on_r = lookups(references, c["reference_time_weeks"].to_numpy())
        pair_species = np.array([k[0] for k in pairs])
        pair_time = np.array([k[1] for k in pairs])
        state_index = {s: i for i, s in enumerate(self.states)}
        row = c["quantity"].map(state_index).to_numpy()
        e_col = state_index["estrogen_target"]
        e_target = g["estrogen_deficit_target"].to_numpy(float)
        e_initial_target = np.where(shift > 0, 0.0, e_target)
        outcome_idx = c["outcome"].map({o: i for i, o in enumerate(coords["outcome"])}).to_numpy()
        se = np.nan_to_num(c["se"].to_numpy(float), nan=0.0)

        with pm.Model(coords=coords) as model:
            p = self._pymc_parameters(coords, obs)
            rates = self._rates(p, p["speed"])
            terms = self.terms(rates, is_human)
            coefficients = pt.stack([pt.broadcast_to(coef, (len(species),)) for _, _, coef in terms], axis=-1)
            system = assemble(coefficients, self._basis(terms))  # (species, n, n)
            deficit = mg_deficit(g["mg_fraction"].to_numpy(), p["mg_sufficiency_threshold"], pt)
            study_effect = p["study_effect"][g_study] * g_has_effect if "study_effect" in p else 0.0
            mg_target = -p["mg_elasticity"][g_species] * pt.exp(study_effect) * deficit
            x0 = pt.stack(self.initial_state(p, mg_target, g["estrogen_deficit_start"].to_numpy(),
                                             e_initial_target, pt), axis=-1)
            propagators = expm(system[pair_species] * pair_time[:, None, None])  # (pairs, n, n)

            def quantity(u, v, on, groups):
                now = pt.sum(propagators[u, row, :] * x0[groups], axis=-1)
                return now + on * e_target[groups] * propagators[v, row, e_col]

            q_t = quantity(u_t, v_t, on_t, targets)
            q_r = quantity(u_r, v_r, on_r, references)
            mu = pm.Deterministic("mu", q_t - q_r, dims="contrast")
            sigma = pt.sqrt(se**2 + p["noise"][outcome_idx] ** 2)
            y = pm.Data("y_observed", c["y"].to_numpy(float), dims="contrast")
            pm.Normal("y", mu=mu, sigma=sigma, observed=y, dims="contrast")
        return model

    # -- numpy prediction -------------------------------------------------------------------------
    def _draw_parameters(self, posterior: xr.Dataset, species: str, rng: np.random.Generator) -> dict:
        sp = list(posterior["species"].values) if "species" in posterior.coords else []
        p = {}
        for name in self.parameters:
            if name in self._hierarchy_names:
                continue
            arr = flat_draws(posterior, name)
            if name in self.species_parameters:
                arr = arr[:, sp.index(species)] if species in sp else np.zeros(arr.shape[0])
            p[name] = arr
        n = next(iter(p.values())).shape[0]
        if species in sp:
            p["mg_elasticity"] = flat_draws(posterior, "mg_elasticity")[:, sp.index(species)]
            p["speed"] = flat_draws(posterior, "species_speed")[:, sp.index(species)]
        else:  # a species the fit has not seen: its elasticity can only come from the prior
            p["mg_elasticity"] = PRIORS["mg_elasticity"].draw(rng, n)
            if species in RODENTS and "rodent_speed_mean" in posterior:
                s_mean = flat_draws(posterior, "rodent_speed_mean")
                s_spread = flat_draws(posterior, "rodent_speed_spread") if "rodent_speed_spread" in posterior else 0.0
                p["speed"] = np.exp(s_mean + s_spread * rng.standard_normal(n))
            else:
                p["speed"] = np.ones(n)
        # a new population is a new study: its deviation comes from the between-study spread
        p["study_effect"] = PRIORS["study_effect"].draw(rng, n)
        return p

    def trajectories(self, posterior, scenario: Scenario, times_weeks, rng):
        times = np.asarray(times_weeks, float)
        steps = np.diff(times)
        if times[0] != 0 or not np.allclose(steps, steps[0]):
            raise ValueError("scenario times must start at 0 and be equally spaced")
        p = self._draw_parameters(posterior, scenario.species, rng)
        human = np.array([1.0 if scenario.species == "human" else 0.0])
        rates = self._rates(p, p["speed"])
        terms = self.terms(rates, human)
        n = p["speed"].shape[0]
        coefficients = np.stack([np.broadcast_to(np.asarray(coef, float), (n,)) for _, _, coef in terms], axis=-1)
        system = assemble(coefficients, self._basis(terms))  # (draws, n, n)
        step = expm_numpy(system * steps[0])
        deficit = mg_deficit(np.asarray(scenario.mg_fraction, float), p["mg_sufficiency_threshold"])
        mg_target = -p["mg_elasticity"] * np.exp(p["study_effect"]) * deficit
        x = np.stack(self.initial_state(p, mg_target, scenario.estrogen_deficit_start,
                                        scenario.estrogen_deficit_target), axis=-1)
        delay = int(round(scenario.menopause_at_weeks / steps[0]))
        target = self.states.index("estrogen_target")
        if delay > 0:  # estrogen target switches on at menopause; until then only ageing and Mg act
            x[:, target] = 0.0
        path = np.empty((n, len(times), len(self.states)))
        for k in range(len(times)):
            if k == delay and delay > 0:
                x = x.copy()
                x[:, target] = scenario.estrogen_deficit_target
            path[:, k] = x
            x = np.einsum("dij,dj->di", step, x)
        return {s: path[:, :, i] for i, s in enumerate(self.states) if s not in INPUT_STATES}
