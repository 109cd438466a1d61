"""Type stub and the one list of public names.

Every ``from MODULE import NAME as NAME`` line below is a public name of repprofile:
type checkers read it here, and ``repprofile/__init__.py`` reads the same lines at run
time to import each name lazily on first use. Add a public name by adding a line.
"""

__all__: list[str]

from repprofile._analysis.audit import AuditResult as AuditResult
from repprofile._analysis.audit import audit as audit
from repprofile._analysis.calibrate import Calibration as Calibration
from repprofile._analysis.calibrate import calibrate as calibrate
from repprofile._analysis.calibrate import read_performance as read_performance
from repprofile._analysis.fit import FitResult as FitResult
from repprofile._analysis.fit import fit as fit
from repprofile._analysis.fit import fit_many as fit_many
from repprofile._analysis.fit import rank as rank
from repprofile._analysis.normed import NormedScores as NormedScores
from repprofile._analysis.norms import build_norms as build_norms
from repprofile._analysis.quality import QualityFlag as QualityFlag
from repprofile._analysis.quality import QualityResult as QualityResult
from repprofile._analysis.reliability import ItemStatistics as ItemStatistics
from repprofile._analysis.reliability import ReliabilityResult as ReliabilityResult
from repprofile._analysis.reliability import ScaleReliability as ScaleReliability
from repprofile._analysis.reliability import reliability as reliability
from repprofile._analysis.scoring import Profile as Profile
from repprofile._analysis.scoring import QualityVerdict as QualityVerdict
from repprofile._analysis.scoring import ScaleScore as ScaleScore
from repprofile._analysis.scoring import ScoreResult as ScoreResult
from repprofile._analysis.scoring import score as score
from repprofile._analysis.sjt_key import build_sjt_key as build_sjt_key
from repprofile._errors import InputError as InputError
from repprofile._errors import InvalidParameterError as InvalidParameterError
from repprofile._errors import QuestionnaireError as QuestionnaireError
from repprofile._errors import RepprofileError as RepprofileError
from repprofile._errors import UnknownCandidateError as UnknownCandidateError
from repprofile._formats.norms import NormTable as NormTable
from repprofile._formats.norms import ScaleNorm as ScaleNorm
from repprofile._formats.norms import load_norms as load_norms
from repprofile._formats.provenance import Provenance as Provenance
from repprofile._formats.questionnaire import Item as Item
from repprofile._formats.questionnaire import QualitySettings as QualitySettings
from repprofile._formats.questionnaire import Questionnaire as Questionnaire
from repprofile._formats.questionnaire import ResponseScale as ResponseScale
from repprofile._formats.questionnaire import Scale as Scale
from repprofile._formats.questionnaire import list_questionnaires as list_questionnaires
from repprofile._formats.questionnaire import load_questionnaire as load_questionnaire
from repprofile._formats.results import FitRowDict as FitRowDict
from repprofile._formats.results import RankedCandidateDict as RankedCandidateDict
from repprofile._formats.results import RankingDict as RankingDict
from repprofile._formats.results import RoleSummaryDict as RoleSummaryDict
from repprofile._formats.role import Role as Role
from repprofile._formats.role import list_roles as list_roles
from repprofile._formats.role import load_role as load_role
from repprofile._formats.sjt_key import SjtKey as SjtKey
from repprofile._formats.sjt_key import load_sjt_key as load_sjt_key
from repprofile._input.answers import AnswerSet as AnswerSet
from repprofile._input.answers import CandidateError as CandidateError
from repprofile._input.answers import RepprofileWarning as RepprofileWarning
from repprofile._input.answers import read_answers as read_answers
from repprofile._input.survey_public import read_survey as read_survey
from repprofile._rendering.charts import RadarRenderer as RadarRenderer
from repprofile._rendering.charts import radar_chart as radar_chart
from repprofile._rendering.charts import radar_grid as radar_grid
from repprofile._rendering.charts import save_figure as save_figure
from repprofile._rendering.report import CandidateReport as CandidateReport
from repprofile._rendering.report import candidate_report as candidate_report
from repprofile._rendering.report import write_report as write_report
from repprofile._version import __version__ as __version__
from repprofile.server import ServerSettings as ServerSettings
from repprofile.server import create_app as create_app
