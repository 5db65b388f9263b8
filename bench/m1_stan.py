"""Model M1 written a second time, in Stan, for the PyStan comparison (bench/bench_stan.py).

The Stan program is the same model as `mgbone.models.m1_bone_cells.BoneCellsModel.build`: the same
priors (`mgbone.models.priors.PRIORS`), the same right-hand side, initial state and menopause switch,
and the same observation model and data (built here from the same `ObservationSet`). It is written
the way a pharmacometrician would write it: the six dynamic states are integrated by a general ODE
solver (`ode_rk45`, or `ode_bdf`), with the constant inputs (Mg target, estrogen target, ageing) as
arguments of the right-hand side, and the menopause of a cohort followed through it as a dosing-style
event (integrate to the menopause with no estrogen target, then on from there with the target set).
The project instead solves the 9-state linear system by a matrix exponential; by linearity the two
are the same solution.

`stan_code_matrix_exp` / `stan_data_matrix_exp` write the same model the way a Stan user who sees that
the system is linear writes it (issue 17): the 9-state system matrix per species, one
`matrix_exp_multiply` per distinct (species, time) pair applied to the initial states of all groups
plus the estrogen-target column (the project's own layout), the menopause by superposition
(x(t) = Phi(t) x0 + [t > shift] e_target Phi(t - shift) e_estrogen_target). bench/bench_stan.py writes
that program to bench/m1_matrix_exp.stan.

`log_prob` uses `target +=` with full `_lpdf` calls (no `~`), so Stan keeps every normalising
constant and its log density is directly comparable with PyMC's `model.compile_logp()` at the same
unconstrained point (see `check_equivalence`).
"""

import numpy as np

from mgbone.models import get_model
from mgbone.models.base import coords_for, study_index
from mgbone.models.priors import DEFICIT_SHARPNESS, PRIORS

DYNAMIC = ("mg_status", "inflammation", "estrogen_deficit", "osteoclast_activity", "osteoblast_activity",
           "bone_mass")
RODENTS = ("rat", "mouse")
# scalar priors in PyMC's declaration order (value vars of BoneCellsModel.build)
SCALARS = ["mg_sufficiency_threshold", "mg_equilibration_rate", "inflammation_rate", "inflammation_gain",
           "osteoclast_rate", "osteoblast_rate", "bone_turnover_rate", "no_osteoclast_gain",
           "inflammation_osteoclast_gain", "mg_osteoblast_gain", "estrogen_osteoclast_gain",
           "estrogen_formation_deficit", "estrogen_decay_time", "ageing_loss_rate"]


def _declaration(name: str, size: str | None = None) -> tuple[str, str]:
    """(parameter declaration, prior statement) for one PRIORS entry."""
    prior = PRIORS[name]
    if prior.distribution == "lognormal":
        median, sigma = prior.parameters
        return (f"  vector<lower=0>[{size}] {name};" if size else f"  real<lower=0> {name};",
                f"  target += lognormal_lpdf({name} | {float(np.log(median))!r}, {float(sigma)!r});")
    if prior.distribution == "normal":
        mu, sigma = prior.parameters
        return f"  {f'vector[{size}]' if size else 'real'} {name};", f"  target += normal_lpdf({name} | {float(mu)!r}, {float(sigma)!r});"
    raise ValueError(prior.distribution)


