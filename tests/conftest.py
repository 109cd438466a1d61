"""Shared fixtures: the R reference data of tests/reference (made by make_reference.R)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

import repprofile

REFERENCE = Path(__file__).parent / "reference"


def read_table(name: str) -> tuple[list[str], list[list[str]]]:
    """A reference CSV as (header, rows of strings)."""
    with (REFERENCE / name).open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def read_matrix(name: str) -> tuple[list[str], list[str], NDArray[np.float64]]:
    """A reference CSV whose first column labels rows: (header, row labels, floats; '' = NaN)."""
    header, rows = read_table(name)
    values = np.array([[float(v) if v != "" else np.nan for v in r[1:]] for r in rows])
    return header[1:], [r[0] for r in rows], values


def read_long(name: str) -> dict[tuple[str, ...], float]:
    """A long-format reference CSV: key columns then a final 'value' column."""
    _, rows = read_table(name)
    return {tuple(r[:-1]): (float(r[-1]) if r[-1] != "" else np.nan) for r in rows}


@pytest.fixture(scope="session")
def bfi() -> repprofile.Questionnaire:
    return repprofile.load_questionnaire(REFERENCE / "bfi.yaml")


@pytest.fixture(scope="session")
def bfi_answers(bfi: repprofile.Questionnaire) -> repprofile.AnswerSet:
    return repprofile.read_answers(REFERENCE / "bfi.csv", bfi)
