"""M2: M1 plus the mineral-endocrine route Mg -> PTH -> 1-alpha-hydroxylase -> calcitriol -> calcium -> bone.

Log-linearised from Dutta & Layton 2024 (Mg needed for PTH release and as 1-alpha-hydroxylase
cofactor) and Peterson & Riggs 2010 / OpenBoneMin (PTH drives resorption, calcitriol drives Ca
absorption, Ca feeds back on PTH). Linearisation keeps the direction of each link but not the
bell shape of PTH release, so very severe and mild deficiency share one slope per link; the
Ca response to Mg has its own sign per species (rats hypercalcaemic, humans hypocalcaemic).

PTH, calcitriol and calcium settle in minutes to hours (their rates, 20/week, were fixed earlier for that
reason), so on a weeks axis they sit at their quasi-steady state: linear functions of Mg status,
    pth = P * mg,  calcitriol = D * mg,  calcium = C * mg,
solved from the three balance equations (`endocrine_gains`). Eliminating the fast loop keeps M2 the size of
M1 (9 states instead of 12) and removes the stiffness that forced many squarings in the exponential; the
endocrine route then enters the bone cells as extra gains on Mg status.
"""

from mgbone.models.m1_bone_cells import BoneCellsModel


def endocrine_gains(p: dict) -> dict:
    """Quasi-steady-state responses of log PTH, calcitriol and calcium to log Mg status.

    pth = pth_mg_gain * mg - pth_calcium_feedback * ca
    calcitriol = calcitriol_pth_gain * pth + calcitriol_mg_gain * mg
    ca = calcium_calcitriol_gain * calcitriol + calcium_mg_gain * mg
    """
    f, a = p["pth_calcium_feedback"], p["pth_mg_gain"]
    g_cp, g_cm = p["calcitriol_pth_gain"], p["calcitriol_mg_gain"]
    g_cc, g_ca = p["calcium_calcitriol_gain"], p["calcium_mg_gain"]
    pth = (a - f * (g_cc * g_cm + g_ca)) / (1.0 + f * g_cc * g_cp)
    calcitriol = g_cp * pth + g_cm
    calcium = g_cc * calcitriol + g_ca
    return {"pth": pth, "calcitriol": calcitriol, "calcium": calcium}


class EndocrineModel(BoneCellsModel):
    name = "M2"
    title = "M2 bone cells + mineral endocrinology"
    description = (
        "M1 plus PTH, calcitriol and serum calcium: Mg deficit lowers PTH secretion and 1-alpha-hydroxylase activity, "
        "so calcitriol and Ca absorption fall; PTH drives resorption and calcium supports formation."
    )
    equations = [*BoneCellsModel.equations[:-1],
                 "0 = pth_mg_gain * mg - pth_calcium_feedback * ca - pth  (quasi-steady: PTH settles in minutes)",
                 "0 = calcitriol_pth_gain * pth + calcitriol_mg_gain * mg - calcitriol",
                 "0 = calcium_calcitriol_gain * calcitriol + calcium_mg_gain_species * mg - ca",
                 "osteoclast drive += pth_osteoclast_gain * pth;  osteoblast drive += calcium_osteoblast_gain * ca",
                 BoneCellsModel.equations[-1]]
    quantities = [*BoneCellsModel.quantities, "pth", "calcitriol", "calcium"]
    species_parameters = ("calcium_mg_gain",)
    endocrine_parameters = ["pth_mg_gain", "pth_calcium_feedback", "calcitriol_pth_gain", "calcitriol_mg_gain",
                            "calcium_calcitriol_gain", "calcium_mg_gain", "pth_osteoclast_gain",
                            "calcium_osteoblast_gain"]
    # report order: M1's parameters, then the endocrine ones before the hierarchy (species, studies, noise)
    parameters = [*(n for n in BoneCellsModel.parameters if n not in BoneCellsModel.hierarchy),
                  *endocrine_parameters, *BoneCellsModel.hierarchy]
    routes = {**BoneCellsModel.routes,
              "pth_calcitriol_calcium": ("pth_mg_gain", "calcitriol_mg_gain", "calcium_mg_gain")}

    def osteoclast_drive(self, p):
        # Mg status moves PTH (quasi-steady), and PTH drives resorption
        return [*super().osteoclast_drive(p), ("mg_status", p["pth_osteoclast_gain"] * endocrine_gains(p)["pth"])]

    def osteoblast_drive(self, p):
        return [*super().osteoblast_drive(p), ("mg_status", p["calcium_osteoblast_gain"] * endocrine_gains(p)["calcium"])]

    def readout(self, p: dict) -> dict:
        """The endocrine quantities are read off Mg status: quantity -> (state, coefficient)."""
        return {q: ("mg_status", gain) for q, gain in endocrine_gains(p).items()}
