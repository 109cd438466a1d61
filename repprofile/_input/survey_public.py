"""The public ``read_survey``: the export reader of :mod:`repprofile._input.survey` with its
parameters checked on entry.

The reader itself stays light to import (the CLI imports it at start-up); the check needs
the Questionnaire model, so it lives here.
"""

from __future__ import annotations

import os
from pathlib import Path

from repprofile._formats.mapping import EXPORT_FORMATS
from repprofile._formats.questionnaire import Questionnaire
from repprofile._input.answers import AnswerSet
from repprofile._input.problems import DUPLICATES
from repprofile._input.survey import read_survey as _read_survey
from repprofile._validation import StrOptions, validate_params

__all__ = ["read_survey"]


@validate_params(
    {
        "path": [str, os.PathLike],
        "questionnaire": [Questionnaire],
        "mapping_path": [str, os.PathLike],
        "kind": [StrOptions(*EXPORT_FORMATS), None],
        "encoding": [str, None],
        "duplicates": [StrOptions(*DUPLICATES)],
    }
)
def read_survey(
    path: str | os.PathLike[str],
    questionnaire: Questionnaire,
    mapping_path: str | os.PathLike[str],
    kind: str | None = None,
    *,
    encoding: str | None = None,
    duplicates: str = "reject",
) -> AnswerSet:
    """Read a survey tool's CSV (or .xlsx) export with a mapping file.

    The mapping (YAML; docs/answers-input.md, "The mapping file") says which column
    holds the candidate id, which column is which item, the answer labels and the
    columns to ignore. Every column of the export must be accounted for.

    Parameters
    ----------
    path : str or Path
        The export (``-`` reads stdin).
    questionnaire : Questionnaire
        Must be the mapping's ``questionnaire``.
    mapping_path : str or Path
        The mapping file (YAML).
    kind : {"generic", "surveymonkey", "qualtrics"}, optional
        Export layout; default the mapping's ``format``.
    encoding : str, optional
        Text encoding of a CSV export, e.g. ``"cp1252"``; default UTF-8 with or without
        a byte-order mark, or UTF-16 with one. The export may be separated by ``,``,
        ``;`` or tabs, or be an .xlsx workbook (first sheet; needs openpyxl).
    duplicates : {"reject", "first", "last"}, default "reject"
        A candidate id on several rows (a candidate who submitted the form twice):
        ``"reject"`` rejects them all with an error; ``"first"`` reads the first row and
        ``"last"`` the last one (the resubmission), with a :class:`RepprofileWarning`
        naming each repeated id, its rows and the one kept.

    Returns
    -------
    AnswerSet
        Answers in the questionnaire's item order, with ``seconds`` when the mapping
        names time columns, and a :class:`CandidateError` per rejected candidate.

    Raises
    ------
    InputError
        The mapping is invalid or does not fit the questionnaire or the export.
    """
    return _read_survey(
        Path(path),
        questionnaire,
        Path(mapping_path),
        kind,
        encoding=encoding,
        duplicates=duplicates,
    )
