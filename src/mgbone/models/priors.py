"""Every prior of every model, with its justification: the single table the report prints.

Rates are per week for humans; rodent rates are the human ones times a species speed factor.
Log-scale effects ("gain") multiply: a gain of 0.5 on log Mg status means a 10% fall in Mg status
moves the target quantity by about 5%.
"""

from dataclasses import dataclass

import numpy as np
import pymc as pm

from mgbone.constants import WEEKS_PER_YEAR


@dataclass(frozen=True)
class Prior:
    name: str
    distribution: str  # "lognormal" (median, sigma of log) | "halfnormal" (sigma) | "normal" (mu, sigma)
    parameters: tuple[float, ...]
    unit: str
    justification: str

    def rv(self, dims=None, name=None):
        """Create the PyMC random variable inside the current model context (under `name`, default the prior's)."""
        name = name or self.name
        if self.distribution == "lognormal":
            median, sigma = self.parameters
            return pm.LogNormal(name, mu=np.log(median), sigma=sigma, dims=dims)
        if self.distribution == "halfnormal":
            return pm.HalfNormal(name, sigma=self.parameters[0], dims=dims)
        if self.distribution == "normal":
            mu, sigma = self.parameters
            return pm.Normal(name, mu=mu, sigma=sigma, dims=dims)
        if self.distribution == "logitnormal":
            mu, sigma = self.parameters
            return pm.LogitNormal(name, mu=mu, sigma=sigma, dims=dims)
        raise ValueError(f"unknown distribution {self.distribution!r} for prior {self.name}")

    def draw(self, rng: np.random.Generator, size=None):
        """Draws from the prior with numpy (solver tests, simulation-based calibration)."""
        if self.distribution == "lognormal":
            return np.exp(np.log(self.parameters[0]) + self.parameters[1] * rng.standard_normal(size))
        if self.distribution == "halfnormal":
            return np.abs(self.parameters[0] * rng.standard_normal(size))
        value = self.parameters[0] + self.parameters[1] * rng.standard_normal(size)
        return 1.0 / (1.0 + np.exp(-value)) if self.distribution == "logitnormal" else value

    def describe(self) -> str:
        if self.distribution == "lognormal":
            return f"LogNormal(median={self.parameters[0]:.4g}, sigma={self.parameters[1]:.3g})"
        if self.distribution == "halfnormal":
            return f"HalfNormal(sigma={self.parameters[0]:.3g})"
        if self.distribution == "logitnormal":
            return f"LogitNormal(mu={self.parameters[0]:.4g}, sigma={self.parameters[1]:.3g})"
        return f"Normal(mu={self.parameters[0]:.4g}, sigma={self.parameters[1]:.3g})"


