"""M0: empirical hierarchical model, the baseline any mechanism must beat.

Each quantity moves in proportion to the Mg deficit with a species-specific slope and approaches its new level at a species-specific rate; bone mass instead declines
at a rate proportional to the deficit, on top of a menopausal step (exponential approach after the
final menstrual period) and a linear ageing drift in humans. Studies scale the deficit's effect.
"""

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from mgbone.models.base import BoneModel, coords_for, flat_draws, study_effects
from mgbone.models.interventions import drug_arm_deviations
from mgbone.models.likelihood import (
    free_log_loadings,
    observe,
    signed_loadings,
    unreferenced_quantities,
)
from mgbone.models.mechanistic import mg_deficit, population_deficit, species_speed
from mgbone.models.observations import ObservationSet
from mgbone.models.priors import PRIORS

QUANTITIES = ["mg_status", "inflammation", "osteoclast_activity", "osteoblast_activity", "pth", "calcitriol",
              "calcium", "bone_mass"]
LEVEL_QUANTITIES = [q for q in QUANTITIES if q != "bone_mass"]


def slopes(coords: dict, measured_in: dict[str, str], log_loading: dict):
    """The Mg-deficit slope per (level quantity, species). A quantity whose reference outcome no row prints is seen
    only through one outcome's loading times its slopes (rat osteoblasts: osteocalcin alone; rat osteoclasts:
    pyridinoline cross-links), a curved ridge in (log loading, slope) where the slope is near 0 (m0_all: 43
    divergences, 29 of them in one chain stuck on the rat osteoblast slope and the osteocalcin loading). Its slopes
    are then sampled in that outcome's units, slope * loading ~ Normal(mean * loading, sd * loading): an exact
    change of variables of the same prior (slope ~ Normal(mean, sd) given the loading), which the data pin directly.
    `slope` stays in the posterior (a deterministic then). `measured_in`: quantity -> that outcome;
    `log_loading`: outcome -> its (free) log loading."""
    if not measured_in:
        return PRIORS["slope"].rv(dims=("level_quantity", "species"))
    size = np.ones(len(coords["level_quantity"]), dtype=object)
    for q, outcome in measured_in.items():
        size[coords["level_quantity"].index(q)] = pt.exp(log_loading[outcome])
    scale = pt.stack([pt.as_tensor_variable(v) * 1.0 for v in size])[:, None]
    mean, sd = PRIORS["slope"].parameters
    in_outcome_units = pm.Normal("slope_in_outcome_units", mu=mean * scale, sigma=sd * scale,
                                 dims=("level_quantity", "species"))
    return pm.Deterministic("slope", in_outcome_units / scale, dims=("level_quantity", "species"))


