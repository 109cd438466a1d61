"""Radar charts (repprofile._rendering.charts): structure, errors, determinism and images.

Structural tests read the drawn artists back: the candidate's polygon is the Line2D
labelled with the candidate id, the role line the one labelled ``Role ...``, the interval
band the PathPatch labelled ``_ci <candidate id>``.

Image tests compare with the PNGs committed in tests/baseline/. After a deliberate change
of the charts, look at the new images and regenerate them with

    .venv/bin/python -m tests.test_charts --regen

(``--gallery`` rewrites the images of docs/gallery.md the same way.)
"""

from __future__ import annotations

import argparse
import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import PIL.Image
import pytest
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import PathPatch
from matplotlib.projections.polar import PolarAxes
from matplotlib.testing.compare import compare_images
from numpy.typing import NDArray

import repprofile
from repprofile import QuestionnaireError, RadarRenderer, Role, radar_chart, radar_grid, save_figure
from repprofile._formats.files import bundled_dir
from repprofile._rendering.charts import MAX_OVERLAY, OKABE_ITO, _band_path
from repprofile.stats import percentile_rank

BASELINE = Path(__file__).parent / "baseline"
GALLERY = Path(__file__).parent.parent / "docs" / "gallery"
TOL = 2.0  # RMS of the pixel difference, 0-255 scale
TRAITS = (
    "accommodator",
    "competitor",
    "controller",
    "empathizer",
    "hard_worker",
    "innovator",
    "rock",
)
NAMES = (
    "Accommodator",
    "Competitor",
    "Controller",
    "Empathizer",
    "Hard Worker",
    "Innovator",
    "Rock",
)


# --------------------------------------------------------------------------- data


def _bundled(norms: bool) -> repprofile.ScoreResult:
    b = bundled_dir()
    return repprofile.score(
        "rep-types",
        b / "samples" / "rep-types-simulated.csv",
        norms=b / "norms" / "rep-types-simulated.json" if norms else None,
    )


def _weights_role() -> Role:
    """A role without a target: the chart shows its rescaled weights."""
    return Role(
        id="weights-only",
        name="Weights only",
        description="test role without a target",
        questionnaire="rep-types",
        weights={"rock": 0.5, "controller": 0.25, "competitor": -0.25},
        rationale="test",
    )


def _custom_questionnaire(
    n_traits: int = 3, names: tuple[str, ...] | None = None, reliability: bool = True
) -> repprofile.Questionnaire:
    """n_traits trait scales of two items each, plus a validity scale; 1-5 answers."""
    names = names or tuple(f"Scale {chr(65 + i)}" for i in range(n_traits))
    scales = [
        {"id": f"s{i}", "name": names[i]} | ({"reliability": 0.8, "sd": 0.7} if reliability else {})
        for i in range(n_traits)
    ]
    scales.append({"id": "imp", "name": "Impression", "kind": "validity"})
    items = [
        {"id": f"s{i}_{k}", "text": f"item {k} of scale {i}", "scale": f"s{i}"}
        for i in range(n_traits)
        for k in (1, 2)
    ] + [{"id": f"imp_{k}", "text": "validity", "scale": "imp"} for k in (1, 2)]
    return repprofile.Questionnaire.model_validate(
        {
            "id": "custom",
            "version": "0.1",
            "title": "Custom",
            "response_scale": {"min": 1, "max": 5},
            "scales": scales,
            "items": items,
        }
    )


CUSTOM_NAMES = (
    "Conscientiousness at work",
    "Emotional stability under pressure",
    "Openness",
)


def _custom_scores(n_traits: int = 3, reliability: bool = True) -> repprofile.ScoreResult:
    names = CUSTOM_NAMES if n_traits == 3 else None
    q = _custom_questionnaire(n_traits, names, reliability)
    answers = np.array(
        [
            [5, 4, 2, 3, 4, 4, 1, 2, 3, 3, 2, 2][: 2 * n_traits + 2],
            [1, 2, 5, 5, 3, 2, 4, 4, 2, 1, 3, 3][: 2 * n_traits + 2],
        ],
        dtype=np.float64,
    )
    return repprofile.score(q, answers, candidate_ids=["cand-a", "cand-b"])


