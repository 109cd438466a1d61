"""Radar charts of candidate profiles: one chart, overlays, small multiples, fast batches.

Everything uses matplotlib's object-oriented API on a :class:`matplotlib.figure.Figure`
with the Agg canvas: no pyplot, no global figure registry, works headless. While
drawing and saving, the matplotlib defaults plus the settings in :data:`STYLE` apply
(through a style context that is undone afterwards), so a chart looks the same
whatever the user's matplotlibrc says and whichever fonts the machine has: text is set
in the DejaVu Sans that ships with matplotlib.

What a radar chart shows
------------------------
* One spoke per **trait** scale of the questionnaire, in the questionnaire's order,
  clockwise from the top; validity scales are never drawn. Skill scales (the
  competencies of situational judgment items) get a radar of their own
  (``scales="skills"``): one spoke per competency, the total scale left out; they
  are never mixed into the rep-type radar. The spoke label is the
  scale's ``name`` (wrapped onto several lines when long).
* A 0-100 radial axis: the POMP score, or the percentile rank in the norm sample when
  the scores have norms (``metric="auto"``).
* Per candidate a closed polygon through the scores (a missing score leaves a gap).
* Optionally a shaded band for the score confidence interval (level of
  :func:`repprofile.score`'s ``ci``): in the POMP metric the mean-metric interval
  ``normed.ci_low``/``ci_high`` converted with ``100 (x - min) / (max - min)`` and
  clipped to 0-100; in the percentile metric ``normed.percentile_ci_low``/``_high``.
  A sector is shaded between two neighbouring spokes whose intervals are both known;
  nothing is drawn where the interval is unknown (no reliability or SD, so NaN).
* Optionally the role: its ``target`` profile as a dashed black line (in the
  percentile metric each target POMP score is shown as its percentile rank in the
  norm sample). A role without a target shows its **weights rescaled** to 0-100 as
  ``50 + 50 w / max|w|`` instead: 50 is weight 0, 100 the largest absolute weight
  when positive, 0 when negative; scales the role does not weigh sit at 50.
* A title with the candidate id(s), the questionnaire id and version, the metric and
  ``norms: SIMULATED`` when the norm table is simulated; a legend below the plot.

Colours are the Okabe-Ito palette (Okabe & Ito 2008), safe for the common forms of
colour blindness; overlaid candidates also differ in marker shape.
"""

from __future__ import annotations

import functools
import io
import math
import os
import textwrap
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from numbers import Integral
from pathlib import Path
from typing import Any, Literal

import matplotlib.style
import numpy as np
import PIL.Image
import PIL.PngImagePlugin
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch
from matplotlib.path import Path as MplPath
from matplotlib.projections.polar import PolarAxes
from numpy.typing import NDArray

from repprofile._analysis.scoring import ScoreResult
from repprofile._errors import InputError
from repprofile._formats.role import Role
from repprofile._validation import Interval, PathWithSuffix, SequenceOf, StrOptions, validate_params
from repprofile.stats import percentile_rank

__all__ = [
    "MAX_OVERLAY",
    "OKABE_ITO",
    "STYLE",
    "RadarRenderer",
    "radar_chart",
    "radar_grid",
    "save_figure",
]

Metric = Literal["auto", "pomp", "percentile"]
ScaleSet = Literal["traits", "skills"]
"""Which scales a radar chart draws: the trait (rep-type) scales, or the skill scales
(the competencies of situational judgment items, without the total)."""
Array = NDArray[np.float64]

MAX_OVERLAY = 5
"""Most candidates :func:`radar_chart` overlays on one chart; use :func:`radar_grid` beyond."""

OKABE_ITO: dict[str, str] = {
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "bluish green": "#009E73",
    "reddish purple": "#CC79A7",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
}
"""The Okabe-Ito colour-blind-safe palette (Okabe & Ito 2008)."""

_CANDIDATE_COLOURS = ("blue", "vermillion", "bluish green", "reddish purple", "orange")
_MARKERS = ("o", "s", "^", "D", "v")
_GREY = "#595959"
_ONE_LABEL = "Candidate's scores"

STYLE: dict[str, Any] = {
    "font.family": ["DejaVu Sans"],
    "font.size": 10.0,
    "axes.titlesize": 11.0,
    "figure.titlesize": 12.0,
    "legend.fontsize": 9.0,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "axes.edgecolor": "#bdbdbd",
    "grid.color": "#d9d9d9",
    "grid.linewidth": 0.8,
    "xtick.major.pad": 6.0,
    "svg.hashsalt": "repprofile",
    "svg.fonttype": "path",
    "pdf.fonttype": 42,
}
"""rcParams applied on top of matplotlib's defaults while charts are drawn and saved."""