def stan_code(solver: str = "rk45") -> str:
    if solver not in ("rk45", "bdf"):
        raise ValueError(solver)
    decls, priors = zip(*[_declaration(n) for n in SCALARS], strict=True)
    extra = [_declaration("mg_elasticity", "S"), _declaration("rodent_speed_mean"),
             _declaration("study_effect", "R"), _declaration("noise", "O")]
    decls = list(decls) + [d for d, _ in extra]
    priors = list(priors) + [p for _, p in extra]
    return f"""
functions {{
  // d x / dt for x = (mg, inflammation, estrogen deficit, osteoclasts, osteoblasts, bone), logs
  // relative to the healthy steady state; k = rates already scaled by the species speed
  vector m1_rhs(real t, vector x, vector k, vector gain, real mg_target, real e_target, real human) {{
    // k: k_mg, k_inf, k_oc, k_ob, k_bone, 1/estrogen_decay_time, ageing_loss_rate
    // gain: inflammation, NO->oc, inflammation->oc, Mg->ob, estrogen->oc, estrogen formation deficit
    vector[6] dx;
    dx[1] = k[1] * (mg_target - x[1]);
    dx[2] = k[2] * (-gain[1] * x[1] - x[2]);
    dx[3] = k[6] * (e_target - x[3]);
    dx[4] = k[3] * (gain[5] * x[3] - gain[2] * x[1] + gain[3] * x[2] - x[4]);
    dx[5] = k[4] * (x[4] + gain[4] * x[1] - gain[6] * x[3] - x[5]);
    dx[6] = k[5] * (x[5] - x[4]) - k[7] * human;
    return dx;
  }}
}}
data {{
  int<lower=1> N;                       // contrasts
  int<lower=1> G;                       // groups
  int<lower=1> S;                       // species
  int<lower=0> R;                       // studies with their own Mg-effect deviation
  int<lower=1> O;                       // outcomes (one extra noise each)
  array[G] int<lower=1, upper=S> g_species;
  array[G] int<lower=0, upper=R> g_study; // 0: no study effect
  vector<lower=0>[G] mg_fraction;
  vector[G] e_start;
  vector[G] e_target_first;             // estrogen target before the menopause switch
  vector[G] e_target;                   // and after it
  vector[G] shift;                      // menopause time (weeks); 0: none
  vector[S] is_rodent;
  vector[S] is_human;
  int<lower=0> T;                       // solver output times, all groups, flat
  array[T] real ts;
  array[G] int<lower=0> n_first;        // per group: times up to the switch (ending at it if n_then > 0)
  array[G] int<lower=0> n_then;         // times after the switch
  array[N] int<lower=1> slot_t;         // index into (G initial states, then the T solutions)
  array[N] int<lower=1> slot_r;
  array[N] int<lower=1, upper=6> row;
  array[N] int<lower=1, upper=O> outcome;
  vector[N] y;
  vector<lower=0>[N] se;
  real<lower=0> sharpness;
  real rtol;
  real atol;
  int max_steps;
}}
parameters {{
{chr(10).join(decls)}
}}
transformed parameters {{
  vector[N] mu;
  {{
    array[G + T] vector[6] x;
    vector[6] gain = [inflammation_gain, no_osteoclast_gain, inflammation_osteoclast_gain, mg_osteoblast_gain,
                      estrogen_osteoclast_gain, estrogen_formation_deficit]';
    int pos = 0;
    for (g in 1:G) {{
      int s = g_species[g];
      real speed = is_rodent[s] == 1 ? exp(rodent_speed_mean) : 1.0;
      vector[7] k = [mg_equilibration_rate * speed, inflammation_rate * speed, osteoclast_rate * speed,
                     osteoblast_rate * speed, bone_turnover_rate * speed, 1 / estrogen_decay_time,
                     ageing_loss_rate]';
      real deficit = log1p_exp(sharpness * (log(mg_sufficiency_threshold) - log(mg_fraction[g]))) / sharpness;
      real effect = g_study[g] > 0 ? study_effect[g_study[g]] : 0.0;
      real mg_target = -mg_elasticity[s] * exp(effect) * deficit;
      x[g] = [0, 0, e_start[g], estrogen_osteoclast_gain * e_start[g],
              (estrogen_osteoclast_gain - estrogen_formation_deficit) * e_start[g], 0]';
      if (n_first[g] > 0) {{
        x[(G + pos + 1):(G + pos + n_first[g])] = ode_{solver}_tol(m1_rhs, x[g], 0.0,
            ts[(pos + 1):(pos + n_first[g])], rtol, atol, max_steps, k, gain, mg_target, e_target_first[g],
            is_human[s]);
        pos += n_first[g];
      }}
      if (n_then[g] > 0) {{  // event: the estrogen target switches on at the menopause
        x[(G + pos + 1):(G + pos + n_then[g])] = ode_{solver}_tol(m1_rhs, x[G + pos], shift[g],
            ts[(pos + 1):(pos + n_then[g])], rtol, atol, max_steps, k, gain, mg_target, e_target[g],
            is_human[s]);
        pos += n_then[g];
      }}
    }}
    for (n in 1:N) mu[n] = x[slot_t[n]][row[n]] - x[slot_r[n]][row[n]];
  }}
}}
model {{
{chr(10).join(priors)}
  target += normal_lpdf(y | mu, sqrt(square(se) + square(noise[outcome])));
}}
"""


