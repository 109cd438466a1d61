"""repprofile: evidence-based profiling of customer-service rep candidates.

The public API is exactly the names in ``__all__``; everything else lives in private
``_modules`` and may change without notice. Names are imported on first use (PEP 562),
so ``import repprofile`` and the command line start fast; ``from repprofile import
score`` works as usual. ``create_app`` and ``ServerSettings`` need the ``server`` extra
(FastAPI), imported only when they are used.
"""

import importlib as _importlib
import typing as _typing

from ._version import __version__

if _typing.TYPE_CHECKING:
    from ._answers import AnswerSet as AnswerSet
    from ._answers import CandidateError as CandidateError
    from ._answers import RepprofileWarning as RepprofileWarning
    from ._answers import read_answers as read_answers
    from ._audit import AuditResult as AuditResult
    from ._audit import audit as audit
    from ._calibrate import Calibration as Calibration
    from ._calibrate import calibrate as calibrate
    from ._calibrate import read_performance as read_performance
    from ._charts import RadarRenderer as RadarRenderer
    from ._charts import radar_chart as radar_chart
    from ._charts import radar_grid as radar_grid
    from ._charts import save_figure as save_figure
    from ._errors import InputError as InputError
    from ._errors import QuestionnaireError as QuestionnaireError
    from ._errors import RepprofileError as RepprofileError
    from ._fit import FitResult as FitResult
    from ._fit import fit as fit
    from ._fit import fit_many as fit_many
    from ._fit import rank as rank
    from ._norms import NormTable as NormTable
    from ._norms import ScaleNorm as ScaleNorm
    from ._norms import build_norms as build_norms
    from ._norms import load_norms as load_norms
    from ._quality import QualityFlag as QualityFlag
    from ._questionnaire import Item as Item
    from ._questionnaire import QualitySettings as QualitySettings
    from ._questionnaire import Questionnaire as Questionnaire
    from ._questionnaire import ResponseScale as ResponseScale
    from ._questionnaire import Scale as Scale
    from ._questionnaire import list_questionnaires as list_questionnaires
    from ._questionnaire import load_questionnaire as load_questionnaire
    from ._reliability import ItemStatistics as ItemStatistics
    from ._reliability import ReliabilityResult as ReliabilityResult
    from ._reliability import ScaleReliability as ScaleReliability
    from ._reliability import reliability as reliability
    from ._report import CandidateReport as CandidateReport
    from ._report import candidate_report as candidate_report
    from ._report import write_report as write_report
    from ._roles import Role as Role
    from ._roles import list_roles as list_roles
    from ._roles import load_role as load_role
    from ._scoring import Profile as Profile
    from ._scoring import Provenance as Provenance
    from ._scoring import QualityVerdict as QualityVerdict
    from ._scoring import ScaleScore as ScaleScore
    from ._scoring import ScoreResult as ScoreResult
    from ._scoring import score as score
    from ._server import ServerSettings as ServerSettings
    from ._server import create_app as create_app

_LAZY = {
    "AuditResult": "._audit",
    "audit": "._audit",
    "AnswerSet": "._answers",
    "Calibration": "._calibrate",
    "CandidateError": "._answers",
    "CandidateReport": "._report",
    "FitResult": "._fit",
    "InputError": "._errors",
    "Item": "._questionnaire",
    "ItemStatistics": "._reliability",
    "NormTable": "._norms",
    "Profile": "._scoring",
    "Provenance": "._scoring",
    "QualityFlag": "._quality",
    "QualitySettings": "._questionnaire",
    "QualityVerdict": "._scoring",
    "Questionnaire": "._questionnaire",
    "QuestionnaireError": "._errors",
    "RadarRenderer": "._charts",
    "ReliabilityResult": "._reliability",
    "RepprofileError": "._errors",
    "RepprofileWarning": "._answers",
    "ResponseScale": "._questionnaire",
    "Role": "._roles",
    "Scale": "._questionnaire",
    "ScaleNorm": "._norms",
    "ScaleReliability": "._reliability",
    "ScaleScore": "._scoring",
    "ScoreResult": "._scoring",
    "ServerSettings": "._server",
    "build_norms": "._norms",
    "calibrate": "._calibrate",
    "create_app": "._server",
    "candidate_report": "._report",
    "fit": "._fit",
    "fit_many": "._fit",
    "list_questionnaires": "._questionnaire",
    "list_roles": "._roles",
    "load_norms": "._norms",
    "load_questionnaire": "._questionnaire",
    "load_role": "._roles",
    "radar_chart": "._charts",
    "radar_grid": "._charts",
    "rank": "._fit",
    "read_answers": "._answers",
    "read_performance": "._calibrate",
    "reliability": "._reliability",
    "save_figure": "._charts",
    "score": "._scoring",
    "write_report": "._report",
}

__all__ = [
    "AnswerSet",
    "AuditResult",
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
    "ServerSettings",
    "__version__",
    "audit",
    "build_norms",
    "calibrate",
    "candidate_report",
    "create_app",
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


def __getattr__(name: str) -> _typing.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'repprofile' has no attribute {name!r}")
    try:
        value = getattr(_importlib.import_module(module, __name__), name)
    except ImportError as exc:
        if module != "._server":
            raise
        raise ImportError(
            f"repprofile.{name} needs the server extra ({exc.name} is not installed): "
            "pip install 'repprofile[server]'"
        ) from exc
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