_CELL_SIZE = (3.6, 3.3)  # inches per small multiple
_DPI = 100.0
_PNG_METADATA: dict[str, str | None] = {"Software": "repprofile (matplotlib)"}
_FAST_PNG_LEVEL = 1  # zlib level of RadarRenderer PNGs: speed over a few % of size


@contextmanager
def _style() -> Iterator[None]:
    """matplotlib's default rcParams plus :data:`STYLE`, undone on exit."""
    with matplotlib.style.context(["default", STYLE]):
        yield


# --------------------------------------------------------------------------- data


class _RadarData:
    """What a chart plots: spokes, and per row of a :class:`ScoreResult` the radii and
    the interval (read row by row, so a chart of one candidate of a million-row result
    costs no whole-batch copies)."""

    def __init__(self, scores: ScoreResult, metric: Metric, scales: ScaleSet = "traits") -> None:
        q = scores.questionnaire
        self.skills = scales == "skills"
        if self.skills:
            cols = np.flatnonzero([s.kind == "skill" and not s.total for s in q.scales])
        else:
            cols = np.flatnonzero(q.trait_mask)
        if cols.size < 3:
            kind = "skill scales (competencies)" if self.skills else "trait scales"
            raise InputError(
                f"A radar chart needs at least 3 {kind}; questionnaire {q.id!r} has "
                f"{cols.size} ({', '.join(q.scales[j].id for j in cols) or 'none'}). "
                "Show fewer scales as a bar chart instead."
            )
        if metric == "percentile" and scores.norms is None:
            raise InputError(
                "metric='percentile' needs norms: score the answers with "
                "repprofile.score(..., norms=...), or use metric='pomp'."
            )
        self.scores = scores
        self.metric: Literal["pomp", "percentile"] = (
            "percentile"
            if metric == "percentile" or (metric == "auto" and scores.norms is not None)
            else "pomp"
        )
        self.cols = cols  # trait columns of the score arrays, in questionnaire order
        self.names = tuple(q.scales[j].name for j in cols)
        self.theta: Array = 2.0 * np.pi * np.arange(cols.size) / cols.size
        self.ci_level = float(scores.normed.level)

    def row(self, candidate_id: str) -> int:
        """Row of a scored candidate (UnknownCandidateError: unknown or rejected)."""
        return self.scores._candidate_row(candidate_id)

    def values(self, row: int) -> Array:
        """The radii: POMP scores or percentile ranks of the trait scales."""
        if self.metric == "percentile":
            out: Array = self.scores.normed.percentile[row, self.cols]
        else:
            out = self.scores.pomp[row, self.cols]
        return out

    def interval(self, row: int) -> tuple[Array, Array]:
        """Low and high ends of the score interval in the chart's metric (NaN: unknown)."""
        nd = self.scores.normed
        if self.metric == "percentile":
            return nd.percentile_ci_low[row, self.cols], nd.percentile_ci_high[row, self.cols]
        lo, hi = _mean_range(self)
        span = hi - lo
        low = np.clip(100.0 * (nd.ci_low[row, self.cols] - lo) / span, 0.0, 100.0)
        high = np.clip(100.0 * (nd.ci_high[row, self.cols] - lo) / span, 0.0, 100.0)
        return low, high

    def any_interval(self) -> bool:
        """Whether some scored candidate has an interval on two or more spokes."""
        nd = self.scores.normed
        lo, hi = nd.ci_low[:, self.cols], nd.ci_high[:, self.cols]
        known = (np.isfinite(lo) & np.isfinite(hi))[self.scores.scored]
        return bool(known.size) and bool(known.sum(axis=1).max() >= 2)


def _mean_range(data: _RadarData) -> tuple[float, float]:
    """The range of the mean metric of the charted scales: the response scale of the
    Likert items, 0-100 for skill scales (their mean is the 0-100 score)."""
    if data.skills:
        return 0.0, 100.0
    rs = data.scores.questionnaire.response_scale
    return float(rs.min), float(rs.max)


@dataclass(frozen=True)
class _RoleLine:
    values: Array
    label: str


