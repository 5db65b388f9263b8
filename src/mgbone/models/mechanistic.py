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

from mgbone.data.intake import NODE_COLUMNS
from mgbone.models import interventions
from mgbone.models.base import BoneModel, Scenario, coords_for, flat_draws, study_effects
from mgbone.models.likelihood import observe
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


def population_deficit(groups, threshold, xp=np):
    """Per group: the change of Mg deficit at time 0 averaged over its exposure nodes (a modelled habitual intake,
    mgbone.data.intake; one repeated exposure where the intake is known), i.e. the group's mean deficit.

    Groups on their habitual diet (`habitual_start`) start at its steady state, so only the supplement changes their
    deficit: deficit(habitual + supplement) - deficit(habitual), 0 for a placebo arm. By linearity this is the same
    as starting every group of the study at its habitual steady state: contrasts against a control are unchanged by
    it, and a within-group change from baseline is the supplement's effect alone.
    """
    single = mg_deficit(groups["mg_fraction"].to_numpy(float), threshold, xp)
    if "habitual_start" not in groups or not groups["habitual_start"].any():
        return single  # (also a group table built by hand, without nodes)
    exposure = groups[NODE_COLUMNS].to_numpy(float)
    habitual = np.maximum(exposure - groups["supplement_fraction"].to_numpy(float)[:, None], 1e-6)
    change = mg_deficit(exposure, threshold, xp).mean(axis=1) - mg_deficit(habitual, threshold, xp).mean(axis=1)
    # a known exposure keeps its one deficit exactly (averaging 8 equal nodes rounds in the last bit, which NUTS
    # would amplify into other draws of the same fit)
    return xp.where(groups["habitual_start"].to_numpy(bool), change, single)


def species_speed(species: list[str]):
    """Time-scale factor per species: 1 for humans, one shared factor for rodents.

    Rat and mouse share it: the data hold one mouse study (three cytokine rows), which cannot tell the two time
    scales apart, and a pooling spread learned from it was a funnel that slowed NUTS tenfold.
    """
    rodents = [s for s in species if s in RODENTS]
    speed = pt.ones(len(species))
    if not rodents:
        return speed
    speed_mean = PRIORS["rodent_speed_mean"].rv()
    pm.Deterministic("rodent_speed_mean_factor", pt.exp(speed_mean))
    for s in rodents:
        speed = pt.set_subtensor(speed[species.index(s)], pt.exp(speed_mean))
    return speed