_P = Prior
PRIORS = {
    p.name: p
    for p in [
        # --- magnesium status ---------------------------------------------------------------
        _P("mg_elasticity", "lognormal", (0.3, 1.0), "log Mg status per unit deficit",
           "Elasticity of serum Mg to the dietary Mg deficit, per species. Wide (95% range 0.04-2.1): rats fall to about "
           "a fifth of control serum Mg on 4% of requirement (Rude 1998 abstract), humans by only ~25% on a near-Mg-free "
           "diet (Fatemi 1991)."),
        _P("mg_sufficiency_threshold", "lognormal", (0.7, 0.3), "fraction of requirement",
           "Diet Mg (fraction of the species requirement) below which serum Mg falls: a 522-rat requirement study found normal "
           "blood Mg at 365 of ~500 ppm (shared evidence README); median 0.7, x/1.35 spread."),
        _P("mg_equilibration_rate", "lognormal", (0.5, 0.7), "1/week",
           "Serum Mg re-equilibrates in days to weeks after a diet change (human depletion study: clear fall by 3 weeks)."),
        # --- inflammation -----------------------------------------------------------------------
        _P("inflammation_rate", "lognormal", (0.5, 0.5), "1/week",
           "Substance P peaks about day 5 and IL-1, IL-6, TNF-alpha rise from day 12 of severe deficiency in rats "
           "(Weglicki 1992, shared evidence): a response over one to a few weeks."),
        _P("inflammation_gain", "lognormal", (0.6, 0.5), "log per log Mg",
           "Deficiency raises TNF-alpha, IL-1 and substance P about 2-6 fold in severely deficient rodents (log Mg "
           "status about -1.5; mouse and rat reports in the shared evidence, not yet in data/), so a gain near 0.6; "
           "informative because no cytokine data are fitted yet and the route would otherwise trade off freely "
           "against the direct NO route."),
        # --- bone cells (Komarova 2003 time scales, coupled formation) ---------------------
        _P("osteoclast_rate", "lognormal", (0.5, 0.5), "1/week",
           "Osteoclast lifespan about 2 weeks (Komarova 2003; Lemaire 2004 ~1 week)."),
        _P("osteoblast_rate", "lognormal", (1 / 13, 0.5), "1/week",
           "Active osteoblast lifespan about 3 months (Komarova 2003 50 d; OpenBoneMin ~69 d; Yeo 115 d)."),
        _P("bone_turnover_rate", "lognormal", (0.25 / WEEKS_PER_YEAR, 0.5), "1/week",
           "Fraction of trabecular bone remodelled per week: about 25%/year in adult humans (textbook remodelling rate)."),
        _P("no_osteoclast_gain", "normal", (0.5, 0.5), "log per log Mg",
           "Direct route: Mg raises nitric oxide, which damps osteoclasts; lower Mg -> more resorption. Upper anchor: rodent "
           "osteoclast number +135% at severe deficit (model_references.md). Sign not forced: the data may say the "
           "route is absent."),
        _P("inflammation_osteoclast_gain", "lognormal", (0.3, 0.5), "log per log cytokine",
           "TNF-alpha and IL-1 drive osteoclastogenesis (sign established); size unknown, moderate (95% range "
           "0.11-0.8)."),
        _P("mg_osteoblast_gain", "normal", (0.5, 0.5), "log per log Mg",
           "Mg supports osteoblast activity; osteoblast number falls in Mg-deficient rodents (model_references.md). "
           "Sign not forced."),
        _P("estrogen_osteoclast_gain", "lognormal", (0.7, 0.4), "log",
           "Resorption markers rise 50-100% after menopause (ln 2 ~ 0.7; model_references.md, M1 priors)."),
        _P("estrogen_formation_deficit", "lognormal", (0.05, 1.0), "log",
           "Formation lags resorption after estrogen loss (BMU balance deficit); sustained postmenopausal loss of ~1%/y "
           "needs ~0.04 at 25%/y turnover."),
        _P("estrogen_decay_time", "lognormal", (2.6 * WEEKS_PER_YEAR, 0.3), "week",
           "Time constant of estrogen loss after the final menstrual period, 2.6 years (Jorg 2022 refit, model_references.md)."),
        _P("ageing_loss_rate", "lognormal", (0.005 / WEEKS_PER_YEAR, 0.5), "1/week",
           "Slow age-related loss, about 0.5%/year outside the menopausal transition (model_references.md, M0 priors)."),
        # --- species and studies --------------------------------------------------------------
        _P("rodent_speed_mean", "normal", (np.log(5.0), 0.5), "log",
           "Rodent bone and mineral turnover is several-fold faster than human (rat BV/TV falls 24-44% in 12-16 weeks "
           "of deficiency versus about 1-3%/year human loss)."),
        _P("study_effect", "normal", (0.0, 1.0), "log (in units of the species' between-study spread)",
           "Standardised deviation of a study's Mg-deficit effect from its species' (non-centred: the effect is "
           "spread x this). A new population draws its own deviation from the learned spread."),
        _P("study_spread", "lognormal", (0.25, 0.6), "log",
           "Between-study spread of the Mg effect, learned per species (partial pooling). Studies of one species rarely "
           "differ by more than a factor 2 in how a given diet moves Mg status (strain, age and diet composition): median "
           "0.25, 95% range 0.08-0.8. Log-normal rather than half-normal on purpose: with two to six studies per species "
           "the data cannot rule out a spread of zero, and a prior with mass there let the chains fall into the funnel "
           "neck (all-studies M1 with Half-normal(0.3): R-hat 1.07 and bulk ESS 39 for the rat spread). A boundary-"
           "avoiding prior keeps them out (Stan User's Guide, 'Boundary-avoiding priors', hierarchical priors section)."),
        _P("study_outcome_spread", "lognormal", (0.1, 1.0), "log ratio",
           "Between-study spread of a study's results around the model, per outcome family (the quantity), "
           "learned across the family's studies (partial pooling; mgbone.models.likelihood). Median 0.1, 95% range "
           "0.014-0.7: from about a percentage point, as treatment-placebo BMD differences of one drug class vary "
           "between trials, to a factor 2, as rodent biomarker responses to one diet vary between laboratories. "
           "Boundary-avoiding (log-normal) for the reason given at study_spread."),
        _P("study_outcome_effect", "normal", (0.0, 1.0), "standardised",
           "A study's deviation for one quantity in units of its family's spread (non-centred); a new study draws its "
           "own, so predictions for it carry the spread between studies."),
        # --- measurement: outcomes and skeletal sites -------------------------------------------------
        _P("outcome_loading", "normal", (0.0, 0.7), "log",
           "Log of how strongly an outcome moves per unit of its quantity, relative to the quantity's reference "
           "outcome (serum Mg, TNF-alpha, CTX, P1NP, lumbar-spine BMD, PTH, calcitriol, serum Ca; loading 1). For "
           "bone it is the site dimension: trabecular-rich sites (spine, rodent trabecular volume) turn over faster "
           "than cortical-rich ones (hip, forearm, whole body); 95% prior range x/4."),
        # --- drugs and hormones (mgbone.models.interventions) ----------------------------------------
        _P("osteoclast_drug_potency", "lognormal", (0.7, 0.8), "log osteoclast activity",
           "Antiresorptives (bisphosphonates, denosumab, calcitonin, calcium) lower osteoclast activity: a potency of 0.7 "
           "halves it, 1.6 is an 80% suppression (the range of resorption-marker suppression that OpenBoneMin and Jorg "
           "2022 calibrate denosumab and bisphosphonates to, model_references.md); per class, agents and doses pooled."),
        _P("estrogen_drug_potency", "lognormal", (0.7, 0.6), "fraction of the estrogen deficit removed",
           "Estrogen (with or without progestin) restores estrogen, removing most of the postmenopausal deficit (potency "
           "near 1 = premenopausal); raloxifene acts on the same receptor, more weakly."),
        _P("anabolic_drug_potency", "lognormal", (0.5, 0.8), "log osteoblast activity",
           "Teriparatide raises formation (the anabolic window): osteoblast activity up by tens of percent "
           "(Peterson & Riggs 2010 teriparatide responses, model_references.md)."),
        _P("anabolic_resorption_gain", "lognormal", (0.4, 0.6), "log osteoclast per log drive",
           "Intermittent PTH also raises resorption, later and less than formation (the anabolic window closes)."),
        _P("drug_onset_rate", "lognormal", (0.25, 0.7), "1/week",
           "A drug's effect on bone cells sets in over weeks: resorption markers fall within about a month of starting "
           "an antiresorptive, estradiol rises within days; per class."),
        _P("bisphosphonate_residual_share", "logitnormal", (0.0, 1.0), "fraction",
           "Bisphosphonates bind to bone and act on after stopping (FLEX, alendronate and zoledronate withdrawal): a "
           "share of the effect follows the slow bound-drug kinetics; LogitNormal(0, 1), median 0.5."),
        _P("bisphosphonate_offset_rate", "lognormal", (1 / (3 * WEEKS_PER_YEAR), 0.8), "1/week",
           "The bound share builds up and wears off over years (skeletal retention of bisphosphonates)."),
        _P("drug_arm_spread", "lognormal", (0.2, 0.6), "log",
           "Arms of one class (agent and dose) differ in potency around the class mean: partial pooling; median 0.2, "
           "95% range 0.06-0.65. Boundary-avoiding (log-normal, as study_spread): with two to five arms per class a "
           "half-normal(0.3) let the chains into the funnel neck (all-studies M1: R-hat 1.04 for this spread)."),
        _P("drug_arm_effect", "normal", (0.0, 1.0), "standardised",
           "An arm's deviation from its class potency, in units of the arm spread (non-centred)."),
        _P("noise", "lognormal", (0.04, 0.6), "log ratio",
           "Noise of a log ratio per outcome beyond its reported standard error (assay, strain, design); 95% prior "
           "range 1.2-13%. Kept away from zero on purpose: many rows report no spread, and a noise near zero would "
           "turn their likelihood into a spike (it caused most divergences in earlier fits)."),
        # --- mineral endocrinology (M2; Dutta & Layton 2024, Peterson & Riggs 2010) -----------
        _P("pth_mg_gain", "lognormal", (0.5, 0.8), "log per log Mg",
           "Mg is needed for PTH secretion; severe deficiency blunts it (Dutta & Layton 2024 bell-shaped release)."),
        _P("pth_calcium_feedback", "lognormal", (1.0, 0.5), "log per log Ca",
           "Calcium-sensing receptor: higher calcium suppresses PTH (steep Hill curve near the set point; OpenBoneMin)."),
        _P("calcitriol_pth_gain", "lognormal", (0.5, 0.5), "log per log PTH",
           "PTH switches on renal 1-alpha-hydroxylase (Dutta & Layton n up to 6; OpenBoneMin flatter)."),
        _P("calcitriol_mg_gain", "lognormal", (0.3, 0.8), "log per log Mg",
           "Mg is a cofactor of 1-alpha-hydroxylase (Dutta & Layton 2024)."),
        _P("calcium_calcitriol_gain", "lognormal", (0.05, 0.8), "log per log calcitriol",
           "Calcitriol raises intestinal Ca absorption; serum Ca is tightly defended, so the effect on its level is small."),
        _P("calcium_mg_gain", "normal", (0.0, 0.3), "log per log Mg",
           "Direct Mg effect on serum Ca, per species: rats become hypercalcaemic in deficiency, humans hypocalcaemic."),
        _P("pth_osteoclast_gain", "normal", (0.3, 0.3), "log per log PTH",
           "Continuous PTH raises RANKL/OPG and resorption (Lemaire 2004; OpenBoneMin)."),
        _P("calcium_osteoblast_gain", "lognormal", (0.2, 0.8), "log per log Ca",
           "Calcium supply supports formation and mineralisation."),
        # --- M0 empirical -------------------------------------------------------------------------
        _P("slope", "normal", (0.0, 1.0), "log per unit deficit",
           "M0: effect of the Mg deficit on each quantity, per species; sign left open. Not pooled across species: "
           "a pooling spread learned from two species funnelled NUTS (divergences, R-hat 1.03)."),
        _P("bone_loss_per_deficit", "normal", (0.0, 0.002), "log per week per unit deficit",
           "M0: sustained bone loss rate per unit Mg deficit (human scale; rodents via the speed factor); sign open, "
           "1 sd = 10%/year per unit deficit."),
        _P("drug_bone_gain", "normal", (0.03, 0.05), "log bone mass",
           "M0: plateau of a drug class's effect on bone mass (a few percent, as treatment-placebo BMD differences of "
           "antiresorptives and HRT run); sign open, so a class that does nothing can say so."),
        _P("drug_arm_bone_spread", "lognormal", (0.008, 0.6), "log bone mass",
           "M0: arms of one class (agent, dose) differ in their bone gain by about a percentage point around the class "
           "(median 0.8 pp, 95% range 0.25-2.6 pp; boundary-avoiding for the same reason as drug_arm_spread)."),
        _P("drug_bone_rate", "lognormal", (1 / 78.0, 0.7), "1/week",
           "M0: how fast a drug's bone effect approaches its plateau (and wears off after stopping): about 1.5 years, "
           "the time course of treatment-placebo BMD differences."),
        _P("menopause_loss", "lognormal", (0.10, 0.4), "log",
           "M0: total loss over the menopausal transition, 10-15% at the spine (SWAN, Pansini; model_references.md)."),
    ]
}

DEFICIT_SHARPNESS = 6.0  # smoothness of the threshold in the Mg deficit (softplus); fixed for NUTS


def prior_table(names: list[str]) -> list[dict]:
    return [
        {"parameter": n, "prior": PRIORS[n].describe(), "unit": PRIORS[n].unit, "justification": PRIORS[n].justification}
        for n in names
    ]