def stan_code_matrix_exp() -> str:
    decls, priors = zip(*[_declaration(n) for n in SCALARS], strict=True)
    extra = [_declaration("mg_elasticity", "S"), _declaration("rodent_speed_mean"),
             _declaration("study_effect", "R"), _declaration("noise", "O")]
    decls = list(decls) + [d for d, _ in extra]
    priors = list(priors) + [p for _, p in extra]
    return f"""// M1 (bench/m1_stan.py, stan_code_matrix_exp): generated by bench/bench_stan.py, do not edit by hand.
// States: 1 mg_target, 2 estrogen_target, 3 ageing (constant inputs), 4 mg_status, 5 inflammation,
// 6 estrogen_deficit, 7 osteoclast_activity, 8 osteoblast_activity, 9 bone_mass; x' = A x, x(t) = expm(A t) x(0).
data {{
  int<lower=1> N;                       // contrasts
  int<lower=1> G;                       // groups
  int<lower=1> S;                       // species
  int<lower=0> R;                       // studies with their own Mg-effect deviation
  int<lower=1> O;                       // outcomes (one extra noise each)
  int<lower=1> P;                       // distinct (species, time) pairs
  array[G] int<lower=1, upper=S> g_species;
  array[G] int<lower=0, upper=R> g_study; // 0: no study effect
  vector<lower=0>[G] mg_fraction;
  vector[G] e_start;
  vector[G] e_initial_target;           // estrogen target at time 0 (0 for cohorts with a later menopause)
  vector[G] e_target;                   // estrogen target after the menopause
  vector[S] is_rodent;
  vector[S] is_human;
  array[P] int<lower=1, upper=S> pair_species;
  vector<lower=0>[P] pair_time;
  array[N] int<lower=1, upper=9> row;
  array[N] int<lower=1, upper=P> u_t;   // target side: pair of (species, t), of (species, t - menopause)
  array[N] int<lower=1, upper=P> v_t;
  vector[N] on_t;                       // 1 if the target group's menopause switch lies before t
  array[N] int<lower=1, upper=G> g_t;
  array[N] int<lower=1, upper=P> u_r;   // reference side
  array[N] int<lower=1, upper=P> v_r;
  vector[N] on_r;
  array[N] int<lower=1, upper=G> g_r;
  array[N] int<lower=1, upper=O> outcome;
  vector[N] y;
  vector<lower=0>[N] se;
  real<lower=0> sharpness;
}}
parameters {{
{chr(10).join(decls)}
}}
transformed parameters {{
  vector[N] mu;
  {{
    array[S] matrix[9, 9] A;
    matrix[9, G + 1] B;                 // initial states of every group, then the estrogen-target unit column
    array[P] matrix[9, G + 1] X;        // expm(A t) B per pair
    for (s in 1:S) {{
      real speed = is_rodent[s] == 1 ? exp(rodent_speed_mean) : 1.0;
      real k_mg = mg_equilibration_rate * speed;
      real k_inf = inflammation_rate * speed;
      real k_oc = osteoclast_rate * speed;
      real k_ob = osteoblast_rate * speed;
      real k_bone = bone_turnover_rate * speed;
      real k_e = 1 / estrogen_decay_time;
      A[s] = rep_matrix(0, 9, 9);
      A[s][4, 1] = k_mg;  A[s][4, 4] = -k_mg;
      A[s][5, 4] = -k_inf * inflammation_gain;  A[s][5, 5] = -k_inf;
      A[s][6, 2] = k_e;  A[s][6, 6] = -k_e;
      A[s][7, 6] = k_oc * estrogen_osteoclast_gain;  A[s][7, 4] = -k_oc * no_osteoclast_gain;
      A[s][7, 5] = k_oc * inflammation_osteoclast_gain;  A[s][7, 7] = -k_oc;
      A[s][8, 7] = k_ob;  A[s][8, 4] = k_ob * mg_osteoblast_gain;
      A[s][8, 6] = -k_ob * estrogen_formation_deficit;  A[s][8, 8] = -k_ob;
      A[s][9, 8] = k_bone;  A[s][9, 7] = -k_bone;  A[s][9, 3] = -ageing_loss_rate * is_human[s];
    }}
    for (g in 1:G) {{
      real deficit = log1p_exp(sharpness * (log(mg_sufficiency_threshold) - log(mg_fraction[g]))) / sharpness;
      real effect = g_study[g] > 0 ? study_effect[g_study[g]] : 0.0;
      B[:, g] = [-mg_elasticity[g_species[g]] * exp(effect) * deficit, e_initial_target[g], 1, 0, 0, e_start[g],
                 estrogen_osteoclast_gain * e_start[g],
                 (estrogen_osteoclast_gain - estrogen_formation_deficit) * e_start[g], 0]';
    }}
    B[:, G + 1] = rep_vector(0, 9);
    B[2, G + 1] = 1;
    for (p in 1:P) X[p] = matrix_exp_multiply(A[pair_species[p]] * pair_time[p], B);
    for (n in 1:N) {{
      mu[n] = X[u_t[n]][row[n], g_t[n]] + on_t[n] * e_target[g_t[n]] * X[v_t[n]][row[n], G + 1]
              - X[u_r[n]][row[n], g_r[n]] - on_r[n] * e_target[g_r[n]] * X[v_r[n]][row[n], G + 1];
    }}
  }}
}}
model {{
{chr(10).join(priors)}
  target += normal_lpdf(y | mu, sqrt(square(se) + square(noise[outcome])));
}}
"""


