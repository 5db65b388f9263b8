"""Drugs and hormones as inputs of the mechanistic models (M1, M2).

Each class acts on one cell-level lever through a drug level that follows the treatment at the class's
onset rate (and, for bisphosphonates, a bone-bound share that builds up and wears off over years):

- osteoclast (bisphosphonates, denosumab, calcitonin, calcium +- vitamin D): osteoclast drive -= potency * level
- estrogen (estrogen +- progestin, raloxifene): the estrogen deficit's drives are removed by potency * level
- osteoblast (teriparatide): osteoblast drive += potency * level, osteoclast drive += gain * potency * level

The models are linear, so a treatment's effect adds to the untreated course: it is the response of a small
system (treatment input, levels, osteoclasts, osteoblasts, bone) sharing the bone-cell rates of the main one,
x(t) = potency * (Phi(t)[:, input] - [t > stop] Phi(t - stop)[:, input]) (stopping = a negative step). Its
6 x 6 exponential is far cheaper than enlarging the main system by every class.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt

from mgbone.models.base import group_deviations, well_measured
from mgbone.models.linear_ode import assemble, expm, expm_numpy
from mgbone.models.priors import PRIORS

STATES = ("treatment_input", "level_fast", "level_bound", "osteoclast_activity", "osteoblast_activity", "bone_mass")
AFFECTED = ("osteoclast_activity", "osteoblast_activity", "bone_mass")


@dataclass(frozen=True)
class Mechanism:
    lever: str  # "osteoclast", "estrogen" or "osteoblast"
    bound_share: bool = False  # a bone-bound share with slow offset (bisphosphonates)


# vocabulary.yaml `interventions` gives each agent its class; the class decides the mechanism.
MECHANISMS = {
    "bisphosphonate": Mechanism("osteoclast", bound_share=True),
    "rank_ligand_antibody": Mechanism("osteoclast"),
    "calcitonin": Mechanism("osteoclast"),
    "mineral": Mechanism("osteoclast"),
    "estrogen": Mechanism("estrogen"),
    "estrogen_receptor_modulator": Mechanism("estrogen"),
    "anabolic": Mechanism("osteoblast"),
}
POTENCY_PRIOR = {"osteoclast": "osteoclast_drug_potency", "estrogen": "estrogen_drug_potency",
                 "osteoblast": "anabolic_drug_potency"}
PARAMETERS = ["osteoclast_drug_potency", "estrogen_drug_potency", "anabolic_drug_potency", "anabolic_resorption_gain",
              "drug_onset_rate", "bisphosphonate_residual_share", "bisphosphonate_offset_rate", "drug_arm_spread",
              "drug_arm_effect"]


def treatment_coords(groups) -> dict:
    arms = groups.dropna(subset=["treatment_arm"])
    arms = arms[arms["treatment_class"].isin(list(MECHANISMS))]
    classes = sorted(arms["treatment_class"].unique())
    return {"drug_class": classes, "drug_arm": sorted(arms["treatment_arm"].unique())}


def arm_classes(groups) -> dict[str, str]:
    arms = groups.dropna(subset=["treatment_arm"])
    return dict(zip(arms["treatment_arm"], arms["treatment_class"], strict=True))


def gains(mechanism: Mechanism, p: dict, xp=np):
    """(osteoclast gain, osteoblast gain) of one unit of drug level."""
    if mechanism.lever == "osteoclast":
        return -1.0, 0.0
    if mechanism.lever == "estrogen":  # removing part of the deficit reverses its drives
        return -p["estrogen_osteoclast_gain"], p["estrogen_formation_deficit"]
    return p["anabolic_resorption_gain"], 1.0


def terms(mechanism: Mechanism, p: dict, rates: dict, onset, residual, offset) -> list:
    """Terms (row, column, coefficient) of the treatment system; `rates` are the species-scaled cell rates."""
    k_oc, k_ob, k_bone = rates["osteoclast_rate"], rates["osteoblast_rate"], rates["bone_turnover_rate"]
    g_oc, g_ob = gains(mechanism, p)
    share = residual if mechanism.bound_share else 0.0
    out = [
        ("level_fast", "treatment_input", onset), ("level_fast", "level_fast", -onset),
        ("osteoclast_activity", "osteoclast_activity", -k_oc),
        ("osteoblast_activity", "osteoblast_activity", -k_ob), ("osteoblast_activity", "osteoclast_activity", k_ob),
        ("bone_mass", "osteoblast_activity", k_bone), ("bone_mass", "osteoclast_activity", -k_bone),
        ("osteoclast_activity", "level_fast", k_oc * g_oc * (1 - share)),
        ("osteoblast_activity", "level_fast", k_ob * g_ob * (1 - share)),
    ]
    if mechanism.bound_share:
        out += [("level_bound", "treatment_input", offset), ("level_bound", "level_bound", -offset),
                ("osteoclast_activity", "level_bound", k_oc * g_oc * share),
                ("osteoblast_activity", "level_bound", k_ob * g_ob * share)]
    return out


def basis(term_list) -> np.ndarray:
    index = {s: i for i, s in enumerate(STATES)}
    out = np.zeros((len(term_list), len(STATES), len(STATES)))
    for k, (row, col, _) in enumerate(term_list):
        out[k, index[row], index[col]] = 1.0
    return out


def contrast_arms(obs) -> np.ndarray:
    """Per point contrast: the drug arm it measures (its target's, else its reference's; None off treatment)."""
    arm = obs.groups["treatment_arm"].to_numpy(object)
    target, reference = arm[obs.contrasts["target_group"].to_numpy(int)], arm[obs.contrasts["reference_group"].to_numpy(int)]
    return np.where(pd.notna(target), target, reference)


def drug_arm_deviations(coords: dict, obs, spread_prior: str, relative: bool = True, centre: bool = True):
    """Each arm's deviation from its class, pooled with a learned spread (`spread_prior`; `relative`: a log-scale
    factor on the class potency, else additive): centred for arms a trial pins, non-centred for the others
    (`base.group_deviations`; none with centre=False, as `base.study_effects`). Not stored: callers store the arm's
    potency or gain."""
    arms = coords["drug_arm"]
    spread = PRIORS[spread_prior].rv()
    well = well_measured(obs, contrast_arms(obs), arms, PRIORS[spread_prior].parameters[0], relative) if centre else []
    return group_deviations("drug_arm_effect", None, spread, np.isin(arms, well), "drug_arm")


def drug_parameters(coords: dict, obs, centre: bool = True) -> dict:
    """PyMC variables: potency per class (by its lever's prior), arms pooled around it, onset per class."""
    if not coords["drug_arm"]:
        return {}
    classes, arms = coords["drug_class"], coords["drug_arm"]
    levers = sorted({MECHANISMS[c].lever for c in classes})
    p = {}
    potency_class = {}
    for lever in levers:
        members = [c for c in classes if MECHANISMS[c].lever == lever]
        name = POTENCY_PRIOR[lever]
        prior = PRIORS[name]
        coord = f"{lever}_drug_class"
        pm.Model.get_context().add_coord(coord, members)
        rv = prior.rv(dims=coord)
        for i, c in enumerate(members):
            potency_class[c] = rv[i]
    p["onset"] = PRIORS["drug_onset_rate"].rv(dims="drug_class")
    if "bisphosphonate" in classes:
        p["residual"] = PRIORS["bisphosphonate_residual_share"].rv()
        p["offset"] = PRIORS["bisphosphonate_offset_rate"].rv()
    if "anabolic" in classes:
        p["anabolic_resorption_gain"] = PRIORS["anabolic_resorption_gain"].rv()
    of_arm = arm_classes(obs.groups)
    deviation = drug_arm_deviations(coords, obs, "drug_arm_spread", centre=centre)
    class_potency = pt.stack([potency_class[of_arm[a]] for a in arms])
    p["arm_potency"] = pm.Deterministic("drug_arm_potency", class_potency * pt.exp(deviation), dims="drug_arm")
    return p


class _Pairs:
    """Unique (species, time) keys: one exponential each, shared by every contrast that needs it."""

    def __init__(self):
        self.keys, self._index = [], {}

    def index(self, species, t) -> int:
        key = (int(species), float(max(t, 0.0)))
        if key not in self._index:
            self._index[key] = len(self.keys)
            self.keys.append(key)
        return self._index[key]


def treatment_effects(model_p: dict, drug_p: dict, rates_of, coords: dict, groups, sides: list[tuple], xp=pt):
    """Per contrast side (groups, times, quantity rows): the treatment's contribution to each quantity.

    `sides` is a list of (group indices, times in weeks, quantity names) for the contrasts' target and reference;
    returns one tensor per side. `rates_of(species index)` gives the species-scaled cell rates."""
    outputs = [0.0 for _ in sides]
    if not drug_p:
        return outputs
    arms = coords["drug_arm"]
    arm_index = {a: i for i, a in enumerate(arms)}
    g_class = groups["treatment_class"].to_numpy(object)
    g_arm = groups["treatment_arm"].to_numpy(object)
    g_start = groups["treatment_start_weeks"].to_numpy(float)
    g_stop = groups["treatment_stop_weeks"].to_numpy(float)
    species_of_group = groups["species_index"].to_numpy(int)
    state_row = {s: i for i, s in enumerate(STATES)}
    merged = {**model_p, **drug_p}
    for ci, cls in enumerate(coords["drug_class"]):
        mechanism = MECHANISMS[cls]
        pairs = _Pairs()
        pair = pairs.index

        plans = []
        for groups_idx, times, quantities in sides:
            on = np.array([g_class[g] == cls for g in groups_idx])
            rows = np.array([state_row.get(q, 0) for q in quantities])
            affected = np.array([q in AFFECTED for q in quantities], float) * on
            # started at g_start (may precede the time origin): the response runs from then
            started = np.array([t > g_start[g] for g, t in zip(groups_idx, times, strict=True)], float) * on
            affected = affected * started
            # exponentials only where this class acts (index 0, masked out, elsewhere)
            start = np.array([pair(species_of_group[g], t - g_start[g]) if a else 0
                              for g, t, a in zip(groups_idx, times, affected > 0, strict=True)])
            stopped = np.array([t > g_stop[g] for g, t in zip(groups_idx, times, strict=True)], float) * affected
            after = np.array([pair(species_of_group[g], t - g_stop[g]) if s else 0
                              for g, t, s in zip(groups_idx, times, stopped > 0, strict=True)])
            arm = np.array([arm_index.get(g_arm[g], 0) for g in groups_idx])
            plans.append((rows, affected, start, stopped, after, arm))
        if not pairs.keys:
            continue  # this class acts on no fitted quantity (e.g. only markers M0 leaves out)
        pairs = pairs.keys
        species_present = sorted({k[0] for k in pairs})
        systems = []
        for sp in species_present:
            rates = rates_of(sp)
            tl = terms(mechanism, merged, rates, drug_p["onset"][ci], drug_p.get("residual", 0.0),
                       drug_p.get("offset", 0.0))
            coefficients = pt.stack([pt.as_tensor_variable(coef) * 1.0 for _, _, coef in tl])
            systems.append(assemble(coefficients[None, :], basis(tl))[0])
        system = pt.stack(systems)  # (species present, 6, 6)
        sp_pos = {sp: i for i, sp in enumerate(species_present)}
        pair_system = np.array([sp_pos[k[0]] for k in pairs])
        pair_time = np.array([k[1] for k in pairs])
        column = expm(system[pair_system] * pair_time[:, None, None])[:, :, 0]  # response to a unit input
        for k, (rows, affected, start, stopped, after, arm) in enumerate(plans):
            effect = column[start, rows] - stopped * column[after, rows]
            outputs[k] = outputs[k] + drug_p["arm_potency"][arm] * affected * effect
    return outputs


def treatment_trajectory(mechanism: Mechanism, p: dict, rates: dict, onset, residual, offset, potency,
                         times: np.ndarray, stop_weeks: float) -> dict[str, np.ndarray]:
    """numpy: the treatment's contribution to the bone-cell quantities over `times`, per draw (draws, times)."""
    tl = terms(mechanism, p, rates, onset, residual, offset)
    n = np.shape(potency)[0]
    coefficients = np.stack([np.broadcast_to(np.asarray(c, float), (n,)) for _, _, c in tl], axis=-1)
    system = assemble(coefficients, basis(tl))  # (draws, 6, 6)
    column = np.stack([expm_numpy(system * t)[:, :, 0] for t in times], axis=1)  # (draws, times, 6)
    after = np.stack([expm_numpy(system * max(t - stop_weeks, 0.0))[:, :, 0] if t > stop_weeks else np.zeros((n, 6))
                      for t in times], axis=1) if np.isfinite(stop_weeks) else 0.0
    response = potency[:, None, None] * (column - after)
    return {q: response[:, :, STATES.index(q)] for q in AFFECTED}