@pytest.fixture(scope="module")
def normed() -> repprofile.ScoreResult:
    return _bundled(norms=True)


@pytest.fixture(scope="module")
def plain() -> repprofile.ScoreResult:
    return _bundled(norms=False)


@pytest.fixture(scope="module")
def escalations() -> Role:
    return repprofile.load_role("escalations")


def _line(ax: PolarAxes, label: str) -> Line2D:
    found = [ln for ln in ax.get_lines() if ln.get_label() == label]
    assert len(found) == 1, [ln.get_label() for ln in ax.get_lines()]
    return found[0]


def _role_lines(ax: PolarAxes) -> list[Line2D]:
    return [ln for ln in ax.get_lines() if str(ln.get_label()).startswith("Role ")]


def _bands(ax: PolarAxes) -> list[PathPatch]:
    return [
        p
        for p in ax.patches
        if isinstance(p, PathPatch) and str(p.get_label()).startswith("_ci ") and p.get_visible()
    ]


def _polar(ax: object) -> PolarAxes:
    assert isinstance(ax, PolarAxes)
    return ax


def _xy(line: Line2D) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    x, y = line.get_data()
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def _cols(scores: repprofile.ScoreResult) -> list[int]:
    return [scores.scale_ids.index(s) for s in TRAITS]


def _figure(ax: PolarAxes) -> Figure:
    fig = ax.get_figure(root=True)
    assert isinstance(fig, Figure)
    return fig


def _svg(fig: Figure, tmp_path: Path, name: str = "c.svg") -> bytes:
    return save_figure(fig, tmp_path / name).read_bytes()


# --------------------------------------------------------------------------- structure


def test_polygon_radii_are_the_pomp_scores_at_even_angles(plain: repprofile.ScoreResult) -> None:
    ax = _polar(radar_chart(plain, "SIMULATED-03"))
    theta, r = _xy(_line(ax, "SIMULATED-03"))
    n = len(TRAITS)
    assert theta.size == n + 1  # closed: the first spoke again at 2 pi
    np.testing.assert_allclose(theta[:n], 2 * np.pi * np.arange(n) / n)
    assert theta[n] == pytest.approx(2 * np.pi)
    row = plain.candidate_ids.index("SIMULATED-03")
    np.testing.assert_allclose(r[:n], plain.pomp[row, _cols(plain)])
    assert r[n] == r[0]
    assert ax.get_ylim() == (0.0, 100.0)


def test_with_norms_the_radii_are_percentiles(normed: repprofile.ScoreResult) -> None:
    row = normed.candidate_ids.index("SIMULATED-07")
    ax = _polar(radar_chart(normed, "SIMULATED-07"))  # metric="auto"
    _, r = _xy(_line(ax, "SIMULATED-07"))
    np.testing.assert_allclose(r[:-1], normed.normed.percentile[row, _cols(normed)])
    assert "percentile" in ax.texts[0].get_text()
    ax = _polar(radar_chart(normed, "SIMULATED-07", metric="pomp"))
    _, r = _xy(_line(ax, "SIMULATED-07"))
    np.testing.assert_allclose(r[:-1], normed.pomp[row, _cols(normed)])
    assert "POMP" in ax.texts[0].get_text()


def test_spoke_labels_are_the_trait_scale_names_in_order(normed: repprofile.ScoreResult) -> None:
    ax = _polar(radar_chart(normed, "SIMULATED-01"))
    assert tuple(t.get_text() for t in ax.get_xticklabels()) == NAMES  # no validity scale
    np.testing.assert_allclose(ax.get_xticks(), 2 * np.pi * np.arange(7) / 7)
    # labels on the sides face away from the plot, so they never run over it
    align = {t.get_text(): t.get_horizontalalignment() for t in ax.get_xticklabels()}
    assert align["Accommodator"] == "center"
    assert align["Controller"] == "left"
    assert align["Innovator"] == "right"


def test_long_scale_names_are_wrapped() -> None:
    ax = _polar(radar_chart(_custom_scores(), "cand-a"))
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[0] == "Conscientiousness\nat work"
    assert labels[1] == "Emotional\nstability\nunder pressure"
    assert labels[2] == "Openness"