STATES9 = ("mg_target", "estrogen_target", "ageing", *DYNAMIC)


def stan_data_matrix_exp(obs) -> dict:
    """Data of `stan_code_matrix_exp`: the (species, time) pairs and lookups of BoneCellsModel.build."""
    model = get_model("M1")
    obs = model.fits(obs)
    assert tuple(model.states) == STATES9, model.states
    coords = coords_for(obs)
    c, g = obs.contrasts, obs.groups
    species = coords["species"]
    if len([s for s in species if s in RODENTS]) > 1:
        raise NotImplementedError("the Stan twin covers one rodent species (the default data); M1 pools two")
    g_species = g["species"].map({s: i for i, s in enumerate(species)}).to_numpy()
    g_study, g_has = study_index(g, coords["study"])
    shift = g["menopause_at_weeks"].to_numpy(float)
    e_target = g["estrogen_deficit_target"].to_numpy(float)
    keys, pairs = {}, []

    def pair(group, t):
        key = (int(g_species[group]), float(max(t, 0.0)))
        if key not in keys:
            keys[key] = len(pairs)
            pairs.append(key)
        return keys[key] + 1

    def lookups(groups, times):
        full = [pair(gi, t) for gi, t in zip(groups, times, strict=True)]
        late = [pair(gi, t - shift[gi]) for gi, t in zip(groups, times, strict=True)]
        on = [float(shift[gi] > 0 and t > shift[gi]) for gi, t in zip(groups, times, strict=True)]
        return full, late, on

    targets, references = c["target_group"].to_numpy(), c["reference_group"].to_numpy()
    u_t, v_t, on_t = lookups(targets, c["time_weeks"].to_numpy())
    u_r, v_r, on_r = lookups(references, c["reference_time_weeks"].to_numpy())
    index = {s: i for i, s in enumerate(STATES9)}
    return {
        "N": len(c), "G": len(g), "S": len(species), "R": len(coords["study"]), "O": len(coords["outcome"]),
        "P": len(pairs),
        "g_species": (g_species + 1).tolist(),
        "g_study": [int(i) + 1 if h else 0 for i, h in zip(g_study, g_has, strict=True)],
        "mg_fraction": g["mg_fraction"].to_numpy(float).tolist(),
        "e_start": g["estrogen_deficit_start"].to_numpy(float).tolist(),
        "e_initial_target": np.where(shift > 0, 0.0, e_target).tolist(),
        "e_target": e_target.tolist(),
        "is_rodent": [float(s in RODENTS) for s in species],
        "is_human": [float(s == "human") for s in species],
        "pair_species": [k[0] + 1 for k in pairs], "pair_time": [k[1] for k in pairs],
        "row": [index[q] + 1 for q in c["quantity"]],
        "u_t": u_t, "v_t": v_t, "on_t": on_t, "g_t": [int(x) + 1 for x in targets],
        "u_r": u_r, "v_r": v_r, "on_r": on_r, "g_r": [int(x) + 1 for x in references],
        "outcome": (c["outcome"].map({o: i for i, o in enumerate(coords["outcome"])}).to_numpy() + 1).tolist(),
        "y": c["y"].to_numpy(float).tolist(),
        "se": np.nan_to_num(c["se"].to_numpy(float), nan=0.0).tolist(),
        "sharpness": float(DEFICIT_SHARPNESS),
    }


