"""The interface every model shares: build a PyMC model from observations, predict scenarios."""

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr

from mgbone.models.observations import ObservationSet
from mgbone.models.priors import PRIORS, prior_table


@dataclass(frozen=True)
class Scenario:
    """A population to predict for: species, Mg exposure and estrogen status over time (weeks)."""

    name: str
    species: str
    mg_fraction: float  # Mg exposure as a fraction of the species requirement
    estrogen_deficit_start: float = 0.0  # 0 premenopausal / intact, 1 long postmenopausal
    estrogen_deficit_target: float = 0.0  # 1 from time 0 for a menopause or ovariectomy
    menopause_at_weeks: float = 0.0  # estrogen loss starts this long after time 0
    treatment_class: str | None = None  # a drug or hormone (mgbone.models.interventions.MECHANISMS key)
    treatment_arm: str | None = None  # the fitted arm it is (agent and dose), e.g. "alendronate 10 mg/day"
    treatment_start_weeks: float = 0.0
    treatment_stop_weeks: float = float("inf")


class BoneModel(ABC):
    name: str
    title: str
    description: str
    equations: list[str]
    parameters: list[str]  # prior names (PRIORS keys), in report order
    quantities: list[str]  # model quantities it can predict

    def prior_table(self) -> list[dict]:
        return prior_table(self.parameters)

    def explains(self, contrasts, groups) -> "np.ndarray":
        """Which contrasts this model can express: its quantities (models narrow it further, e.g. M0 and drugs)."""
        return contrasts["quantity"].isin(self.quantities).to_numpy()

    def fits(self, obs: ObservationSet) -> ObservationSet:
        """The part of the observations this model can explain (others are reported, not fitted)."""
        contrasts = obs.contrasts[self.explains(obs.contrasts, obs.groups)].reset_index(drop=True)
        directions = obs.directions
        if len(directions):
            directions = directions[self.explains(directions, obs.groups)].reset_index(drop=True)
        used = sorted(set(contrasts["target_group"]) | set(contrasts["reference_group"])
                      | set(directions.get("target_group", [])) | set(directions.get("reference_group", [])))
        groups = obs.groups[obs.groups["group_index"].isin(used)].reset_index(drop=True)
        renumber = dict(zip(groups["group_index"], range(len(groups)), strict=True))
        groups["group_index"] = np.arange(len(groups))
        for table in (contrasts, directions):
            if len(table):
                table["target_group"] = table["target_group"].map(renumber)
                table["reference_group"] = table["reference_group"].map(renumber)
        return ObservationSet(groups=groups, contrasts=contrasts, unfitted=obs.unfitted, directions=directions)

    @abstractmethod
    def build(self, obs: ObservationSet, holdout: bool = False, collapse: bool = False) -> pm.Model:
        """PyMC model with dims 'contrast', 'species', 'study', 'outcome' and observed 'y' (with `holdout`, the
        masks that leave observations out: `likelihood.HOLDOUT_MASKS`; with `collapse`, the model to sample, whose
        point-only study deviations are integrated out: `likelihood.complete_study_deviations` restores them)."""

    # routes by which Mg reaches bone: name -> parameters whose zeroing switches the route off (mechanistic models)
    routes: dict[str, tuple[str, ...]] = {}

    @abstractmethod
    def trajectories(self, posterior: xr.Dataset, scenario: Scenario, times_weeks: np.ndarray,
                     rng: np.random.Generator, overrides: dict | None = None) -> dict[str, np.ndarray]:
        """Log-scale deviation of each quantity from the healthy steady state, (draws, times)."""


def mg_effect_studies(groups) -> list[str]:
    """Studies whose Mg-deficit effect can deviate from their species': those with a known Mg exposure, in a
    species with at least two such studies (with one, the deviation and the species effect are one number).
    Studies that printed only directions keep theirs: predicting them at the species' effect was tried (M0 on
    every study: R-hat 1.024 for the rat osteoblast slope, against 1.010 with their deviations)."""
    known = groups[~groups["mg_fraction_assumed"]]
    per_species = known.groupby("species")["study_id"].nunique()
    return sorted(known[known["species"].map(per_species) >= 2]["study_id"].unique())


def coords_for(obs: ObservationSet) -> dict:
    from mgbone.models.interventions import treatment_coords
    from mgbone.models.likelihood import outcome_coords

    return {
        "contrast": np.arange(len(obs.contrasts)),
        "direction": np.arange(len(obs.directions)),
        **outcome_coords(obs),
        "study": mg_effect_studies(obs.groups),
        "species": sorted(obs.groups["species"].unique()),
        **treatment_coords(obs.groups),
    }