def test_title_names_candidate_questionnaire_and_simulated_norms(
    normed: repprofile.ScoreResult, plain: repprofile.ScoreResult
) -> None:
    ax = _polar(radar_chart(normed, "SIMULATED-01"))
    assert ax.get_title() == "SIMULATED-01"
    subtitle = ax.texts[0].get_text()
    assert "rep-types 1.1.0" in subtitle
    assert "norms: SIMULATED" in subtitle
    ax = _polar(radar_chart(plain, ["SIMULATED-01", "SIMULATED-02"]))
    assert ax.get_title() == "SIMULATED-01, SIMULATED-02"
    assert "SIMULATED" not in ax.texts[0].get_text()  # no norms, nothing simulated said


def test_legend_lists_candidates_role_and_interval(
    normed: repprofile.ScoreResult, escalations: Role
) -> None:
    ax = _polar(radar_chart(normed, ["SIMULATED-01", "SIMULATED-02"], role=escalations))
    legend = ax.get_legend()
    assert legend is not None
    assert [t.get_text() for t in legend.get_texts()] == [
        "SIMULATED-01",
        "SIMULATED-02",
        "Role target: Escalations and complaints",
        "90% confidence interval (shaded)",
    ]
    single = _polar(radar_chart(normed, "SIMULATED-01")).get_legend()
    assert single is not None
    assert single.get_texts()[0].get_text() == "Candidate's scores"  # the id is the title


def test_svg_contains_the_candidate_id(normed: repprofile.ScoreResult, tmp_path: Path) -> None:
    ax = _polar(radar_chart(normed, "SIMULATED-05"))
    svg = _svg(_figure(ax), tmp_path).decode("utf-8")
    assert svg.startswith("<?xml")
    assert "SIMULATED-05" in svg


def test_overlay_uses_okabe_ito_colours_and_distinct_markers(
    plain: repprofile.ScoreResult,
) -> None:
    ids = list(plain.candidate_ids[:MAX_OVERLAY])
    ax = _polar(radar_chart(plain, ids))
    lines = [_line(ax, cid) for cid in ids]
    colours = [ln.get_color() for ln in lines]
    assert len(set(colours)) == MAX_OVERLAY
    assert set(colours) <= set(OKABE_ITO.values())
    assert len({ln.get_marker() for ln in lines}) == MAX_OVERLAY
    for cid, line in zip(ids, lines, strict=True):
        row = plain.candidate_ids.index(cid)
        np.testing.assert_allclose(_xy(line)[1][:-1], plain.pomp[row, _cols(plain)])


def test_role_target_is_a_dashed_line(plain: repprofile.ScoreResult, escalations: Role) -> None:
    ax = _polar(radar_chart(plain, "SIMULATED-01", role=escalations))
    (line,) = _role_lines(ax)
    assert line.get_label() == "Role target: Escalations and complaints"
    assert line.get_linestyle() == "--"
    theta, r = _xy(line)
    np.testing.assert_allclose(theta[:-1], 2 * np.pi * np.arange(7) / 7)
    np.testing.assert_allclose(r[:-1], [escalations.target[s] for s in TRAITS])
    assert not _role_lines(_polar(radar_chart(plain, "SIMULATED-01")))


def test_role_target_in_percentile_metric_is_its_norm_percentile(
    normed: repprofile.ScoreResult, escalations: Role
) -> None:
    ax = _polar(radar_chart(normed, "SIMULATED-01", role=escalations))
    (line,) = _role_lines(ax)
    assert normed.norms is not None
    expected = []
    for s in TRAITS:
        norm = normed.norms.scales[s]
        mean = 1.0 + escalations.target[s] / 100.0 * 4.0  # POMP back to the 1-5 mean
        pct = percentile_rank(np.array([mean]), np.array(norm.values), np.array(norm.counts))
        expected.append(pct[0])
    np.testing.assert_allclose(_xy(line)[1][:-1], expected)


def test_role_without_target_shows_rescaled_weights(plain: repprofile.ScoreResult) -> None:
    ax = _polar(radar_chart(plain, "SIMULATED-01", role=_weights_role()))
    (line,) = _role_lines(ax)
    assert str(line.get_label()) == "Role weights: Weights only (rescaled; 50 = weight 0)"
    weights = {"rock": 0.5, "controller": 0.25, "competitor": -0.25}
    expected = [50 + 50 * weights.get(s, 0.0) / 0.5 for s in TRAITS]  # 50 + 50 w / max|w|
    np.testing.assert_allclose(_xy(line)[1][:-1], expected)
    assert _xy(line)[1][TRAITS.index("rock")] == 100.0


