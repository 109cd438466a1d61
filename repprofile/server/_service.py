"""What the endpoints do, free of HTTP details: the bundled catalogue (questionnaires,
roles, norm tables, loaded once), questionnaire and role look-up, scoring a batch, and
picking the candidate of a chart or report. Problems with the request are 422s naming
the field (:func:`repprofile.server._http.unprocessable`); a batch above the limit is 413.
"""

from __future__ import annotations

import logging

from repprofile._analysis.scoring import ScoreResult
from repprofile._errors import InputError, RepprofileError
from repprofile._formats.norms import NormTable, bundled_norms, load_norms
from repprofile._formats.questionnaire import Questionnaire, list_questionnaires
from repprofile._formats.role import Role, list_roles
from repprofile.server._http import batch_limit, clip, unprocessable
from repprofile.server._render import RenderPool
from repprofile.server._schemas import CandidateAnswers, ScoreRequest
from repprofile.server._settings import ServerSettings

__all__ = ["Catalogue", "Service"]

log = logging.getLogger("repprofile.server")


class Catalogue:
    """The bundled questionnaires, roles and norm tables, loaded once."""

    def __init__(self) -> None:
        self.questionnaires = {q.id: q for q in list_questionnaires()}
        self.roles = {r.id: r for r in list_roles()}
        self.norms: dict[str, NormTable] = {
            norm_id: load_norms(path) for norm_id, path in bundled_norms().items()
        }


def _record(c: CandidateAnswers) -> dict[str, object]:
    rec: dict[str, object] = {"candidate_id": c.candidate_id, "answers": c.answers}
    if c.seconds is not None:
        rec["seconds"] = c.seconds
    if c.item_seconds is not None:
        rec["item_seconds"] = c.item_seconds
    return rec


class Service:
    """What the endpoints do, free of HTTP details (easy to call from tests)."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.catalogue = Catalogue()
        # charts and reports: drawn in worker processes (started on the first request)
        self.render_pool = RenderPool(
            settings.render_workers, settings.render_timeout, settings.render_max_rss_mb * 1024
        )

    def questionnaire(self, qid: str) -> Questionnaire:
        q = self.catalogue.questionnaires.get(qid)
        if q is None:
            raise unprocessable(
                "questionnaire",
                f"unknown questionnaire {clip(qid)!r}; expected one of "
                f"{sorted(self.catalogue.questionnaires)}",
            )
        return q

    def role(self, ref: str | Role, q: Questionnaire, field: str) -> Role:
        if isinstance(ref, Role):
            try:
                ref.check_against(q, field)
            except RepprofileError as exc:
                raise unprocessable(field, str(exc)) from None
            return ref
        role = self.catalogue.roles.get(ref)
        if role is None:
            fitting = sorted(r.id for r in self.catalogue.roles.values() if r.questionnaire == q.id)
            raise unprocessable(
                field,
                f"unknown role {clip(ref)!r}; expected one of {fitting} (the roles of {q.id!r})",
            )
        if role.questionnaire != q.id:
            raise unprocessable(
                field, f"role {ref!r} applies to questionnaire {role.questionnaire!r}, not {q.id!r}"
            )
        return role

    def score(self, req: ScoreRequest) -> tuple[ScoreResult, list[str]]:
        from repprofile._analysis.scoring import score

        q = self.questionnaire(req.questionnaire)
        n = len(req.candidates)
        batch_limit(n, self.settings.max_candidates)
        norms: NormTable | None
        if isinstance(req.norms, str):
            norms = self.catalogue.norms.get(req.norms)
            if norms is None:
                raise unprocessable(
                    "norms",
                    f"unknown norm table {clip(req.norms)!r}; expected a norm table object or "
                    "one of "
                    f"{sorted(self.catalogue.norms)}",
                )
        else:
            norms = req.norms
        if norms is not None:
            try:
                norms.check_for(q)
            except InputError as exc:
                raise unprocessable("norms", str(exc)) from None
        if q.has_sjt:
            self._check_sjt(req, q)
        records = [_record(c) for c in req.candidates]
        result = score(
            q,
            records,
            norms=norms,
            ci=req.ci,
            reliability=req.reliability,
            sjt_method=req.sjt_method,
            sjt_key=req.sjt_key,
        )
        warnings = []
        if norms is not None and norms.simulated:
            warnings.append(f"the norm table is SIMULATED, not real people: {norms.description}")
        if result.sjt is not None and req.sjt_key is None and q.sjt is not None and q.sjt.key_draft:
            warnings.append(f"the SJT key of {q.id!r} is a DRAFT: {q.sjt.key_note}")
        if log.isEnabledFor(logging.DEBUG):
            rejected = [e.candidate_id for e in result.errors]
            log.debug(
                "scored %d candidate(s): ids %s; rejected ids %s",
                n,
                list(result.candidate_ids),
                rejected,
            )
        return result, warnings

    @staticmethod
    def _check_sjt(req: ScoreRequest, q: Questionnaire) -> None:
        """A 422 for an SME key that does not fit ``q`` or a method it cannot score."""
        from repprofile._analysis.sjt import resolve_method

        if req.sjt_key is not None:
            try:
                req.sjt_key.check_for(q, "sjt_key")
            except RepprofileError as exc:
                raise unprocessable("sjt_key", str(exc)) from None
        try:
            resolve_method(q, req.sjt_method, req.sjt_key)
        except RepprofileError as exc:
            raise unprocessable("sjt_method", str(exc)) from None

    def pick(self, result: ScoreResult, wanted: str | int | None, field: str) -> str:
        ids = result.candidate_ids
        candidate_id = None if wanted is None else str(wanted)
        if candidate_id is None:
            if len(ids) != 1:
                raise unprocessable(
                    field, f"the request has {len(ids)} candidates; say which one in {field!r}"
                )
            candidate_id = ids[0]
        if candidate_id not in ids:
            raise unprocessable(field, f"no candidate {clip(candidate_id)!r} in 'candidates'")
        row = ids.index(candidate_id)
        if not result.scored[row]:
            problems = "; ".join(
                (f"item {e.item_id!r}: " if e.item_id else "") + e.message
                for e in result.errors
                if e.candidate_id == candidate_id
            )
            raise unprocessable(
                field,
                f"candidate {clip(candidate_id)!r} was rejected, so it has no scores: {problems}",
            )
        return candidate_id
