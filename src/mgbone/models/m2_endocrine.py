"""M2: M1 plus the mineral-endocrine route Mg -> PTH -> 1-alpha-hydroxylase -> calcitriol -> calcium -> bone.

Log-linearised from Dutta & Layton 2024 (Mg needed for PTH release and as 1-alpha-hydroxylase
cofactor) and Peterson & Riggs 2010 / OpenBoneMin (PTH drives resorption, calcitriol drives Ca
absorption, Ca feeds back on PTH). Linearisation keeps the direction of each link but not the
bell shape of PTH release, so very severe and mild deficiency share one slope per link; the
Ca response to Mg has its own sign per species (rats hypercalcaemic, humans hypocalcaemic).
"""

from mgbone.models.m1_bone_cells import BoneCellsModel
from mgbone.models.priors import FIXED_RATES_PER_WEEK


class EndocrineModel(BoneCellsModel):
    name = "M2"
    title = "M2 bone cells + mineral endocrinology"
    description = (
        "M1 plus PTH, calcitriol and serum calcium: Mg deficit lowers PTH secretion and 1-alpha-hydroxylase activity, "
        "so calcitriol and Ca absorption fall; PTH drives resorption and calcium supports formation."
    )
    equations = BoneCellsModel.equations[:-1] + [
        "d pth/dt = k_pth * (pth_mg_gain * mg - pth_calcium_feedback * ca - pth)",
        "d calcitriol/dt = k_d * (calcitriol_pth_gain * pth + calcitriol_mg_gain * mg - calcitriol)",
        "d ca/dt = k_ca * (calcium_calcitriol_gain * calcitriol + calcium_mg_gain_species * mg - ca)",
        "osteoclast drive += pth_osteoclast_gain * pth;  osteoblast drive += calcium_osteoblast_gain * ca",
        "k_pth, k_d, k_ca fixed at 20/week (minutes-to-hours biology, quasi-steady on a weeks axis)",
        BoneCellsModel.equations[-1],
    ]
    states = BoneCellsModel.states + ("pth", "calcitriol", "calcium")
    quantities = BoneCellsModel.quantities + ["pth", "calcitriol", "calcium"]
    species_parameters = ("calcium_mg_gain",)
    parameters = BoneCellsModel.parameters[:-3] + [
        "pth_mg_gain", "pth_calcium_feedback", "calcitriol_pth_gain", "calcitriol_mg_gain",
        "calcium_calcitriol_gain", "calcium_mg_gain", "pth_osteoclast_gain", "calcium_osteoblast_gain",
    ] + BoneCellsModel.parameters[-3:]

    def osteoclast_drive(self, p):
        return super().osteoclast_drive(p) + [("pth", p["pth_osteoclast_gain"])]

    def osteoblast_drive(self, p):
        return super().osteoblast_drive(p) + [("calcium", p["calcium_osteoblast_gain"])]

    def terms(self, p, human):
        k_pth, k_d, k_ca = (FIXED_RATES_PER_WEEK[k] for k in ("pth_rate", "calcitriol_rate", "calcium_rate"))
        return super().terms(p, human) + [
            ("pth", "mg_status", k_pth * p["pth_mg_gain"]), ("pth", "calcium", -k_pth * p["pth_calcium_feedback"]),
            ("pth", "pth", -k_pth),
            ("calcitriol", "pth", k_d * p["calcitriol_pth_gain"]), ("calcitriol", "mg_status", k_d * p["calcitriol_mg_gain"]),
            ("calcitriol", "calcitriol", -k_d),
            ("calcium", "calcitriol", k_ca * p["calcium_calcitriol_gain"]), ("calcium", "mg_status", k_ca * p["calcium_mg_gain"]),
            ("calcium", "calcium", -k_ca),
        ]