class LinearMechanisticModel(BoneModel):
    """Subclasses list their states and the terms of A (row state, column state, coefficient)."""

    states: tuple[str, ...]
    species_parameters: tuple[str, ...] = ()  # parameters with one value per species
    # single-row loadings sampled through their row's prediction (`likelihood.loadings`; exact for any sign,
    # efficient where a response keeps its sign, as the single-row ones do here: a Mg deficit raises mouse IL-1 and
    # substance P and lowers human red-cell Mg whatever the rates and gains). m1_animal, same seed: the substance P
    # loading's ESS 256 -> 2783, R-hat 1.039 -> 1.00 (bench/README)
    anchor_single_rows: bool = True

    def terms(self, p: dict, human) -> list[tuple[str, str, object]]:
        raise NotImplementedError

    def readout(self, p: dict) -> dict:
        """Quantities that are not states but linear in one (quasi-steady): quantity -> (state, coefficient)."""
        return {}

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
        p["noise"] = PRIORS["noise"].rv(dims="outcome")
        return p

    _hierarchy_names = ("mg_elasticity", "rodent_speed_mean", "study_effect", "study_spread",
                        "noise", "outcome_loading", "study_outcome_spread", "study_outcome_effect",
                        *interventions.PARAMETERS)

    def build(self, obs: ObservationSet, holdout: bool = False, collapse: bool = False) -> pm.Model:
        obs = self.fits(obs)
        coords = coords_for(obs)
        g = obs.groups.copy()
        species = coords["species"]
        g["species_index"] = g["species"].map({s: i for i, s in enumerate(species)}).to_numpy()
        g_species = g["species_index"].to_numpy()
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

        tables = [obs.contrasts] + ([obs.directions] if len(obs.directions) else [])
        sides = []  # (groups, times, quantities) of every target and reference
        for table in tables:
            sides.append((table["target_group"].to_numpy(), table["time_weeks"].to_numpy(), table["quantity"].to_numpy()))
            sides.append((table["reference_group"].to_numpy(), table["reference_time_weeks"].to_numpy(),
                          table["quantity"].to_numpy()))
        plans = [lookups(groups, times) for groups, times, _ in sides]
        pair_species = np.array([k[0] for k in pairs])
        pair_time = np.array([k[1] for k in pairs])
        state_index = {s: i for i, s in enumerate(self.states)}
        e_col = state_index["estrogen_target"]
        e_target = g["estrogen_deficit_target"].to_numpy(float)
        e_initial_target = np.where(shift > 0, 0.0, e_target)

        with pm.Model(coords=coords) as model:
            p = self._pymc_parameters(coords, obs)
            rates = self._rates(p, p["speed"])
            terms = self.terms(rates, is_human)
            coefficients = pt.stack([pt.broadcast_to(coef, (len(species),)) for _, _, coef in terms], axis=-1)
            system = assemble(coefficients, self._basis(terms))  # (species, n, n)
            deficit = population_deficit(g, p["mg_sufficiency_threshold"], pt)
            study_effect = study_effects(coords, obs, centre=not holdout)
            mg_target = -p["mg_elasticity"][g_species] * pt.exp(study_effect) * deficit
            x0 = pt.stack(self.initial_state(p, mg_target, g["estrogen_deficit_start"].to_numpy(),
                                             e_initial_target, pt), axis=-1)
            propagators = expm(system[pair_species] * pair_time[:, None, None])  # (pairs, n, n)
            drug_p = interventions.drug_parameters(coords, obs, centre=not holdout)
            treated = interventions.treatment_effects(
                p, drug_p, lambda sp: {k: v[sp] if getattr(v, "ndim", 0) else v for k, v in rates.items()},
                coords, g, sides)

            readout = self.readout(p)

            def quantity(k):
                (groups, _, quantities), (u, v, on) = sides[k], plans[k]
                row = np.array([state_index[readout[q][0] if q in readout else q] for q in quantities])
                scale = 1.0
                for q, (_, coef) in readout.items():
                    coef = coef[g_species[groups]] if getattr(coef, "ndim", 0) else coef
                    scale = scale + (quantities == q) * (coef - 1.0)
                now = pt.sum(propagators[u, row, :] * x0[groups], axis=-1)
                return scale * (now + on * e_target[groups] * propagators[v, row, e_col]) + treated[k]

            mu_points = quantity(0) - quantity(1)
            mu_directions = quantity(2) - quantity(3) if len(sides) > 2 else None
            observe(mu_points, mu_directions, obs, coords, p["noise"], holdout, collapse, self.anchor_single_rows)
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
            if species in RODENTS and "rodent_speed_mean" in posterior:  # rodents share one time-scale factor
                p["speed"] = np.exp(flat_draws(posterior, "rodent_speed_mean"))
            else:
                p["speed"] = np.ones(n)
        # a new population is a new study: its deviation comes from the species' learned between-study spread
        if "study_spread" in posterior and species in list(posterior["study_spread"]["species"].values):
            spread = flat_draws(posterior, "study_spread")[:, list(posterior["study_spread"]["species"].values).index(species)]
        else:
            spread = PRIORS["study_spread"].draw(rng, n)
        p["study_effect"] = spread * PRIORS["study_effect"].draw(rng, n)
        return p

    def _drug_draws(self, posterior: xr.Dataset, scenario: Scenario, n: int, rng: np.random.Generator) -> dict:
        """Draws of a treatment's potency and kinetics: the fitted arm, or a new arm of a fitted class, or prior."""
        cls = scenario.treatment_class
        mechanism = interventions.MECHANISMS[cls]
        arms = list(posterior["drug_arm"].values) if "drug_arm" in posterior.coords else []
        classes = list(posterior["drug_class"].values) if "drug_class" in posterior.coords else []
        potency_name = interventions.POTENCY_PRIOR[mechanism.lever]
        coord = f"{mechanism.lever}_drug_class"
        if scenario.treatment_arm in arms:
            potency = flat_draws(posterior, "drug_arm_potency")[:, arms.index(scenario.treatment_arm)]
        elif potency_name in posterior and cls in list(posterior[coord].values):
            mean = flat_draws(posterior, potency_name)[:, list(posterior[coord].values).index(cls)]
            potency = mean * np.exp(flat_draws(posterior, "drug_arm_spread") * rng.standard_normal(n))
        else:
            potency = PRIORS[potency_name].draw(rng, n)
        onset = (flat_draws(posterior, "drug_onset_rate")[:, classes.index(cls)] if cls in classes
                 else PRIORS["drug_onset_rate"].draw(rng, n))
        def scalar(name):
            return flat_draws(posterior, name) if name in posterior else PRIORS[name].draw(rng, n)
        return {"potency": potency, "onset": onset, "residual": scalar("bisphosphonate_residual_share"),
                "offset": scalar("bisphosphonate_offset_rate"),
                "anabolic_resorption_gain": scalar("anabolic_resorption_gain")}

    def trajectories(self, posterior, scenario: Scenario, times_weeks, rng, overrides=None):
        times = np.asarray(times_weeks, float)
        steps = np.diff(times)
        if times[0] != 0 or not np.allclose(steps, steps[0]):
            raise ValueError("scenario times must start at 0 and be equally spaced")
        p = self._draw_parameters(posterior, scenario.species, rng)
        for name, value in (overrides or {}).items():  # e.g. a route's gain at 0 in every draw
            p[name] = np.full_like(p[name], value)
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
        out = {s: path[:, :, i] for i, s in enumerate(self.states) if s not in INPUT_STATES}
        for q, (state, coef) in self.readout(p).items():
            out[q] = np.asarray(coef)[:, None] * out[state]
        if scenario.treatment_class:
            drug = self._drug_draws(posterior, scenario, n, rng)
            since = np.maximum(times - scenario.treatment_start_weeks, 0.0)
            effect = interventions.treatment_trajectory(
                interventions.MECHANISMS[scenario.treatment_class], {**p, **drug}, rates, drug["onset"],
                drug["residual"], drug["offset"], drug["potency"], since,
                scenario.treatment_stop_weeks - scenario.treatment_start_weeks)
            for q, values in effect.items():
                out[q] = out[q] + values * (times >= scenario.treatment_start_weeks)
        return out