def stan_data(obs, rtol: float = 1e-6, atol: float = 1e-6, max_steps: int = 100_000) -> dict:
    """Stan data for M1 from an ObservationSet, with the same groups, contrasts and coordinates as
    BoneCellsModel.build."""
    model = get_model("M1")
    obs = model.fits(obs)
    coords = coords_for(obs)
    c, g = obs.contrasts, obs.groups
    species = coords["species"]
    rodents = [s for s in species if s in RODENTS]
    if len(rodents) > 1:
        raise NotImplementedError("the Stan twin covers one rodent species (the default data); M1 pools two")
    g_species = g["species"].map({s: i for i, s in enumerate(species)}).to_numpy()
    g_study, g_has = study_index(g, coords["study"])
    shift = g["menopause_at_weeks"].to_numpy(float)
    e_target = g["estrogen_deficit_target"].to_numpy(float)
    times_by_group: dict[int, set] = {i: set() for i in range(len(g))}
    sides = [(c["target_group"].to_numpy(), c["time_weeks"].to_numpy(float)),
             (c["reference_group"].to_numpy(), c["reference_time_weeks"].to_numpy(float))]
    for groups, times in sides:
        for gi, t in zip(groups, times, strict=True):
            if t > 0:
                times_by_group[int(gi)].add(float(t))
    ts, n_first, n_then, slot = [], [], [], {}
    for gi in range(len(g)):
        times = sorted(times_by_group[gi])
        s = shift[gi]
        first = [t for t in times if s <= 0 or t <= s]
        then = [t for t in times if s > 0 and t > s]
        if then and (not first or first[-1] != s):
            first.append(s)  # the state at the switch starts the second leg
        for t in first + then:
            slot[(gi, t)] = len(g) + len(ts) + 1
            ts.append(t)
        n_first.append(len(first))
        n_then.append(len(then))

    def slots(groups, times):
        return [slot[(int(gi), float(t))] if t > 0 else int(gi) + 1 for gi, t in zip(groups, times, strict=True)]

    index = {s: i for i, s in enumerate(DYNAMIC)}
    return {
        "N": len(c), "G": len(g), "S": len(species), "R": len(coords["study"]), "O": len(coords["outcome"]),
        "g_species": (g_species + 1).tolist(),
        "g_study": [int(i) + 1 if h else 0 for i, h in zip(g_study, g_has, strict=True)],
        "mg_fraction": g["mg_fraction"].to_numpy(float).tolist(),
        "e_start": g["estrogen_deficit_start"].to_numpy(float).tolist(),
        "e_target_first": np.where(shift > 0, 0.0, e_target).tolist(),
        "e_target": e_target.tolist(),
        "shift": shift.tolist(),
        "is_rodent": [float(s in RODENTS) for s in species],
        "is_human": [float(s == "human") for s in species],
        "T": len(ts), "ts": ts, "n_first": n_first, "n_then": n_then,
        "slot_t": slots(*sides[0]), "slot_r": slots(*sides[1]),
        "row": [index[q] + 1 for q in c["quantity"]],
        "outcome": (c["outcome"].map({o: i for i, o in enumerate(coords["outcome"])}).to_numpy() + 1).tolist(),
        "y": c["y"].to_numpy(float).tolist(),
        "se": np.nan_to_num(c["se"].to_numpy(float), nan=0.0).tolist(),
        "sharpness": float(DEFICIT_SHARPNESS), "rtol": rtol, "atol": atol, "max_steps": max_steps,
    }