class EmpiricalModel(BoneModel):
    name = "M0"
    title = "M0 empirical"
    description = (
        "No mechanism: every biomarker shifts by a species-specific multiple of the Mg deficit, approached "
        "exponentially; bone mass falls at a rate proportional to the deficit, plus menopause and ageing in humans."
    )
    equations = [
        "level(q, t) = slope[q, species] * exp(study_effect) * deficit(diet) * (1 - exp(-k_species * t))",
        "bone(t) = -bone_loss_per_deficit * speed * exp(study_effect) * deficit * t"
        " - [human] (ageing_loss_rate * t + menopause_loss * e_target * (1 - exp(-(t - t_menopause)+ / tau_E)))",
        "slope[q, species] ~ Normal(0, 1) independently: species effects without pooling (two or three species "
        "cannot inform a pooling spread); studies share the fixed-spread study effect",
    ]
    quantities = QUANTITIES
    # slopes seen through one outcome sampled in its units (`slopes`): an exact change of variables; off only to
    # test that it is. (Single-row loadings are not sampled through their row as in M1/M2: M0's slopes are signed,
    # and where a row's prediction can change sign, log |prediction| splits t into two modes: m0_all, human
    # red-cell Mg, R-hat 1.53 for the human Mg-status slope; and every fold holding that row's study out.)
    reparameterise: bool = True
    parameters = [
        "mg_sufficiency_threshold", "mg_equilibration_rate", "slope", "bone_loss_per_deficit",
        "menopause_loss", "estrogen_decay_time", "ageing_loss_rate", "rodent_speed_mean",
        "study_effect", "study_spread", "drug_bone_gain", "drug_bone_rate", "drug_arm_bone_spread", "drug_arm_effect",
        "outcome_loading", "study_outcome_spread", "study_outcome_effect", "noise",
    ]

    def explains(self, contrasts, groups):
        """M0 gives drugs an effect on bone mass only: a drug arm's markers are left to the mechanistic models."""
        treated = groups["treatment_class"].notna().to_numpy()
        on_drug = treated[contrasts["target_group"].to_numpy(int)] | treated[contrasts["reference_group"].to_numpy(int)]
        return super().explains(contrasts, groups) & (~on_drug | (contrasts["quantity"] == "bone_mass").to_numpy())

    def build(self, obs: ObservationSet, holdout: bool = False, collapse: bool = False) -> pm.Model:
        obs = self.fits(obs)
        coords = coords_for(obs)
        # only quantities with data get slopes: unobserved (quantity, species) slopes are pure prior and
        # their pooling funnel slowed NUTS
        coords["level_quantity"] = [q for q in LEVEL_QUANTITIES if q in set(obs.contrasts["quantity"])]
        g = obs.groups
        species = coords["species"]
        g_species = g["species"].map({s: i for i, s in enumerate(species)}).to_numpy()
        human = np.array([s == "human" for s in species], float)
        q_of = {q: i for i, q in enumerate(coords["level_quantity"])}
        arms = coords["drug_arm"]
        g_arm = np.array([arms.index(a) if isinstance(a, str) and a in arms else -1 for a in g["treatment_arm"]])
        g_stop = g["treatment_stop_weeks"].to_numpy(float)
        classes = coords["drug_class"]
        arm_class = [classes.index(g.loc[g["treatment_arm"] == a, "treatment_class"].iloc[0]) for a in arms]
        with pm.Model(coords=coords) as model:
            threshold = PRIORS["mg_sufficiency_threshold"].rv()
            rate = PRIORS["mg_equilibration_rate"].rv()
            # the slopes of a quantity seen through one outcome are scaled by its loading (`slopes`): the loadings first
            measured_in = {q: o for q, o in unreferenced_quantities(obs).items()
                           if q in coords["level_quantity"] and self.reparameterise}
            log_loading = free_log_loadings(coords, anchored=[])
            slope = slopes(coords, measured_in, log_loading)
            bone_loss = PRIORS["bone_loss_per_deficit"].rv()
            menopause_loss = PRIORS["menopause_loss"].rv()
            tau = PRIORS["estrogen_decay_time"].rv()
            ageing = PRIORS["ageing_loss_rate"].rv()
            speed = species_speed(species)
            speed = pm.Deterministic("species_speed", speed, dims="species")
            noise = PRIORS["noise"].rv(dims="outcome")
            deficit = population_deficit(g, threshold, pt) * pt.exp(study_effects(coords, obs, centre=not holdout))
            if arms:
                class_gain = PRIORS["drug_bone_gain"].rv(dims="drug_class")
                drug_rate = PRIORS["drug_bone_rate"].rv()
                deviation = drug_arm_deviations(coords, obs, "drug_arm_bone_spread", relative=False, centre=not holdout)
                arm_gain = pm.Deterministic("drug_arm_bone_gain", class_gain[arm_class] + deviation, dims="drug_arm")

            def drug(groups, t):
                """A saturating bone gain while on treatment, wearing off at the same rate after stopping."""
                if not arms:
                    return 0.0
                on = g_arm[groups] >= 0
                stop = np.minimum(t, g_stop[groups])
                rise = 1 - pt.exp(-drug_rate * stop)
                after = pt.exp(-drug_rate * np.maximum(t - g_stop[groups], 0.0))
                return on * arm_gain[np.maximum(g_arm[groups], 0)] * rise * after

            def value(groups, t, quantities):
                q_index = np.array([q_of.get(q, 0) for q in quantities])
                is_bone = (quantities == "bone_mass").astype(float)
                sp = g_species[groups]
                level = slope[q_index, sp] * deficit[groups] * (1 - pt.exp(-rate * speed[sp] * t))
                shift = g["menopause_at_weeks"].to_numpy()[groups]
                since = np.maximum(t - shift, 0.0)
                e_target = g["estrogen_deficit_target"].to_numpy()[groups] * (1 - g["estrogen_deficit_start"].to_numpy()[groups])
                bone = -bone_loss * speed[sp] * deficit[groups] * t - human[sp] * (
                    ageing * t + menopause_loss * e_target * (1 - pt.exp(-since / tau))) + drug(groups, t)
                return is_bone * bone + (1 - is_bone) * level

            def contrast(table):
                if not len(table):
                    return None
                q = table["quantity"].to_numpy()
                return (value(table["target_group"].to_numpy(), table["time_weeks"].to_numpy(), q)
                        - value(table["reference_group"].to_numpy(), table["reference_time_weeks"].to_numpy(), q))

            loading = signed_loadings(coords, log_loading, anchors={})
            observe(contrast(obs.contrasts), contrast(obs.directions), obs, coords, noise, holdout, collapse,
                    loading=loading)
        return model

    def trajectories(self, posterior, scenario, times_weeks, rng, overrides=None):
        t = np.asarray(times_weeks, float)[None, :]
        sp = list(posterior["species"].values)
        n = flat_draws(posterior, "mg_sufficiency_threshold").shape[0]
        if scenario.species in sp:
            i = sp.index(scenario.species)
            slope = flat_draws(posterior, "slope")[:, :, i]
            speed = flat_draws(posterior, "species_speed")[:, i]
        else:
            slope = PRIORS["slope"].draw(rng, (n, posterior.sizes["level_quantity"]))
            speed = np.ones(n)
        if "study_spread" in posterior and scenario.species in list(posterior["study_spread"]["species"].values):
            spread = flat_draws(posterior, "study_spread")[:, list(posterior["study_spread"]["species"].values).index(
                scenario.species)]
        else:
            spread = PRIORS["study_spread"].draw(rng, n)
        study = spread * PRIORS["study_effect"].draw(rng, n)
        deficit = (mg_deficit(np.asarray(scenario.mg_fraction, float), flat_draws(posterior, "mg_sufficiency_threshold"))
                   * np.exp(study))[:, None]
        rate = flat_draws(posterior, "mg_equilibration_rate")[:, None] * speed[:, None]
        fitted = list(posterior["level_quantity"].values)
        out = {q: slope[:, k, None] * deficit * (1 - np.exp(-rate * t)) for k, q in enumerate(fitted)}
        human = 1.0 if scenario.species == "human" else 0.0
        since = np.maximum(t - scenario.menopause_at_weeks, 0.0)
        e_target = scenario.estrogen_deficit_target * (1 - scenario.estrogen_deficit_start)
        out["bone_mass"] = -flat_draws(posterior, "bone_loss_per_deficit")[:, None] * speed[:, None] * deficit * t - human * (
            flat_draws(posterior, "ageing_loss_rate")[:, None] * t
            + flat_draws(posterior, "menopause_loss")[:, None] * e_target
            * (1 - np.exp(-since / flat_draws(posterior, "estrogen_decay_time")[:, None])))
        if scenario.treatment_class:
            out["bone_mass"] = out["bone_mass"] + self._drug_bone(posterior, scenario, t[0], n, rng)
        return out

    def _drug_bone(self, posterior, scenario, times, n, rng):
        arms = list(posterior["drug_arm"].values) if "drug_arm" in posterior.coords else []
        classes = list(posterior["drug_class"].values) if "drug_class" in posterior.coords else []
        if scenario.treatment_arm in arms:
            gain = flat_draws(posterior, "drug_arm_bone_gain")[:, arms.index(scenario.treatment_arm)]
        elif scenario.treatment_class in classes:
            gain = (flat_draws(posterior, "drug_bone_gain")[:, classes.index(scenario.treatment_class)]
                    + flat_draws(posterior, "drug_arm_bone_spread") * rng.standard_normal(n))
        else:
            gain = PRIORS["drug_bone_gain"].draw(rng, n)
        rate = (flat_draws(posterior, "drug_bone_rate") if "drug_bone_rate" in posterior
                else PRIORS["drug_bone_rate"].draw(rng, n))[:, None]
        on = np.maximum(times - scenario.treatment_start_weeks, 0.0)[None, :]
        stop = scenario.treatment_stop_weeks - scenario.treatment_start_weeks
        rise = 1 - np.exp(-rate * np.minimum(on, stop))
        after = np.exp(-rate * np.maximum(on - stop, 0.0))
        return gain[:, None] * rise * after * (times >= scenario.treatment_start_weeks)[None, :]