def _role_line(role: Role | None, data: _RadarData) -> _RoleLine | None:
    """The role's target (or rescaled weights) per spoke, in the chart's metric."""
    if role is None:
        return None
    scores = data.scores
    q = scores.questionnaire
    role.check_against(q)
    ids = [q.scales[j].id for j in data.cols]
    if role.target:
        pomp = np.array([role.target.get(s, np.nan) for s in ids], dtype=np.float64)
        if data.metric == "pomp":
            return _RoleLine(pomp, f"Role target: {role.name}")
        assert scores.norms is not None
        lo, hi = _mean_range(data)
        mean = lo + pomp / 100.0 * (hi - lo)
        pct = np.full(len(ids), np.nan)
        for k, sid in enumerate(ids):
            norm = scores.norms.scales[sid]
            pct[k] = percentile_rank(
                mean[k : k + 1],
                np.asarray(norm.values, dtype=np.float64),
                np.asarray(norm.counts, dtype=np.float64),
            )[0]
        return _RoleLine(pct, f"Role target: {role.name}")
    w = np.array([role.weights.get(s, 0.0) for s in ids], dtype=np.float64)
    top = float(np.abs(w).max())
    if top == 0.0:  # a role that weighs none of the charted scales (skills, say)
        return None
    return _RoleLine(50.0 + 50.0 * w / top, f"Role weights: {role.name} (rescaled; 50 = weight 0)")


def _closed(theta: Array, r: Array) -> tuple[Array, Array]:
    """The polygon's vertices, closed by repeating the first spoke at 2 pi."""
    return np.append(theta, 2.0 * np.pi), np.append(r, r[:1])