def test_role_for_another_questionnaire_is_refused(escalations: Role) -> None:
    with pytest.raises(QuestionnaireError, match="rep-types"):
        radar_chart(_custom_scores(), "cand-a", role=escalations)


def _band_radii(band: PathPatch) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(high, low) radii of a full-ring band: up along high, back along low."""
    v = np.asarray(band.get_path().vertices, dtype=np.float64)
    n = (len(v) - 1) // 2  # n + 1 points each way, then the closing vertex
    return v[:n, 1], v[n : 2 * n, 1][::-1]


def test_ci_band_in_pomp_metric_is_the_converted_mean_interval(
    normed: repprofile.ScoreResult,
) -> None:
    ax = _polar(radar_chart(normed, "SIMULATED-02", metric="pomp"))
    (band,) = _bands(ax)
    high, low = _band_radii(band)
    row = normed.candidate_ids.index("SIMULATED-02")
    cols = _cols(normed)
    lo = np.clip(100 * (normed.normed.ci_low[row, cols] - 1) / 4, 0, 100)
    hi = np.clip(100 * (normed.normed.ci_high[row, cols] - 1) / 4, 0, 100)
    np.testing.assert_allclose(high[:-1], hi)
    np.testing.assert_allclose(low[:-1], lo)
    assert (low <= _xy(_line(ax, "SIMULATED-02"))[1]).all()


def test_ci_band_in_percentile_metric(normed: repprofile.ScoreResult) -> None:
    ax = _polar(radar_chart(normed, "SIMULATED-02"))
    (band,) = _bands(ax)
    high, low = _band_radii(band)
    row = normed.candidate_ids.index("SIMULATED-02")
    np.testing.assert_allclose(high[:-1], normed.normed.percentile_ci_high[row, _cols(normed)])
    np.testing.assert_allclose(low[:-1], normed.normed.percentile_ci_low[row, _cols(normed)])


def test_no_band_when_the_interval_is_unknown(
    plain: repprofile.ScoreResult, normed: repprofile.ScoreResult
) -> None:
    assert np.isnan(plain.normed.ci_low).all()  # no norms, no reliabilities in the file
    ax = _polar(radar_chart(plain, ["SIMULATED-01", "SIMULATED-02"]))
    assert not _bands(ax)
    legend = ax.get_legend()
    assert legend is not None
    assert not any("interval" in t.get_text() for t in legend.get_texts())
    assert not _bands(_polar(radar_chart(normed, "SIMULATED-01", show_ci=False)))
    assert len(_bands(_polar(radar_chart(normed, ["SIMULATED-01", "SIMULATED-02"])))) == 2


def test_band_covers_only_sectors_between_known_intervals() -> None:
    theta = 2 * np.pi * np.arange(5) / 5
    low = np.array([10.0, 20.0, np.nan, 30.0, 40.0])
    high = low + 10.0
    path = _band_path(theta, low, high)
    assert path is not None
    polys = [np.asarray(p, dtype=np.float64) for p in path.to_polygons(closed_only=True)]
    # spokes 3, 4, 0, 1 are one run, wrapping round through 2 pi; spoke 2 has no interval
    assert len(polys) == 1
    angles = np.unique(np.round(polys[0][:, 0], 9))
    expected = np.round([theta[3], theta[4], theta[0] + 2 * np.pi, theta[1] + 2 * np.pi], 9)
    np.testing.assert_allclose(angles, expected)
    assert _band_path(theta, np.full(5, np.nan), np.full(5, np.nan)) is None
    lone = np.array([10.0, np.nan, np.nan, np.nan, np.nan])
    assert _band_path(theta, lone, lone + 5) is None  # no sector without a neighbour


def test_missing_score_leaves_a_gap(plain: repprofile.ScoreResult) -> None:
    q = _custom_questionnaire(4)
    answers = np.array([[5, 4, np.nan, np.nan, 2, 3, 3, 3, 1, 1]])
    scores = repprofile.score(q, answers, candidate_ids=["gap"])
    ax = _polar(radar_chart(scores, "gap"))
    r = _xy(_line(ax, "gap"))[1]
    assert np.isnan(r[1])
    assert np.isfinite(r[[0, 2, 3, 4]]).all()


# --------------------------------------------------------------------------- errors


def test_more_than_five_candidates_point_to_the_grid(plain: repprofile.ScoreResult) -> None:
    with pytest.raises(ValueError, match=r"at most 5 candidates, got 6; use radar_grid"):
        radar_chart(plain, list(plain.candidate_ids[:6]))
    with pytest.raises(ValueError, match="at least one candidate"):
        radar_chart(plain, [])


def test_fewer_than_three_trait_scales_are_refused() -> None:
    scores = _custom_scores(n_traits=2)
    with pytest.raises(ValueError, match=r"at least 3 trait scales; questionnaire 'custom' has 2"):
        radar_chart(scores, "cand-a")
    with pytest.raises(ValueError, match="at least 3 trait scales"):
        radar_grid(scores, ["cand-a"])
    with pytest.raises(ValueError, match="at least 3 trait scales"):
        RadarRenderer(scores)


def test_custom_three_scale_questionnaire(tmp_path: Path) -> None:
    scores = _custom_scores()
    ax = _polar(radar_chart(scores, ["cand-a", "cand-b"]))
    theta, r = _xy(_line(ax, "cand-b"))
    np.testing.assert_allclose(theta[:3], [0, 2 * np.pi / 3, 4 * np.pi / 3])
    np.testing.assert_allclose(r[:3], scores.pomp[1, :3])
    assert len(_bands(ax)) == 2  # reliability and SD in the questionnaire file give intervals
    assert "custom 0.1" in ax.texts[0].get_text()
    assert save_figure(_figure(ax), tmp_path / "c.png").stat().st_size > 0


def test_bad_metric_and_percentile_without_norms(plain: repprofile.ScoreResult) -> None:
    with pytest.raises(ValueError, match="metric='percentile' needs norms"):
        radar_chart(plain, "SIMULATED-01", metric="percentile")
    with pytest.raises(ValueError, match="'metric' parameter of radar_chart must be"):
        radar_chart(plain, "SIMULATED-01", metric="z")  # type: ignore[arg-type]


def test_unknown_and_rejected_candidates(plain: repprofile.ScoreResult) -> None:
    with pytest.raises(KeyError, match="no candidate 'nobody'"):
        radar_chart(plain, "nobody")
    q = repprofile.load_questionnaire("rep-types")
    answers = np.full((2, len(q.item_ids)), 3.0)
    answers[1, 0] = 9.0  # out of the response scale: rejected
    scores = repprofile.score(q, answers, candidate_ids=["ok", "bad"])
    with pytest.raises(KeyError, match="'bad' was rejected"):
        radar_chart(scores, "bad")
    with pytest.raises(TypeError, match="must be strings"):
        radar_chart(scores, [1])  # type: ignore[list-item]


def test_draws_on_a_given_polar_axes_and_refuses_a_cartesian_one(
    plain: repprofile.ScoreResult,
) -> None:
    fig = Figure()
    ax = fig.add_subplot(projection="polar")
    assert radar_chart(plain, "SIMULATED-01", ax=ax) is ax
    assert _line(_polar(ax), "SIMULATED-01") is not None
    with pytest.raises(ValueError, match="must be a polar Axes"):
        radar_chart(plain, "SIMULATED-01", ax=Figure().add_subplot())


def test_own_figure_has_an_agg_canvas(plain: repprofile.ScoreResult) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = _figure(_polar(radar_chart(plain, "SIMULATED-01")))
    assert isinstance(fig.canvas, FigureCanvasAgg)


# --------------------------------------------------------------------------- grid


def test_radar_grid_small_multiples(normed: repprofile.ScoreResult, escalations: Role) -> None:
    ids = list(normed.candidate_ids[:7])
    fig = radar_grid(normed, ids, role=escalations, ncols=3)
    axes = [_polar(a) for a in fig.axes]
    assert len(axes) == 7  # 3 x 3 cells, the two unused ones left empty
    assert [a.get_title() for a in axes] == ids
    for a, cid in zip(axes, ids, strict=True):
        row = normed.candidate_ids.index(cid)
        r = _xy(_line(a, cid))[1]
        np.testing.assert_allclose(r[:-1], normed.normed.percentile[row, _cols(normed)])
        assert len(_role_lines(a)) == 1
        assert len(_bands(a)) == 1
    assert fig.get_suptitle().endswith("norms: SIMULATED")
    assert fig.legends[0].get_texts()[0].get_text() == "Candidate's scores"
    assert len(radar_grid(normed, ids[:2]).axes) == 2
    with pytest.raises(ValueError, match="'ncols' parameter of radar_grid must be at least 1"):
        radar_grid(normed, ids, ncols=0)
    with pytest.raises(ValueError, match="at least one candidate"):
        radar_grid(normed, [])


# --------------------------------------------------------------------------- saving


def test_save_figure_formats(plain: repprofile.ScoreResult, tmp_path: Path) -> None:
    fig = _figure(_polar(radar_chart(plain, "SIMULATED-01")))
    magic = {"png": b"\x89PNG", "svg": b"<?xml", "pdf": b"%PDF", "PNG": b"\x89PNG"}
    for ext, start in magic.items():
        out = save_figure(fig, str(tmp_path / f"chart.{ext}"))
        assert out.read_bytes().startswith(start)
    with pytest.raises(ValueError, match=r"must end in \.png, \.svg or \.pdf"):
        save_figure(fig, tmp_path / "chart.jpg")


@pytest.mark.parametrize("ext", ["svg", "pdf"])
def test_same_input_gives_identical_bytes(
    normed: repprofile.ScoreResult, escalations: Role, tmp_path: Path, ext: str
) -> None:
    outs = []
    for i in range(2):
        ax = radar_chart(normed, ["SIMULATED-01", "SIMULATED-04"], role=escalations)
        outs.append(save_figure(_figure(_polar(ax)), tmp_path / f"c{i}.{ext}").read_bytes())
    assert outs[0] == outs[1]
    grids = [
        save_figure(radar_grid(normed, ["SIMULATED-01", "SIMULATED-02"]), tmp_path / f"g{i}.{ext}")
        for i in range(2)
    ]
    assert grids[0].read_bytes() == grids[1].read_bytes()
    if ext == "pdf":
        assert b"CreationDate" not in outs[0]


def test_user_rcparams_do_not_change_the_output(
    normed: repprofile.ScoreResult, tmp_path: Path
) -> None:
    import matplotlib

    first = _svg(_figure(_polar(radar_chart(normed, "SIMULATED-01"))), tmp_path, "a.svg")
    with matplotlib.rc_context({"font.size": 20, "lines.linewidth": 5, "svg.hashsalt": None}):
        second = _svg(_figure(_polar(radar_chart(normed, "SIMULATED-01"))), tmp_path, "b.svg")
    assert first == second


# --------------------------------------------------------------------------- renderer


def test_renderer_updates_the_reused_figure(
    normed: repprofile.ScoreResult, escalations: Role
) -> None:
    renderer = RadarRenderer(normed, role=escalations)
    fig = renderer.figure
    for cid in ("SIMULATED-09", "SIMULATED-02"):
        png = renderer.render(cid)
        assert png.startswith(b"\x89PNG")
        assert renderer.figure is fig
        assert renderer.axes.get_title() == cid
        row = normed.candidate_ids.index(cid)
        r = _xy(_line(renderer.axes, cid))[1]
        np.testing.assert_allclose(r[:-1], normed.normed.percentile[row, _cols(normed)])
        high, _ = _band_radii(_bands(renderer.axes)[0])
        np.testing.assert_allclose(high[:-1], normed.normed.percentile_ci_high[row, _cols(normed)])
    with pytest.raises(KeyError, match="no candidate"):
        renderer.render("nobody")


def _pixels(data: bytes) -> NDArray[np.uint8]:
    with PIL.Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


@pytest.mark.parametrize("norms", [True, False])
def test_renderer_png_is_the_radar_chart_picture(
    normed: repprofile.ScoreResult,
    plain: repprofile.ScoreResult,
    escalations: Role,
    tmp_path: Path,
    norms: bool,
) -> None:
    scores = normed if norms else plain
    renderer = RadarRenderer(scores, role=escalations)
    renderer.render("SIMULATED-12")  # a different candidate first: nothing may be left over
    fast = renderer.render("SIMULATED-05")
    ax = _polar(radar_chart(scores, "SIMULATED-05", role=escalations))
    full = save_figure(_figure(ax), tmp_path / "full.png").read_bytes()
    np.testing.assert_array_equal(_pixels(fast), _pixels(full))


def test_renderer_svg_matches_save_figure(normed: repprofile.ScoreResult, tmp_path: Path) -> None:
    renderer = RadarRenderer(normed)
    renderer.render("SIMULATED-03")
    svg = renderer.render("SIMULATED-05", format="svg")
    assert svg == _svg(_figure(_polar(radar_chart(normed, "SIMULATED-05"))), tmp_path)


# --------------------------------------------------------------------------- images


def _single_percentile_role() -> Figure:
    role = repprofile.load_role("escalations")
    return _figure(_polar(radar_chart(_bundled(True), "SIMULATED-01", role=role)))


def _overlay_pomp_ci() -> Figure:
    ax = radar_chart(
        _bundled(True),
        ["SIMULATED-01", "SIMULATED-02", "SIMULATED-03"],
        role=repprofile.load_role("escalations"),
        metric="pomp",
    )
    return _figure(_polar(ax))


def _overlay5_no_norms() -> Figure:
    ids = [f"SIMULATED-{i:02d}" for i in range(1, 6)]
    return _figure(_polar(radar_chart(_bundled(False), ids)))


def _weights_no_target() -> Figure:
    ax = radar_chart(_bundled(False), "SIMULATED-09", role=_weights_role())
    return _figure(_polar(ax))


def _custom_three_scales() -> Figure:
    return _figure(_polar(radar_chart(_custom_scores(), ["cand-a", "cand-b"])))


def _grid_six() -> Figure:
    ids = [f"SIMULATED-{i:02d}" for i in range(1, 7)]
    return radar_grid(_bundled(True), ids, role=repprofile.load_role("escalations"), ncols=3)


def _grid_all() -> Figure:
    scores = _bundled(True)
    return radar_grid(scores, list(scores.candidate_ids), role=repprofile.load_role("retention"))


BASELINES: dict[str, Callable[[], Figure]] = {
    "single_percentile_role": _single_percentile_role,
    "overlay_pomp_ci": _overlay_pomp_ci,
    "weights_no_target": _weights_no_target,
    "custom_three_scales": _custom_three_scales,
    "grid_six": _grid_six,
}
GALLERY_CHARTS: dict[str, Callable[[], Figure]] = {
    **BASELINES,
    "overlay5_no_norms": _overlay5_no_norms,
    "grid_all": _grid_all,
}


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_image_matches_baseline(name: str, tmp_path: Path) -> None:
    expected = BASELINE / f"{name}.png"
    assert expected.is_file(), f"no baseline {name}: run python -m tests.test_charts --regen"
    actual = save_figure(BASELINES[name](), tmp_path / f"{name}.png")
    result = compare_images(str(expected), str(actual), tol=TOL)
    assert result is None, result


def regenerate(folder: Path, charts: dict[str, Callable[[], Figure]]) -> list[Path]:
    """Write every chart of ``charts`` as ``folder/<name>.png`` (not a test)."""
    folder.mkdir(parents=True, exist_ok=True)
    return [save_figure(make(), folder / f"{name}.png") for name, make in charts.items()]


def main() -> None:
    ap = argparse.ArgumentParser(description="Regenerate chart images.")
    ap.add_argument("--regen", action="store_true", help=f"rewrite {BASELINE}")
    ap.add_argument("--gallery", action="store_true", help=f"rewrite {GALLERY}")
    args = ap.parse_args()
    written: list[Path] = []
    if args.regen:
        written += regenerate(BASELINE, BASELINES)
    if args.gallery:
        written += regenerate(GALLERY, GALLERY_CHARTS)
    if not written:
        ap.error("nothing to do: pass --regen and/or --gallery")
    for path in written:
        print(path)


if __name__ == "__main__":
    main()
