"""repprofile: evidence-based profiling of customer-service rep candidates.

The public API is exactly the names in ``__all__``; everything else lives in private
``_modules`` and may change without notice.
"""

from ._answers import AnswerSet, CandidateError, RepprofileWarning, read_answers
from ._calibrate import Calibration, calibrate, read_performance
from ._charts import RadarRenderer, radar_chart, radar_grid, save_figure
from ._errors import InputError, QuestionnaireError, RepprofileError
from ._fit import FitResult, fit, fit_many, rank
from ._norms import NormTable, ScaleNorm, build_norms, load_norms
from ._quality import QualityFlag
from ._questionnaire import (
    Item,
    QualitySettings,
    Questionnaire,
    ResponseScale,
    Scale,
    list_questionnaires,
    load_questionnaire,
)
from ._reliability import ItemStatistics, ReliabilityResult, ScaleReliability, reliability
from ._report import CandidateReport, candidate_report, write_report
from ._roles import Role, list_roles, load_role
from ._scoring import Profile, Provenance, QualityVerdict, ScaleScore, ScoreResult, score
from ._version import __version__

__all__ = [
    "AnswerSet",
    "Calibration",
    "CandidateError",
    "CandidateReport",
    "FitResult",
    "InputError",
    "Item",
    "ItemStatistics",
    "NormTable",
    "Profile",
    "Provenance",
    "QualityFlag",
    "QualitySettings",
    "QualityVerdict",
    "Questionnaire",
    "QuestionnaireError",
    "RadarRenderer",
    "ReliabilityResult",
    "RepprofileError",
    "RepprofileWarning",
    "ResponseScale",
    "Role",
    "Scale",
    "ScaleNorm",
    "ScaleReliability",
    "ScaleScore",
    "ScoreResult",
    "__version__",
    "build_norms",
    "calibrate",
    "candidate_report",
    "fit",
    "fit_many",
    "list_questionnaires",
    "list_roles",
    "load_norms",
    "load_questionnaire",
    "load_role",
    "radar_chart",
    "radar_grid",
    "rank",
    "read_answers",
    "read_performance",
    "reliability",
    "save_figure",
    "score",
    "write_report",
]
