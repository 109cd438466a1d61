"""repprofile: evidence-based profiling of customer-service rep candidates.

The public API is exactly the names in ``__all__``; everything else lives in private
``_modules`` and may change without notice.
"""

from ._answers import AnswerSet, CandidateError, RepprofileWarning, read_answers
from ._errors import InputError, QuestionnaireError, RepprofileError
from ._questionnaire import (
    Item,
    Questionnaire,
    ResponseScale,
    Scale,
    list_questionnaires,
    load_questionnaire,
)
from ._reliability import ItemStatistics, ReliabilityResult, ScaleReliability, reliability
from ._scoring import Profile, Provenance, ScaleScore, ScoreResult, score
from ._version import __version__

__all__ = [
    "AnswerSet",
    "CandidateError",
    "InputError",
    "Item",
    "ItemStatistics",
    "Profile",
    "Provenance",
    "Questionnaire",
    "QuestionnaireError",
    "ReliabilityResult",
    "RepprofileError",
    "RepprofileWarning",
    "ResponseScale",
    "Scale",
    "ScaleReliability",
    "ScaleScore",
    "ScoreResult",
    "__version__",
    "list_questionnaires",
    "load_questionnaire",
    "read_answers",
    "reliability",
    "score",
]
