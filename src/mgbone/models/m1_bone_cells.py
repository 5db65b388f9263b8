"""M1: osteoclast and osteoblast activity and bone mass, driven by menopause, ageing and Mg.

A log-linearised Komarova (2003) two-cell system with OpenBoneMin-style drivers: formation follows
resorption (coupling), so a pure osteoclast drive costs bone only transiently (the remodelling
transient), while anything that lowers formation relative to resorption costs bone for as long
as it lasts. Mg acts directly (NO damps osteoclasts, Mg supports osteoblasts) and through
inflammation (TNF-alpha, IL-1, substance P drive osteoclasts). Estrogen loss follows
Jorg 2022's exponential decay after the final menstrual period.
"""

from mgbone.models import interventions
from mgbone.models.mechanistic import LinearMechanisticModel


class BoneCellsModel(LinearMechanisticModel):
    name = "M1"
    title = "M1 bone cells"
    description = (
        "Mg status relaxes to a diet-set target; Mg deficit raises inflammation and osteoclast activity and lowers "
        "osteoblast activity; osteoblasts follow osteoclasts (coupling); bone mass integrates formation minus "
        "resorption, with estrogen loss after menopause and a slow ageing drift."
    )
    equations = [
        "d mg/dt = k_mg * (mg_target - mg),  mg_target = -elasticity_species * exp(study_effect) * deficit(diet)",
        "d inflammation/dt = k_inf * (-inflammation_gain * mg - inflammation)",
        "d e/dt = (e_target - e) / estrogen_decay_time",
        "d oc/dt = k_oc * (estrogen_osteoclast_gain * e - no_osteoclast_gain * mg"
        " + inflammation_osteoclast_gain * inflammation - oc)",
        "d ob/dt = k_ob * (oc + mg_osteoblast_gain * mg - estrogen_formation_deficit * e - ob)",
        "d bone/dt = k_bone * (ob - oc) - ageing_loss_rate [humans]",
        "all states are logs relative to the healthy steady state; rodent rates = human rates * species speed",
    ]
    states = ("mg_target", "estrogen_target", "ageing", "mg_status", "inflammation", "estrogen_deficit",
              "osteoclast_activity", "osteoblast_activity", "bone_mass")
    quantities = ["mg_status", "inflammation", "osteoclast_activity", "osteoblast_activity", "bone_mass"]
    # species, studies and measurement: listed last in the report
    hierarchy = ["rodent_speed_mean", "study_spread", "study_effect", "outcome_loading",
                 "study_outcome_spread", "study_outcome_effect", "noise"]
    parameters = [
        "mg_elasticity", "mg_sufficiency_threshold", "mg_equilibration_rate",
        "inflammation_rate", "inflammation_gain", "osteoclast_rate", "osteoblast_rate", "bone_turnover_rate",
        "no_osteoclast_gain", "inflammation_osteoclast_gain", "mg_osteoblast_gain", "estrogen_osteoclast_gain",
        "estrogen_formation_deficit", "estrogen_decay_time", "ageing_loss_rate", *interventions.PARAMETERS, *hierarchy,
    ]

    routes = {
        "nitric_oxide_osteoclasts": ("no_osteoclast_gain",),
        "osteoblast_support": ("mg_osteoblast_gain",),
        "inflammation": ("inflammation_gain",),
    }

    def osteoclast_drive(self, p):
        return [("estrogen_deficit", p["estrogen_osteoclast_gain"]), ("mg_status", -p["no_osteoclast_gain"]),
                ("inflammation", p["inflammation_osteoclast_gain"])]

    def osteoblast_drive(self, p):
        return [("osteoclast_activity", 1.0), ("mg_status", p["mg_osteoblast_gain"]),
                ("estrogen_deficit", -p["estrogen_formation_deficit"])]

    def terms(self, p, human):
        k_mg, k_inf = p["mg_equilibration_rate"], p["inflammation_rate"]
        k_oc, k_ob, k_bone = p["osteoclast_rate"], p["osteoblast_rate"], p["bone_turnover_rate"]
        estrogen_rate = 1.0 / p["estrogen_decay_time"]
        terms = [
            ("mg_status", "mg_target", k_mg), ("mg_status", "mg_status", -k_mg),
            ("inflammation", "mg_status", -k_inf * p["inflammation_gain"]), ("inflammation", "inflammation", -k_inf),
            ("estrogen_deficit", "estrogen_target", estrogen_rate),
            ("estrogen_deficit", "estrogen_deficit", -estrogen_rate),
            ("osteoclast_activity", "osteoclast_activity", -k_oc),
            ("osteoblast_activity", "osteoblast_activity", -k_ob),
            ("bone_mass", "osteoblast_activity", k_bone), ("bone_mass", "osteoclast_activity", -k_bone),
            ("bone_mass", "ageing", -p["ageing_loss_rate"] * human),
        ]
        terms += [("osteoclast_activity", src, k_oc * gain) for src, gain in self.osteoclast_drive(p)]
        terms += [("osteoblast_activity", src, k_ob * gain) for src, gain in self.osteoblast_drive(p)]
        return terms
