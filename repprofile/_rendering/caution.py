"""When a candidate's results need a caution, and how the outputs show it.

A result that may not describe the candidate (response quality flagged, or the
highest trait scores tied so that no type is determined) is still shown, but under
a banner that says why, with the type reading ``undetermined (tied)`` and the radar
chart greyed out. :func:`caution_reasons` is the one place that decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["TIED", "banner_text", "caution_reasons", "grey_out"]

TIED = "undetermined (tied)"
"""What a report shows for the primary (and secondary) type when the top scores tie."""

GREY = "#9a9a9a"


def caution_reasons(
    *, quality_valid: bool, quality_flags: Sequence[str], type_tied: bool
) -> list[str]:
    """Why a candidate's results need a caution; empty when they do not.

    A caution is needed when the response-quality verdict is invalid (one reason,
    naming the flags) or when the highest trait scores tie (no type determined).
    """
    reasons: list[str] = []
    if not quality_valid:
        n = len(quality_flags)
        reasons.append(
            f"response quality is flagged ({n} flag{'s' if n != 1 else ''}, "
            "listed under Response quality)"
            if n
            else "response quality is flagged"
        )
    if type_tied:
        reasons.append("the highest scale scores tie, so no type is determined")
    return reasons


def banner_text(reasons: Sequence[str]) -> str:
    """The caution banner shown above type, fit and chart ("" when no reasons)."""
    if not reasons:
        return ""
    return (
        f"These results may not describe the candidate: {'; '.join(reasons)}. "
        "Do not use them for a decision without a follow-up."
    )


def grey_out(ax: Axes) -> None:
    """Draw a radar chart's candidate profile, its interval band and its legend entry
    grey and faint (the role's line stays as it is)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    for line in ax.get_lines():
        if line.get_zorder() >= 3.0:  # candidate profiles (the role line is below)
            line.set_color(GREY)
            line.set_markerfacecolor(GREY)
            line.set_markeredgecolor(GREY)
            line.set_alpha(0.5)
    for patch in ax.patches:
        if str(patch.get_label()).startswith("_ci "):  # interval bands
            patch.set_facecolor(GREY)
            patch.set_alpha(0.12)
    legend = ax.get_legend()
    if legend is not None:  # every entry but the role's line
        role = {str(line.get_label()) for line in ax.get_lines() if line.get_zorder() < 3.0}
        for handle, text in zip(legend.legend_handles, legend.get_texts(), strict=False):
            if text.get_text() in role or handle is None:
                continue
            if isinstance(handle, Line2D):
                handle.set_color(GREY)
                handle.set_markerfacecolor(GREY)
                handle.set_markeredgecolor(GREY)
                handle.set_alpha(0.5)
            elif isinstance(handle, Patch):
                handle.set_facecolor(GREY)