def study_effects(coords: dict, obs: ObservationSet, centre: bool = True):
    """Per group of `obs`: its study's deviation of the Mg effect (log) around 0, with a spread learned per species
    (0 for groups whose study has no deviation of its own); with `centre`, centred for the well-measured studies,
    non-centred for the others (`group_deviations`). Leave-one-study-out builds pass centre=False: a held-out study
    is informed by the hierarchy alone, where a centred deviation would be a funnel."""
    if not coords["study"]:
        return 0.0
    groups = obs.groups
    g_study, g_has_effect = study_index(groups, coords["study"])
    study_species = groups.groupby("study_id")["species"].first()
    species_index = np.array([coords["species"].index(study_species[s]) for s in coords["study"]])
    spread = PRIORS["study_spread"].rv(dims="species")
    well = well_measured(obs, obs.contrasts["study_id"], coords["study"], PRIORS["study_spread"].parameters[0]) if centre else []
    centred = np.isin(coords["study"], well)
    effect = group_deviations("study_effect", "study_deviation", spread[species_index], centred, "study")
    return effect[g_study] * g_has_effect


def group_deviations(standardised: str, deviation: str | None, scale, centred: np.ndarray, dims: str):
    """Deviations `scale * z` of a group of units (studies, drug arms) with z ~ the `standardised` prior (standard
    normal), stored as Deterministic `deviation` (None: not stored, where the caller stores what it derives). Non-centred (z sampled) where the data inform a unit weakly, centred
    (the deviation itself sampled, from Normal(0, scale)) where its own rows pin it: a non-centred unit that its
    data pin makes z and the scale a funnel of its own (M0 on every study, same seed: all non-centred, 72
    divergences, R-hat 1.026 and ESS 319 for the depletion study Fatemi1991; six of eight studies centred, 22,
    1.010 and 454). The standardised z is kept as a Deterministic of its prior's name either way: it is what a
    model built on other rows (the study-curve grid) takes over (`holdout.transfer_posterior`)."""
    if not centred.any():
        value = scale * PRIORS[standardised].rv(dims=dims)
    else:
        exponent = centred.astype(float)  # 1 centred, 0 non-centred: sampled ~ Normal(0, scale^exponent)
        sampled = pm.Normal(f"{standardised}_sampled", mu=0.0, sigma=scale**exponent, dims=dims)
        value = sampled * scale ** (1.0 - exponent)
        pm.Deterministic(standardised, value / scale, dims=dims)
    return pm.Deterministic(deviation, value, dims=dims) if deviation else value


def well_measured(obs: ObservationSet, unit_of_row, units: list[str], typical_spread: float,
                  relative: bool = True) -> list[str]:
    """Of `units` (studies, drug arms; `unit_of_row` names each point contrast's), those that their own point
    contrasts measure more precisely than the prior spread between units (`typical_spread`, the spread prior's
    median): the deviation's standard error from the unit's rows alone, 1 / sqrt(sum of information), is below
    it. A row's information is (y / sigma)^2 for a relative deviation (a log-scale factor on an effect of size
    y) and 1 / sigma^2 for an additive one, with sigma = sqrt(se^2 + noise^2) and the noise at its prior median.
    Their deviations are sampled centred (`group_deviations`)."""
    c = obs.contrasts
    noise = PRIORS["noise"].parameters[0]
    sigma = np.sqrt(np.nan_to_num(c["se"].to_numpy(float), nan=0.0) ** 2 + noise**2)
    information = (c["y"].to_numpy(float) / sigma) ** 2 if relative else 1.0 / sigma**2
    per_unit = pd.Series(information).groupby(np.asarray(unit_of_row, dtype=object)).sum()
    pinned = set(per_unit.index[per_unit > typical_spread**-2])  # standard error 1 / sqrt(information) < spread
    return [u for u in units if u in pinned]


def study_index(groups, studies: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per group: index into `studies` (0 where absent) and a 0/1 mask of having a study effect."""
    lookup = {s: i for i, s in enumerate(studies)}
    index = np.array([lookup.get(s, 0) for s in groups["study_id"]])
    mask = np.array([float(s in lookup) for s in groups["study_id"]])
    return index, mask


def flat_draws(posterior: xr.Dataset, name: str) -> np.ndarray:
    """Stack chain and draw into one leading axis."""
    arr = posterior[name]
    return arr.stack(sample=("chain", "draw")).transpose("sample", ...).to_numpy()
