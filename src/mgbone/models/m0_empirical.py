"""M0: empirical hierarchical model, the baseline any mechanism must beat.

Each quantity moves in proportion to the Mg deficit with a species-specific slope and approaches its new level at a species-specific rate; bone mass instead declines
at a rate proportional to the deficit, on top of a menopausal step (exponential approach after the
final menstrual period) and a linear ageing drift in humans. Studies scale the deficit's effect.
"""

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from mgbone.models.base import BoneModel, coords_for, flat_draws, study_index
from mgbone.models.mechanistic import mg_deficit, species_speed
from mgbone.models.observations import ObservationSet
from mgbone.models.priors import PRIORS

QUANTITIES = ["mg_status", "inflammation", "osteoclast_activity", "osteoblast_activity", "pth", "calcitriol",
              "calcium", "bone_mass"]
LEVEL_QUANTITIES = [q for q in QUANTITIES if q != "bone_mass"]


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
    parameters = [
        "mg_sufficiency_threshold", "mg_equilibration_rate", "slope", "bone_loss_per_deficit",
        "menopause_loss", "estrogen_decay_time", "ageing_loss_rate", "rodent_speed_mean", "rodent_speed_spread",
        "study_effect", "noise",
    ]

    def build(self, obs: ObservationSet) -> pm.Model:
        obs = self.fits(obs)
        coords = coords_for(obs)
        # only quantities with data get slopes: unobserved (quantity, species) slopes are pure prior and
        # their pooling funnel slowed NUTS
        coords["level_quantity"] = [q for q in LEVEL_QUANTITIES if q in set(obs.contrasts["quantity"])]
        c, g = obs.contrasts, obs.groups
        species = coords["species"]
        g_species = g["species"].map({s: i for i, s in enumerate(species)}).to_numpy()
        g_study, g_has_effect = study_index(g, coords["study"])
        human = np.array([s == "human" for s in species], float)
        q_index = c["quantity"].map({q: i for i, q in enumerate(coords["level_quantity"])}).fillna(0).astype(int).to_numpy()
        is_bone = (c["quantity"] == "bone_mass").to_numpy(float)
        outcome_idx = c["outcome"].map({o: i for i, o in enumerate(coords["outcome"])}).to_numpy()
        se = np.nan_to_num(c["se"].to_numpy(float), nan=0.0)
        with pm.Model(coords=coords) as model:
            threshold = PRIORS["mg_sufficiency_threshold"].rv()
            rate = PRIORS["mg_equilibration_rate"].rv()
            slope = PRIORS["slope"].rv(dims=("level_quantity", "species"))
            bone_loss = PRIORS["bone_loss_per_deficit"].rv()
            menopause_loss = PRIORS["menopause_loss"].rv()
            tau = PRIORS["estrogen_decay_time"].rv()
            ageing = PRIORS["ageing_loss_rate"].rv()
            speed = species_speed(species)
            speed = pm.Deterministic("species_speed", speed, dims="species")
            study_effect = PRIORS["study_effect"].rv(dims="study") if coords["study"] else pt.zeros(1)
            noise = PRIORS["noise"].rv(dims="outcome")
            deficit = mg_deficit(g["mg_fraction"].to_numpy(), threshold, pt) * pt.exp(study_effect[g_study] * g_has_effect)

            def value(groups, t):
                sp = g_species[groups]
                level = slope[q_index, sp] * deficit[groups] * (1 - pt.exp(-rate * speed[sp] * t))
                shift = g["menopause_at_weeks"].to_numpy()[groups]
                since = np.maximum(t - shift, 0.0)
                e_target = g["estrogen_deficit_target"].to_numpy()[groups] * (1 - g["estrogen_deficit_start"].to_numpy()[groups])
                bone = -bone_loss * speed[sp] * deficit[groups] * t - human[sp] * (
                    ageing * t + menopause_loss * e_target * (1 - pt.exp(-since / tau)))
                return is_bone * bone + (1 - is_bone) * level

            mu = pm.Deterministic(
                "mu",
                value(c["target_group"].to_numpy(), c["time_weeks"].to_numpy())
                - value(c["reference_group"].to_numpy(), c["reference_time_weeks"].to_numpy()),
                dims="contrast",
            )
            y = pm.Data("y_observed", c["y"].to_numpy(float), dims="contrast")
            pm.Normal("y", mu=mu, sigma=pt.sqrt(se**2 + noise[outcome_idx] ** 2), observed=y, dims="contrast")
        return model

    def trajectories(self, posterior, scenario, times_weeks, rng):
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
        study = PRIORS["study_effect"].draw(rng, n)
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
        return out
