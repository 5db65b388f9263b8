"""Interactive figures for the HTML report (plotly, inlined: the page opens offline, no CDN)."""

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from plotly.offline import get_plotlyjs

PLOT_CONFIG = {"displaylogo": False, "responsive": True, "toImageButtonOptions": {"format": "svg"}}
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22")


def plotly_library() -> str:
    """The plotly.js bundle, once per page."""
    return get_plotlyjs()


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def bone_curves(bands: pd.DataFrame, species_of: dict[str, str], div_id: str, title: str) -> str:
    """Bone mass (% of baseline) per scenario, one panel per species (x: age where the scenario has a start
    age, else years): median line with 50% and 90% bands; hover gives the numbers, drag zooms."""
    bone = bands[bands["quantity"] == "bone_mass"]
    species = list(dict.fromkeys(species_of.get(name, "other") for name in bone["scenario"].unique()))
    fig = make_subplots(rows=1, cols=len(species), subplot_titles=species, horizontal_spacing=0.08)
    for k, (name, s) in enumerate(bone.groupby("scenario", sort=False)):
        col = species.index(species_of.get(name, "other")) + 1
        by_age = "age" in s and s["age"].notna().all()
        x = s["age"] if by_age else s["time_years"]
        colour = COLOURS[k % len(COLOURS)]
        for lo, hi, alpha, label in (("q5", "q95", 0.15, "90%"), ("q25", "q75", 0.3, "50%")):
            fig.add_trace(go.Scatter(x=pd.concat([x, x[::-1]]), y=pd.concat([s[hi], s[lo][::-1]]), fill="toself",
                                     fillcolor=_rgba(colour, alpha), line={"width": 0}, hoverinfo="skip",
                                     legendgroup=name, showlegend=False, name=f"{name} {label}"), row=1, col=col)
        custom = s[["q5", "q95", "q25", "q75"]].to_numpy()
        fig.add_trace(go.Scatter(
            x=x, y=s["q50"], mode="lines", line={"color": colour}, name=name, legendgroup=name, customdata=custom,
            hovertemplate=(f"<b>{name}</b><br>{'age' if by_age else 'years'} %{{x:.1f}}<br>median %{{y:.1f}}%"
                           "<br>50%: %{customdata[2]:.1f}–%{customdata[3]:.1f}<br>90%: %{customdata[0]:.1f}–"
                           "%{customdata[1]:.1f}<extra></extra>")), row=1, col=col)
        fig.update_xaxes(title_text="age (years)" if by_age else "years", row=1, col=col)
    fig.update_yaxes(title_text="bone mass, % of baseline", row=1, col=1)
    fig.update_layout(title=title, hovermode="closest", height=460, margin={"l": 60, "r": 20, "t": 70, "b": 50},
                      template="plotly_white", legend={"orientation": "h", "y": -0.2})
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=PLOT_CONFIG)