def _band_path(theta: Array, low: Array, high: Array) -> MplPath | None:
    """The region between the low and high polygons, over runs of known intervals.

    In (theta, r) data space each run is a simple polygon: along ``high`` with rising
    angle, back along ``low``. The polar transform maps it to the ring sector between
    the two star polygons (straight edges, as the score polygon has).
    """
    n = theta.size
    ok = np.isfinite(low) & np.isfinite(high)
    if ok.sum() < 2:
        return None
    if ok.all():
        runs = [list(range(n + 1))]  # the whole ring, closed at 2 pi
    else:
        runs = []
        for start in range(n):
            if ok[start] and not ok[start - 1]:
                run = [start]
                while ok[(run[-1] + 1) % n]:
                    run.append(run[-1] + 1)
                if len(run) >= 2:
                    runs.append(run)
    verts: list[tuple[float, float]] = []
    codes: list[np.uint8] = []
    for run in runs:
        t = [theta[k % n] + 2.0 * np.pi * (k // n) for k in run]
        hi = [high[k % n] for k in run]
        lo = [low[k % n] for k in run]
        ring = list(zip(t, hi, strict=True)) + list(zip(t[::-1], lo[::-1], strict=True))
        verts += [*ring, ring[0]]
        codes += [MplPath.MOVETO] + [MplPath.LINETO] * (len(ring) - 1) + [MplPath.CLOSEPOLY]
    return MplPath(np.asarray(verts, dtype=np.float64), np.asarray(codes, dtype=np.uint8))


# --------------------------------------------------------------------------- drawing


def _wrap(name: str, width: int) -> str:
    return "\n".join(textwrap.wrap(name, width=width, break_long_words=False)) or name


def _setup_axes(ax: PolarAxes, data: _RadarData, *, fontsize: float, wrap: int) -> None:
    """Spokes clockwise from the top, labelled with the scale names; radial axis 0-100."""
    ax.set_theta_offset(np.pi / 2.0)
    ax.set_theta_direction(-1)
    ax.set_ylim(0.0, 100.0)
    ax.set_yticks([0.0, 25.0, 50.0, 75.0, 100.0], labels=["", "25", "50", "75", "100"])
    ax.tick_params(axis="y", labelsize=fontsize - 2.0, labelcolor=_GREY)
    ax.set_rlabel_position(float(np.degrees(data.theta[1])) / 2.0)  # between spokes 1 and 2
    ax.set_xticks(data.theta, labels=[_wrap(name, wrap) for name in data.names])
    ax.tick_params(axis="x", labelsize=fontsize, pad=4.0)
    for tick, t in zip(ax.xaxis.get_major_ticks(data.theta.size), data.theta, strict=True):
        # anchor each label on the side facing the plot, so it never runs over it:
        # the display angle is pi/2 - theta (clockwise from the top)
        x, y = math.sin(t), math.cos(t)
        tick.label1.set_horizontalalignment(
            "left" if x > 0.1 else "right" if x < -0.1 else "center"
        )
        tick.label1.set_verticalalignment("bottom" if y > 0.1 else "top" if y < -0.1 else "center")
    ax.grid(True)
    ax.set_axisbelow(True)


@dataclass
class _Artists:
    """The artists of one radar chart that change from candidate to candidate."""

    lines: list[Line2D]
    bands: list[PathPatch]
    role: Line2D | None
    legend: Legend | None


def _draw_profiles(
    ax: PolarAxes,
    data: _RadarData,
    rows: Sequence[int],
    labels: Sequence[str],
    *,
    role_line: _RoleLine | None,
    show_ci: bool,
    markersize: float,
) -> _Artists:
    lines: list[Line2D] = []
    bands: list[PathPatch] = []
    for k, (row, label) in enumerate(zip(rows, labels, strict=True)):
        colour = OKABE_ITO[_CANDIDATE_COLOURS[k]]
        if show_ci:
            path = _band_path(data.theta, *data.interval(row))
            band = PathPatch(
                path if path is not None else MplPath(np.zeros((1, 2))),
                facecolor=colour,
                alpha=0.18,
                linewidth=0.0,
                label=f"_ci {drawable(label)}",
                zorder=2.6,
            )
            band.set_visible(path is not None)
            ax.add_patch(band)
            bands.append(band)
        t, r = _closed(data.theta, data.values(row))
        (line,) = ax.plot(
            t,
            r,
            color=colour,
            linewidth=2.0,
            marker=_MARKERS[k],
            markersize=markersize,
            label=drawable(label),
            zorder=3.0 + 0.1 * k,
            clip_on=False,
        )
        lines.append(line)
    role_artist = None
    if role_line is not None:
        t, r = _closed(data.theta, role_line.values)
        (role_artist,) = ax.plot(
            t,
            r,
            color=OKABE_ITO["black"],
            linewidth=1.5,
            linestyle=(0, (5, 3)),
            label=role_line.label,
            zorder=2.7,
            clip_on=False,
        )
    return _Artists(lines, bands, role_artist, None)


def _legend_handles(
    artists: _Artists, data: _RadarData, *, show_ci_entry: bool
) -> tuple[list[Any], list[str]]:
    handles: list[Any] = [*artists.lines]
    labels = [str(line.get_label()) for line in artists.lines]
    if artists.role is not None:
        handles.append(artists.role)
        labels.append(str(artists.role.get_label()))
    if show_ci_entry:
        # the band's colour for one candidate; neutral grey when each has its own
        colour = OKABE_ITO["blue"] if len(artists.lines) == 1 else _GREY
        handles.append(Patch(facecolor=colour, alpha=0.18 if colour != _GREY else 0.3, lw=0.0))
        labels.append(f"{data.ci_level:.0%} confidence interval (shaded)")
    return handles, labels


def _metric_text(data: _RadarData) -> str:
    return "POMP score (0-100)" if data.metric == "pomp" else "percentile in the norm sample"


def _subtitle(data: _RadarData, width: int = 1000) -> str:
    """Questionnaire id and version, metric, simulated norms: one line if it has at most
    ``width`` characters, else one line each."""
    q = data.scores.questionnaire
    parts = [f"{q.id} {q.version}", _metric_text(data)]
    if data.skills:
        parts.insert(1, "judgement (SJT) competencies")
    norms = data.scores.norms
    if norms is not None and norms.simulated:
        parts.append("norms: SIMULATED")
    text = " · ".join(parts)
    return text if len(text) <= width else "\n".join(parts)


@functools.lru_cache(maxsize=1)
def _chart_font() -> Any:
    from matplotlib import font_manager

    path = font_manager.findfont(font_manager.FontProperties(family=STYLE["font.family"]))
    return font_manager.get_font(path)


def drawable(text: str) -> str:
    """``text`` with every character the chart font cannot draw (control characters,
    scripts DejaVu Sans lacks) replaced by U+FFFD, so that a candidate id from any
    system renders, visibly marked, instead of a missing glyph and a warning."""
    font = _chart_font()
    return "".join(
        ch
        if ch == "\n" or (unicodedata.category(ch)[0] != "C" and font.get_char_index(ord(ch)))
        else "\ufffd"
        for ch in text
    )


def _ids_title(ids: Sequence[str]) -> str:
    """Candidate id(s) on one line, or two balanced lines when long."""
    ids = [drawable(i) for i in ids]
    text = ", ".join(ids)
    if len(text) > 48 and len(ids) > 1:
        half = math.ceil(len(ids) / 2)
        text = ", ".join(ids[:half]) + ",\n" + ", ".join(ids[half:])
    return text


# Layout of a single chart in its own figure, in inches. The plot has a fixed diameter;
# the figure grows round it to fit the spoke labels, title and legend, measured once
# when the chart is made. The measures depend on the questionnaire, the legend and the
# number of title lines, not on the scores, so every single-candidate chart of a
# questionnaire gets exactly the same geometry (the fast renderer relies on it).
_DIAMETER = 4.4
_MARGIN = 0.2  # figure edge to the outermost text
_GAP = 0.14  # spoke labels to the subtitle above and to the legend below


@dataclass(frozen=True)
class _Extents:
    """How far the chart's text reaches beyond the plot's square, in inches."""

    top: float
    bottom: float
    side: float


def _new_single_figure() -> tuple[Figure, PolarAxes]:
    """A figure with room to spare round the plot; :func:`_fit_figure` trims it."""
    size = _DIAMETER + 6.0
    fig = Figure(figsize=(size, size), dpi=_DPI)
    FigureCanvasAgg(fig)
    rect = (3.0 / size, 3.0 / size, _DIAMETER / size, _DIAMETER / size)
    ax = fig.add_axes(rect, projection="polar")
    assert isinstance(ax, PolarAxes)
    return fig, ax


def _fit_figure(fig: Figure, ax: PolarAxes, ext: _Extents) -> None:
    """Resize the figure to the plot plus its text and margins (whole pixels)."""
    side = ext.side + _MARGIN
    top, bottom = ext.top + _MARGIN, ext.bottom + _MARGIN
    w = round((_DIAMETER + 2.0 * side) * _DPI) / _DPI
    h = round((_DIAMETER + top + bottom) * _DPI) / _DPI
    fig.set_size_inches(w, h)
    ax.set_position(((w - _DIAMETER) / 2.0 / w, bottom / h, _DIAMETER / w, _DIAMETER / h))


def _single_chart(
    ax: PolarAxes,
    data: _RadarData,
    rows: Sequence[int],
    ids: Sequence[str],
    *,
    role_line: _RoleLine | None,
    show_ci: bool,
    ci_entry: bool | None = None,
) -> tuple[_Artists, _Extents]:
    """Everything of one (overlay) radar chart on ``ax``: title above, legend below.

    The spoke labels, subtitle, title and legend are measured (an Agg renderer at the
    figure's dpi; text only, nothing is drawn) to place them clear of each other.
    Returns the artists and how far the text reaches beyond the plot.
    """
    _setup_axes(ax, data, fontsize=10.0, wrap=14)
    artists = _draw_profiles(
        ax, data, rows, ids, role_line=role_line, show_ci=show_ci, markersize=4.5
    )
    if ci_entry is None:
        ci_entry = any(b.get_visible() for b in artists.bands)
    handles, labels = _legend_handles(artists, data, show_ci_entry=ci_entry)
    if len(ids) == 1:
        labels[0] = _ONE_LABEL  # the id is in the title; a fixed legend suits the renderer
    fig = ax.get_figure(root=True)
    assert fig is not None
    dpi = fig.dpi
    width, height = max(1, int(fig.bbox.width)), max(1, int(fig.bbox.height))
    renderer = RendererAgg(width, height, dpi)  # type: ignore[no-untyped-call]
    ax.apply_aspect()
    box = ax.get_window_extent()
    size = box.height / dpi  # the plot's diameter, inches
    spokes = ax.xaxis.get_tightbbox(renderer)
    assert spokes is not None
    top = max(0.0, spokes.y1 - box.y1) / dpi + _GAP
    bottom = max(0.0, box.y0 - spokes.y0) / dpi + _GAP
    side = max(0.0, box.x0 - spokes.x0, spokes.x1 - box.x1) / dpi
    subtitle = ax.text(
        0.5,
        1.0 + top / size,
        _subtitle(data),
        transform=ax.transAxes,
        ha="center",
        va="bottom",
        fontsize=10.0,
        color=_GREY,
    )
    top += subtitle.get_window_extent(renderer).height / dpi + 0.1
    title = ax.set_title(
        _ids_title(ids), y=1.0 + top / size, va="bottom", fontsize=12.0, fontweight="bold"
    )
    top += title.get_window_extent(renderer).height / dpi
    artists.legend = ax.legend(
        handles,
        labels,
        loc="upper center",
        bbox_to_anchor=(0.5, -bottom / size),
        ncols=2 if len(handles) > 3 else 1,
        frameon=False,
        handlelength=2.6,
        columnspacing=1.6,
    )
    legend = artists.legend.get_window_extent(renderer)
    bottom += legend.height / dpi
    side = max(side, (legend.width / dpi - size) / 2.0)
    return artists, _Extents(top=top, bottom=bottom, side=side)


def _as_ids(candidate_id: str | Sequence[str]) -> list[str]:
    return [candidate_id] if isinstance(candidate_id, str) else list(candidate_id)


_METRIC = [StrOptions("auto", "pomp", "percentile")]
_SCALES = [StrOptions("traits", "skills")]
_ROLE = [Role, None]
_IDS_MUST = "must be strings: a candidate id or a sequence of candidate ids"


# --------------------------------------------------------------------------- public


@validate_params(
    {
        "scores": [ScoreResult],
        "candidate_id": [str, SequenceOf(str)],
        "role": _ROLE,
        "metric": _METRIC,
        "show_ci": ["boolean"],
        "ax": [PolarAxes, None],
        "scales": _SCALES,
    },
    must={
        "candidate_id": _IDS_MUST,
        "ax": "must be a polar Axes, e.g. fig.add_subplot(projection='polar'), or None",
    },
)
def radar_chart(
    scores: ScoreResult,
    candidate_id: str | Sequence[str],
    *,
    role: Role | None = None,
    metric: Metric = "auto",
    show_ci: bool = True,
    ax: Axes | None = None,
    scales: ScaleSet = "traits",
) -> Axes:
    """Radar chart of one candidate's profile, or up to five overlaid.

    Parameters
    ----------
    scores : ScoreResult
        From :func:`repprofile.score`; any questionnaire with at least 3 trait scales.
    candidate_id : str or sequence of str
        The candidate(s) to draw, at most :data:`MAX_OVERLAY` (5); for more, use
        :func:`radar_grid`.
    role : Role, optional
        Overlay the role's ``target`` profile as a dashed black line (in the
        percentile metric: the target's percentile rank in the norm sample), or, for
        a role without a target, its weights rescaled to 0-100 as
        ``50 + 50 w / max|w|`` (50 = weight 0).
    metric : {"auto", "pomp", "percentile"}
        The radial 0-100 axis. ``"auto"`` is ``"percentile"`` when the scores have
        norms, else ``"pomp"``.
    show_ci : bool
        Shade each candidate's score confidence interval where it is known
        (module docstring: the conversion; nothing is drawn for NaN intervals).
    ax : matplotlib Axes, optional
        A polar Axes to draw on (``fig.add_subplot(projection="polar")``). By default
        a new :class:`~matplotlib.figure.Figure` with an Agg canvas is made (no
        pyplot): a plot 4.4 inches across, the figure sized round it to fit the
        labels, title and legend (about 6.5 x 6.5 inches for rep-types, 100 dpi).
    scales : {"traits", "skills"}
        The trait (rep-type) scales, or the skill scales of situational judgment
        items: one spoke per competency (the total scale is not a spoke), its 0-100
        score as radius. The two are never mixed in one chart.

    Returns
    -------
    matplotlib.projections.polar.PolarAxes
        The chart; ``ax.figure`` is its Figure (display it in a notebook, or save it
        with :func:`save_figure`).

    What is drawn: one spoke per trait scale in questionnaire order, clockwise from
    the top, labelled with the scale name; per candidate a closed polygon (Okabe-Ito
    colour and its own marker) whose vertex radii are the scores; the shaded
    intervals; the role line; a legend below the plot; and a title with the
    candidate id(s), questionnaire id and version, metric and, for a simulated norm
    table, ``norms: SIMULATED``.

    Raises
    ------
    InputError
        More than 5 or no candidates, fewer than 3 trait scales, ``"percentile"``
        without norms, or a bad argument (:class:`~repprofile.InvalidParameterError`).
    UnknownCandidateError
        An unknown or rejected candidate (an ``InputError`` and a ``KeyError``).
    QuestionnaireError
        A role for another questionnaire.
    """
    ids = _as_ids(candidate_id)
    if not ids:
        raise InputError("radar_chart needs at least one candidate id")
    if len(ids) > MAX_OVERLAY:
        raise InputError(
            f"radar_chart overlays at most {MAX_OVERLAY} candidates, got {len(ids)}; "
            "use radar_grid(scores, candidate_ids) for small multiples of more candidates."
        )
    data = _RadarData(scores, metric, scales)
    rows = [data.row(cid) for cid in ids]
    role_line = _role_line(role, data)
    with _style():
        if ax is None:
            fig, ax = _new_single_figure()
            _, extents = _single_chart(ax, data, rows, ids, role_line=role_line, show_ci=show_ci)
            _fit_figure(fig, ax, extents)
        else:
            assert isinstance(ax, PolarAxes)  # checked on entry
            _single_chart(ax, data, rows, ids, role_line=role_line, show_ci=show_ci)
    return ax


@validate_params(
    {
        "scores": [ScoreResult],
        "candidate_ids": [SequenceOf(str)],
        "role": _ROLE,
        "metric": _METRIC,
        "ncols": [Interval(Integral, 1, None, closed="left")],
        "show_ci": ["boolean"],
        "scales": _SCALES,
    },
    must={"candidate_ids": "must be a sequence of candidate ids (strings)"},
)
def radar_grid(
    scores: ScoreResult,
    candidate_ids: Sequence[str],
    *,
    role: Role | None = None,
    metric: Metric = "auto",
    ncols: int = 4,
    show_ci: bool = True,
    scales: ScaleSet = "traits",
) -> Figure:
    """Small multiples: one radar chart per candidate, ``ncols`` to a row.

    Each panel is drawn as by :func:`radar_chart` for one candidate (same spokes,
    metric, interval band and role line), titled with the candidate id. One legend
    for all panels sits below them and a figure title names the questionnaire id
    and version, the metric and ``norms: SIMULATED`` for a simulated norm table.

    Returns
    -------
    matplotlib.figure.Figure
        A new Figure with an Agg canvas, about 3.6 x 3.3 inches per panel.

    Raises
    ------
    InputError, UnknownCandidateError
        As :func:`radar_chart`; also no candidates or ``ncols`` below 1.
    """
    ids = _as_ids(candidate_ids)
    if not ids:
        raise InputError("radar_grid needs at least one candidate id")
    data = _RadarData(scores, metric, scales)
    rows = [data.row(cid) for cid in ids]
    role_line = _role_line(role, data)
    ncols = min(ncols, len(ids))
    nrows = math.ceil(len(ids) / ncols)
    with _style():
        fig = Figure(
            # below 3 columns the legend takes 3 rows and the title may too
            figsize=(_CELL_SIZE[0] * ncols, _CELL_SIZE[1] * nrows + (1.0 if ncols >= 3 else 1.6)),
            dpi=_DPI,
            layout="constrained",
        )
        FigureCanvasAgg(fig)
        first: _Artists | None = None
        ci_any = False
        for i, (row, cid) in enumerate(zip(rows, ids, strict=True)):
            ax = fig.add_subplot(nrows, ncols, i + 1, projection="polar")
            assert isinstance(ax, PolarAxes)
            _setup_axes(ax, data, fontsize=8.0, wrap=12)
            ax.tick_params(axis="x", pad=2.0)
            ax.set_yticks([0.0, 25.0, 50.0, 75.0, 100.0], labels=["", "", "50", "", "100"])
            artists = _draw_profiles(
                ax, data, [row], [cid], role_line=role_line, show_ci=show_ci, markersize=3.0
            )
            ci_any = ci_any or any(b.get_visible() for b in artists.bands)
            first = first or artists
            ax.set_title(drawable(cid), pad=18.0, fontsize=10.0)
        assert first is not None
        handles, labels = _legend_handles(first, data, show_ci_entry=ci_any)
        labels[0] = _ONE_LABEL
        fig.legend(
            handles,
            labels,
            loc="outside lower center",
            ncols=len(handles) if ncols >= 3 else 1,  # one row only where it fits
            frameon=False,
        )
        fig.suptitle(_subtitle(data, width=int(ncols * _CELL_SIZE[0] * 11)))  # 12 pt
    return fig


def _format_of(path: Path) -> Literal["png", "svg", "pdf"]:
    """The image format of a path ending in .png, .svg or .pdf (any case)."""
    ext = path.suffix.lower()
    return "png" if ext == ".png" else "svg" if ext == ".svg" else "pdf"


def _figure_bytes(fig: Figure, fmt: Literal["png", "svg", "pdf"]) -> bytes:
    """The figure as PNG, SVG or PDF bytes, with fixed metadata (no dates)."""
    metadata: dict[str, str | None]
    if fmt == "png":
        metadata = dict(_PNG_METADATA)
    elif fmt == "svg":
        metadata = {"Date": None}
    else:
        metadata = {"CreationDate": None}
    buf = io.BytesIO()
    with _style():
        fig.savefig(buf, format=fmt, metadata=metadata, dpi=fig.dpi, facecolor="white")
    return buf.getvalue()


@validate_params(
    {"fig": [Figure], "path": [PathWithSuffix(".png", ".svg", ".pdf")]},
    must={"path": "must end in .png, .svg or .pdf"},
)
def save_figure(fig: Figure, path: str | os.PathLike[str]) -> Path:
    """Save a figure as PNG, SVG or PDF, chosen by the file extension.

    Output is deterministic: no creation date in SVG or PDF, a fixed SVG id salt
    (``svg.hashsalt``), fonts as paths in SVG and embedded TrueType in PDF, and the
    matplotlib defaults plus :data:`STYLE` whatever the user's rcParams, so the same
    chart gives byte-identical SVG and PDF files. PNGs are written at the figure's dpi.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    InvalidParameterError
        An extension other than .png, .svg or .pdf (an ``InputError``).
    """
    from repprofile._io import write_atomic

    out = Path(path)
    return write_atomic(out, _figure_bytes(fig, _format_of(out)))


class RadarRenderer:
    """Fast radar-chart PNGs for many candidates, reusing one Figure.

    The figure, axes, spokes, labels and role line are built and drawn once; the
    result is kept as a background bitmap. Each :meth:`render` restores that bitmap,
    moves the candidate's polygon and interval band, changes the title and legend
    text, draws only these artists and encodes the PNG. The picture is the one of
    ``radar_chart(scores, candidate_id, role=..., metric=..., show_ci=...)`` saved
    with :func:`save_figure` (the chart's layout never depends on the candidate, and
    everything that changes is drawn above everything that does not).

    Parameters
    ----------
    scores, role, metric, show_ci
        As for :func:`radar_chart` (one candidate per chart).

    Attributes
    ----------
    figure : matplotlib.figure.Figure
        The reused figure; after :meth:`render` it shows the last candidate.
    axes : matplotlib.projections.polar.PolarAxes
    """

    @validate_params(
        {"scores": [ScoreResult], "role": _ROLE, "metric": _METRIC, "show_ci": ["boolean"]},
        caller="RadarRenderer",
    )
    def __init__(
        self,
        scores: ScoreResult,
        *,
        role: Role | None = None,
        metric: Metric = "auto",
        show_ci: bool = True,
    ) -> None:
        data = _RadarData(scores, metric)
        scored = np.flatnonzero(scores.scored)
        if scored.size == 0:
            raise InputError("RadarRenderer needs a result with at least one scored candidate")
        self._data = data
        first = int(scored[0])
        # the legend keeps its interval entry for every candidate when any has one
        ci_entry = show_ci and data.any_interval()
        with _style():
            self.figure, self.axes = _new_single_figure()
            a, extents = _single_chart(
                self.axes,
                data,
                [first],
                [scores.candidate_ids[first]],
                role_line=_role_line(role, data),
                show_ci=show_ci,
                ci_entry=ci_entry,
            )
            _fit_figure(self.figure, self.axes, extents)
            self._artists = a
            # what changes, and the role line, which lies on the band
            dynamic: list[Artist] = [*a.bands, *a.lines, self.axes.title]
            if a.role is not None:
                dynamic.append(a.role)
            dynamic.sort(key=lambda art: art.get_zorder())  # stable: the order of a full draw
            for art in dynamic:
                art.set_animated(True)  # left out of the background
            self._dynamic = dynamic
            canvas = self.figure.canvas
            assert isinstance(canvas, FigureCanvasAgg)
            self._canvas = canvas
            # the Agg canvas methods used here have no type hints in matplotlib's stubs
            canvas.draw()  # type: ignore[no-untyped-call]
            bbox = self.figure.bbox
            self._background = canvas.copy_from_bbox(bbox)  # type: ignore[no-untyped-call]

    def _update(self, candidate_id: str) -> None:
        data = self._data
        row = data.row(candidate_id)
        a = self._artists
        a.lines[0].set_data(*_closed(data.theta, data.values(row)))
        a.lines[0].set_label(drawable(candidate_id))
        if a.bands:
            path = _band_path(data.theta, *data.interval(row))
            a.bands[0].set_visible(path is not None)
            if path is not None:
                a.bands[0].set_path(path)
        self.axes.title.set_text(_ids_title([candidate_id]))

    @validate_params(
        {"candidate_id": [str], "format": [StrOptions("png", "svg", "pdf")]},
        caller="RadarRenderer.render",
    )
    def render(self, candidate_id: str, format: Literal["png", "svg", "pdf"] = "png") -> bytes:
        """The chart of one candidate as PNG (default), SVG or PDF bytes.

        PNGs take the fast path (background bitmap plus the changed artists); SVG
        and PDF are drawn in full, as :func:`save_figure` does.

        Raises
        ------
        UnknownCandidateError
            An unknown or rejected candidate (an ``InputError`` and a ``KeyError``).
        """
        self._update(candidate_id)
        if format != "png":
            return _figure_bytes(self.figure, format)
        canvas = self._canvas
        with _style():
            canvas.restore_region(self._background)  # type: ignore[no-untyped-call]
            renderer = canvas.get_renderer()  # type: ignore[no-untyped-call]
            for art in self._dynamic:
                art.draw(renderer)
        image = PIL.Image.frombuffer(
            "RGBA",
            canvas.get_width_height(),
            canvas.buffer_rgba(),  # type: ignore[no-untyped-call]
            "raw",
            "RGBA",
            0,
            1,
        ).convert("RGB")  # the figure is opaque: the alpha channel is all 255
        info = PIL.PngImagePlugin.PngInfo()
        for key, value in _PNG_METADATA.items():
            if value is not None:
                info.add_text(key, value)
        buf = io.BytesIO()
        image.save(
            buf, format="png", compress_level=_FAST_PNG_LEVEL, pnginfo=info, dpi=(_DPI, _DPI)
        )
        return buf.getvalue()