def stan_parameter_names(data: dict) -> list[tuple[str, int | None]]:
    """Stan's unconstrained vector, in order: (name, element or None)."""
    out = [(n, None) for n in SCALARS]
    out += [("mg_elasticity", i) for i in range(data["S"])]
    out += [("rodent_speed_mean", None)]
    out += [("study_effect", i) for i in range(data["R"])]
    out += [("noise", i) for i in range(data["O"])]
    return out


def pymc_point_to_stan(point: dict, data: dict) -> np.ndarray:
    """A PyMC point on the unconstrained space ({value var name: array}) as Stan's unconstrained vector
    (both use log for positive parameters)."""
    out = []
    for name, i in stan_parameter_names(data):
        key = f"{name}_log__" if f"{name}_log__" in point else name
        value = np.asarray(point[key], float)
        out.append(float(value if i is None else value[i]))
    return np.array(out)


def check_equivalence(obs, posterior_stan, n_points: int = 20, seed: int = 0, data: dict | None = None) -> dict:
    """Log density (Jacobian included, all constants) of PyMC's M1 and of the Stan program at the same
    random unconstrained points; returns the largest absolute difference and the differences of the
    log density *changes* (which is what NUTS sees)."""
    m = get_model("M1")
    model = m.build(m.fits(obs))
    logp = model.compile_logp(jacobian=True)
    data = stan_data(obs) if data is None else data
    rng = np.random.default_rng(seed)
    start = model.initial_point()
    rows = []
    for _ in range(n_points):
        point = {k: v + rng.normal(0.0, 0.5, size=np.shape(v)) for k, v in start.items()}
        pymc_value = float(logp(point))
        stan_value = float(posterior_stan.log_prob(pymc_point_to_stan(point, data).tolist(), adjust_transform=True))
        rows.append((pymc_value, stan_value))
    rows = np.array(rows)
    diff = rows[:, 1] - rows[:, 0]
    return {"points": n_points, "pymc_logp": rows[:, 0].tolist(), "stan_logp": rows[:, 1].tolist(),
            "max_abs_diff": float(np.max(np.abs(diff))),
            "max_rel_diff": float(np.max(np.abs(diff) / np.maximum(np.abs(rows[:, 0]), 1.0)))}


def stan_inits(obs, chains: int, seed: int = 1) -> list[dict]:
    """Per chain, the project's start (PyMC's initial point: prior medians/means) jittered by U(-1, 1) on the
    unconstrained scale, as nutpie and PyMC start; Stan's own default (U(-2, 2) around 0 unconstrained) starts
    e.g. bone_turnover_rate 30-1500x above its prior median, far in the tail."""
    m = get_model("M1")
    model = m.build(m.fits(obs))
    start = model.initial_point()
    rng = np.random.default_rng(seed)
    inits = []
    for _ in range(chains):
        init = {}
        for key, value in start.items():
            value = np.asarray(value, float) + rng.uniform(-1, 1, size=np.shape(value))
            name = key.removesuffix("_log__")
            value = np.exp(value) if key.endswith("_log__") else value
            init[name] = value.tolist() if np.ndim(value) else float(value)
        inits.append(init)
    return inits
