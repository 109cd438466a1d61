"""The web assessment's commands (need repprofile[server]): ``repprofile db upgrade``,
``invite``, ``invitations list``, ``results export`` and ``purge``, and the database
options that ``serve`` shares.

Only the standard library is imported here; SQLAlchemy, pydantic and the scoring code are
imported inside the commands. Every command that reads or changes invitations writes an
access-log row with the actor ``cli``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from repprofile.cli._common import (
    EXIT_OK,
    EXIT_REJECTED,
    UsageError,
    add_output,
    positive_int,
    write_output,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from repprofile.cli._common import Subparsers
    from repprofile.web import WebSettings

__all__ = [
    "INVITATION_STATUSES",
    "add_database_options",
    "duration",
    "register",
    "web_settings",
]

INVITATION_STATUSES = ("created", "started", "completed", "expired", "withdrawn", "erased")
"""``--status`` choices: ``repprofile.web._store.STATUSES`` (kept here so that building the
parser imports no SQLAlchemy; a test checks the two are equal)."""
ACTOR = "cli"
MAX_EXPIRY = dt.timedelta(days=366)
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def add_database_options(p: argparse.ArgumentParser) -> None:
    """``--database-url`` and ``--data-dir`` (each also REPPROFILE_DATABASE_URL /
    REPPROFILE_DATA_DIR)."""
    p.add_argument(
        "--database-url",
        metavar="URL",
        help="database, e.g. postgresql://user@host/db (default: REPPROFILE_DATABASE_URL, "
        "else a SQLite file in the data directory)",
    )
    p.add_argument(
        "--data-dir",
        metavar="DIR",
        help="folder of the default SQLite database (default: REPPROFILE_DATA_DIR, "
        "else ./repprofile-data)",
    )


def web_settings(args: argparse.Namespace, **update: Any) -> WebSettings:
    """The web settings of the environment, changed by the database options."""
    try:
        from repprofile.web import WebSettings
    except ImportError as exc:
        raise UsageError(
            f"this command needs the server extra ({exc.name} is not installed): "
            "pip install 'repprofile[server]'"
        ) from None
    base = WebSettings.from_env()
    if getattr(args, "database_url", None):
        update["database_url"] = args.database_url
    if getattr(args, "data_dir", None):
        update["data_dir"] = args.data_dir
    return WebSettings.model_validate(base.model_dump() | update)


def duration(text: str) -> dt.timedelta:
    """A duration option: a whole number and a unit, ``7d`` (days), ``12h`` (hours) or
    ``90m`` (minutes)."""
    m = re.fullmatch(r"\s*(\d{1,6})\s*([dhm])\s*", text.lower())
    if m is None or int(m.group(1)) == 0:
        raise argparse.ArgumentTypeError(
            f"expected a duration such as 7d, 12h or 90m (days, hours, minutes), got {text!r}"
        )
    return dt.timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})


def _metadata(text: str) -> tuple[str, str]:
    """``--metadata KEY=VALUE``."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, e.g. ats_id=A-1234, got {text!r}")
    return key.strip(), value


def _date(text: str) -> dt.datetime:
    """``--since``: an ISO date (midnight UTC) or date and time (UTC unless it has a zone)."""
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a date such as 2027-01-31 or 2027-01-31T17:00:00Z, got {text!r}"
        ) from None
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def register(sub: Subparsers) -> None:
    """Add ``db`` (``db upgrade``), ``invite``, ``invitations`` (``list``), ``results``
    (``export``) and ``purge``."""
    p = sub.add_parser(
        "db",
        help="the web assessment's database (needs repprofile[server])",
        description="Manage the database of the web assessment (docs/web-assessment.md).",
    )
    dsub = p.add_subparsers(dest="db_command", metavar="COMMAND", required=True)
    up = dsub.add_parser(
        "upgrade",
        help="create the tables or apply new migrations",
        description=(
            "Bring the database up to this version of repprofile (Alembic migrations); "
            "safe to run again. 'repprofile serve' does it on start unless --no-upgrade."
        ),
    )
    add_database_options(up)
    up.set_defaults(func=_cmd_upgrade)
    _register_invite(sub)
    _register_invitations(sub)
    _register_results(sub)
    _register_purge(sub)


def upgrade_database(settings: WebSettings) -> tuple[str | None, str]:
    """Apply the migrations to the database of ``settings``; (before, after)."""
    from repprofile.web._db import make_engine, upgrade

    engine = make_engine(settings.url)
    try:
        return upgrade(engine)
    finally:
        engine.dispose()


def _cmd_upgrade(args: argparse.Namespace) -> int:
    import sys

    settings = web_settings(args)
    before, after = upgrade_database(settings)
    where = f"the SQLite database in {settings.data_dir}" if settings.is_sqlite else "the database"
    if before == after:
        sys.stdout.write(f"{where} is up to date (migration {after})\n")
    else:
        sys.stdout.write(f"{where}: migration {before or '(empty)'} -> {after}\n")
    return EXIT_OK


# ---------------------------------------------------------------------------- the database


@contextmanager
def _database(args: argparse.Namespace) -> Iterator[tuple[WebSettings, Session]]:
    """The settings and a session on the database of ``args``, which must be at this
    version's newest migration (else a usage error that says to run ``db upgrade``)."""
    settings = web_settings(args)
    from sqlalchemy.orm import Session

    from repprofile.web._db import current_revision, head_revision, make_engine

    if settings.database_url is None and not (settings.data_dir / "repprofile.db").exists():
        # not make_engine: it would create an empty database file (and its folder) here
        raise UsageError(
            f"no database in {settings.data_dir.resolve()}: give the server's --data-dir "
            "(or --database-url), or create one with 'repprofile db upgrade'"
        )
    engine = make_engine(settings.url)
    try:
        at, head = current_revision(engine), head_revision()
        if at != head:
            raise UsageError(
                f"the database is at migration {at or '(none: no tables)'}, this version of "
                f"repprofile needs {head}: run 'repprofile db upgrade' with the same "
                "--database-url / --data-dir first"
            )
        with Session(engine, expire_on_commit=False) as session:
            yield settings, session
    finally:
        engine.dispose()


def _iso(value: dt.datetime | None) -> str:
    """A stored time as ISO 8601 UTC to the second (``2027-01-31T17:00:00Z``); "" for none."""
    from repprofile.web._db import as_utc

    when = as_utc(value)
    return "" if when is None else when.isoformat(timespec="seconds").replace("+00:00", "Z")


def _format_option(p: argparse.ArgumentParser) -> None:
    """``--format text|json``."""
    p.add_argument(
        "--format",
        choices=["text", "json"],
        default="text",
        help="text (for people) or json (for scripts)",
    )


# ---------------------------------------------------------------------------- invite


def _register_invite(sub: Subparsers) -> None:
    """Add ``invite``."""
    p = sub.add_parser(
        "invite",
        help="invite a candidate to the web assessment and print the link",
        description=(
            "Create an invitation for CANDIDATE_ID to take a bundled questionnaire in the "
            "browser and print the candidate's link (send it to the candidate; it is shown "
            "only now). The link works until --expires; when the candidate finishes, the "
            "result is stored (repprofile results export) and, with --callback-url, POSTed "
            "there, signed (the server needs REPPROFILE_WEBHOOK_SECRET). Links start with "
            "REPPROFILE_PUBLIC_URL."
        ),
    )
    p.add_argument("candidate_id", metavar="CANDIDATE_ID", help="your id for the candidate")
    p.add_argument(
        "-q",
        "--questionnaire",
        required=True,
        metavar="ID",
        help="bundled questionnaire id (repprofile questionnaire list)",
    )
    p.add_argument(
        "--role",
        dest="roles",
        action="append",
        default=[],
        metavar="ROLE",
        help="bundled role id of the questionnaire; the result holds the fit (repeatable)",
    )
    p.add_argument("--norms", metavar="ID", help="bundled norm table id (z, T, percentiles)")
    p.add_argument(
        "--expires",
        type=duration,
        metavar="DURATION",
        help="how long the link works: 7d, 12h or 90m (default 14d, at most 366d)",
    )
    p.add_argument(
        "--callback-url",
        metavar="URL",
        help="where the signed invitation.completed event is POSTed (http or https)",
    )
    p.add_argument(
        "--metadata",
        action="append",
        type=_metadata,
        default=[],
        metavar="KEY=VALUE",
        help="your own string, returned as given, e.g. ats_id=A-1234 (repeatable)",
    )
    p.add_argument("--locale", metavar="TAG", help="language of the candidate's pages, e.g. en")
    p.add_argument(
        "--email",
        metavar="ADDRESS",
        help="email the candidate the link and a reminder (sent by the running server; "
        "needs REPPROFILE_SMTP_URL or REPPROFILE_SMTP_DRY_RUN here and on the server)",
    )
    p.add_argument("--name", metavar="NAME", help="the name the emails greet the candidate with")
    p.add_argument(
        "--show-results",
        action="store_true",
        help="show the candidate their profile on the thank-you page (default: no scores)",
    )
    _format_option(p)
    add_database_options(p)
    p.set_defaults(func=_cmd_invite)


def _cmd_invite(args: argparse.Namespace) -> int:
    """Create the invitation (checked as ``POST /v1/invitations`` checks it); print the link."""
    from pydantic import ValidationError

    from repprofile._formats.files import format_validation_error
    from repprofile.web._schemas import InvitationCreate, InvitationCreated
    from repprofile.web._store import NewInvitation, create_invitation

    now = dt.datetime.now(dt.UTC)
    if args.expires is not None and args.expires > MAX_EXPIRY:
        raise UsageError(f"--expires: at most 366d, got {args.expires.days}d")
    body: dict[str, Any] = {
        "candidate_id": args.candidate_id,
        "questionnaire": args.questionnaire,
        "roles": args.roles,
        "norms": args.norms,
        "expires_at": None if args.expires is None else now + args.expires,
        "callback_url": args.callback_url,
        "locale": args.locale,
        "metadata": dict(args.metadata) or None,
        "show_results": args.show_results,
        "candidate_email": args.email,
        "candidate_name": args.name,
    }
    try:
        req = InvitationCreate.model_validate(body)
    except ValidationError as exc:
        raise UsageError(format_validation_error("invite", exc)) from None
    q = _bundled_questionnaire(req.questionnaire)
    _check_roles(q, req.roles)
    if req.norms is not None:
        _bundled_norms(req.norms).check_for(q)
    with _database(args) as (settings, session):
        if req.callback_url is not None and settings.webhook_secret is None:
            raise UsageError(
                "--callback-url: events are signed with the server's webhook secret; set "
                "REPPROFILE_WEBHOOK_SECRET (the same as the server's), or leave out the URL"
            )
        if req.callback_url is not None and not settings.webhook_allow_private:
            from repprofile.web._outbox import callback_refusal

            refused = callback_refusal(req.callback_url)
            if refused is not None:
                raise UsageError(f"--callback-url: {refused}")
        plan = None
        if req.candidate_email is not None:
            from repprofile.web._service import email_plan_of, secret_key_of, sends_email

            if not sends_email(settings):
                raise UsageError(
                    "--email: no email is sent: set REPPROFILE_SMTP_URL (or "
                    "REPPROFILE_SMTP_DRY_RUN), the same as the server's, or leave out --email"
                )
            plan = email_plan_of(settings, secret_key_of(settings))
        new = NewInvitation.of(req, q)
        inv, token, _ = create_invitation(session, new, ACTOR, now=now, emails=plan)
        assert token is not None
        url = settings.take_url(token)
        if args.format == "json":
            doc = InvitationCreated(
                invitation_id=inv.id,
                url=url,
                status=inv.status,
                expires_at=inv.expires_at,
                created_at=inv.created_at,
            )
            sys.stdout.write(doc.model_dump_json(indent=2) + "\n")
        else:
            sys.stdout.write(url + "\n")
            print(
                f"repprofile: invitation {inv.id} for {inv.candidate_id}, expires "
                f"{_iso(inv.expires_at)}",
                file=sys.stderr,
            )
    return EXIT_OK


def _bundled_questionnaire(qid: str) -> Any:
    """The bundled questionnaire ``qid`` (the web assessment serves only those)."""
    from repprofile._formats.questionnaire import list_questionnaires

    found = {q.id: q for q in list_questionnaires()}
    if qid not in found:
        raise UsageError(
            f"--questionnaire: unknown questionnaire {qid!r}; the web assessment serves the "
            f"bundled ones: {sorted(found)}"
        )
    return found[qid]


def _check_roles(q: Any, roles: list[str]) -> None:
    """A usage error unless every role is a bundled role of ``q``."""
    from repprofile._formats.role import list_roles

    fitting = {r.id: r for r in list_roles() if r.questionnaire == q.id}
    for role in roles:
        if role not in fitting:
            raise UsageError(
                f"--role: unknown role {role!r} for questionnaire {q.id!r}; expected one of "
                f"{sorted(fitting)}"
            )


def _bundled_norms(norm_id: str) -> Any:
    """The bundled norm table ``norm_id``."""
    from repprofile._formats.norms import bundled_norms, load_norms

    found = bundled_norms()
    if norm_id not in found:
        raise UsageError(
            f"--norms: unknown norm table {norm_id!r}; expected one of {sorted(found)}"
        )
    return load_norms(found[norm_id])


# ---------------------------------------------------------------------------- invitations


def _register_invitations(sub: Subparsers) -> None:
    """Add ``invitations list``."""
    p = sub.add_parser(
        "invitations",
        help="list the invitations of the web assessment",
        description="The invitations in the database (docs/web-assessment.md).",
    )
    isub = p.add_subparsers(dest="invitations_command", metavar="COMMAND", required=True)
    ls = isub.add_parser(
        "list",
        help="list invitations, oldest change first",
        description=(
            "List invitations, oldest change first (as GET /v1/invitations): id, candidate, "
            "questionnaire, status, progress and dates. Expired links are marked expired first."
        ),
    )
    ls.add_argument("--status", choices=list(INVITATION_STATUSES), help="only this status")
    ls.add_argument(
        "--limit",
        type=positive_int,
        default=100,
        metavar="N",
        help="at most N invitations (default 100)",
    )
    _format_option(ls)
    add_database_options(ls)
    ls.set_defaults(func=_cmd_list)


def _cmd_list(args: argparse.Namespace) -> int:
    """Print the invitations as a table or JSON (``GET /v1/invitations`` documents)."""
    import json

    from repprofile.web._api import invitation_out
    from repprofile.web._store import list_invitations, log_access

    with _database(args) as (settings, session):
        rows, _more = list_invitations(session, args.status, None, args.limit)
        log_access(session, ACTOR, "invitation.list", None, f"{len(rows)} listed")
        session.commit()
        if args.format == "json":
            from repprofile.web._service import result_url_of, secret_key_of

            key = secret_key_of(settings)
            docs = [invitation_out(r, None, False, result_url_of(settings, key, r)) for r in rows]
            sys.stdout.write(json.dumps({"invitations": docs}, indent=2) + "\n")
            return EXIT_OK
        table = [["INVITATION", "CANDIDATE", "QUESTIONNAIRE", "STATUS", "ANSWERED", "UPDATED"]]
        for r in rows:
            table.append(
                [
                    r.id,
                    r.candidate_id,
                    r.questionnaire,
                    r.status,
                    f"{r.answered}/{r.total}",
                    _iso(r.updated_at),
                ]
            )
        widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
        for row in table:
            sys.stdout.write(
                "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
            )
            sys.stdout.write("\n")
        if not rows:
            print("repprofile: no invitations", file=sys.stderr)
    return EXIT_OK


# ---------------------------------------------------------------------------- results


def _register_results(sub: Subparsers) -> None:
    """Add ``results export``."""
    p = sub.add_parser(
        "results",
        help="export the scores of completed invitations",
        description="The results of the web assessment (docs/web-assessment.md).",
    )
    rsub = p.add_subparsers(dest="results_command", metavar="COMMAND", required=True)
    ex = rsub.add_parser(
        "export",
        help="the scores of completed invitations, as 'repprofile score' writes them",
        description=(
            "Export the scores of completed invitations with the same columns and lines as "
            "'repprofile score' writes for the same answers: the stored answers are scored "
            "again, in one batch, in the order the invitations were completed. Batch "
            "statistics (such as the response-quality screens that compare candidates) are "
            "those of the exported batch, exactly as 'repprofile score' would give them; the "
            "result stored per invitation (GET /v1/invitations/ID) is unchanged. One "
            "questionnaire (and norm table) per export: use --questionnaire when the "
            "database holds several."
        ),
    )
    ex.add_argument(
        "--since",
        type=_date,
        metavar="DATE",
        help="only invitations completed at or after DATE (2027-01-31, or a time; UTC)",
    )
    ex.add_argument(
        "-q", "--questionnaire", metavar="ID", help="only invitations of this questionnaire"
    )
    ex.add_argument(
        "--format",
        choices=["csv", "json", "ndjson"],
        required=True,
        help="csv, json (one document) or ndjson (one line per candidate)",
    )
    add_output(ex)
    add_database_options(ex)
    ex.set_defaults(func=_cmd_export)


def _cmd_export(args: argparse.Namespace) -> int:
    """Re-score the stored answers of the completed invitations in one batch (in the
    order they were completed) and write them with the renderer of ``repprofile score``:
    the same columns, lines and bytes as ``score`` gives for the same answers."""
    import io
    import json

    from sqlalchemy import select

    from repprofile.web._db import Invitation
    from repprofile.web._store import answer_record, log_access, stored_answers

    with _database(args) as (_, session):
        stmt = select(Invitation).where(Invitation.status == "completed")
        if args.since is not None:
            stmt = stmt.where(Invitation.completed_at >= args.since)
        if args.questionnaire is not None:
            stmt = stmt.where(Invitation.questionnaire == args.questionnaire)
        invs = list(session.scalars(stmt.order_by(Invitation.completed_at, Invitation.id)))
        groups = sorted({(i.questionnaire, i.norms or "", i.sjt_method or "") for i in invs})
        if len(groups) > 1:
            listed = "; ".join(
                f"{qid}" + (f" with norms {n}" if n else "") + (f", sjt_method {m}" if m else "")
                for qid, n, m in groups
            )
            raise UsageError(
                f"the completed invitations were scored in {len(groups)} different ways "
                f"({listed}); export one at a time with --questionnaire"
            )
        log_access(session, ACTOR, "results.export", None, json.dumps({"invitations": len(invs)}))
        session.commit()
        if not invs:
            print("repprofile: no completed invitations to export", file=sys.stderr)
            write_output("", args.output)
            return EXIT_OK
        q = _bundled_questionnaire(invs[0].questionnaire)
        stale = [i.id for i in invs if i.questionnaire_sha256 != q.fingerprint]
        if stale:
            raise UsageError(
                f"{len(stale)} invitation(s) (first {stale[0]}) were taken on another version of "
                f"questionnaire {q.id!r} than this repprofile bundles; export them with that "
                "version"
            )
        records = [answer_record(q, i.candidate_id, stored_answers(session, i.id)) for i in invs]
    from repprofile._analysis.scoring import score
    from repprofile.cli._score import _write_scores

    inv0 = invs[0]
    result = score(
        q,
        records,
        norms=_bundled_norms(inv0.norms) if inv0.norms else None,
        sjt_method=inv0.sjt_method,  # type: ignore[arg-type]
    )
    if args.format == "ndjson":
        from repprofile._analysis.stream import _write_rows

        buf = io.StringIO()
        _write_rows(result, buf)
        write_output(buf.getvalue(), args.output)
    else:
        _write_scores(result, args.format, args.output)
    from repprofile._input.problems import count_candidates

    n_bad, n_all = count_candidates(result.candidate_ids, ~result.scored)
    if n_bad:
        print(
            f"repprofile: {n_bad} of {n_all} candidates rejected, as 'repprofile score' rejects "
            "them (a candidate who completed several invitations is on several rows: export "
            "them apart with --since)",
            file=sys.stderr,
        )
        return EXIT_REJECTED
    return EXIT_OK


# ---------------------------------------------------------------------------- purge


def _register_purge(sub: Subparsers) -> None:
    """Add ``purge``."""
    p = sub.add_parser(
        "purge",
        help="retention: erase invitations older than a duration",
        description=(
            "Retention: erase every invitation created more than --older-than ago (whatever "
            "its status): its answers, result and pending webhook are deleted and a "
            "tombstone with the ids and dates stays, as DELETE /v1/invitations/ID does. "
            "Prints how many invitations, answers and results were erased."
        ),
    )
    p.add_argument(
        "--older-than",
        type=duration,
        required=True,
        metavar="DURATION",
        help="erase what was created longer ago than this: 180d, 12h or 90m",
    )
    _format_option(p)
    add_database_options(p)
    p.set_defaults(func=_cmd_purge)


def _cmd_purge(args: argparse.Namespace) -> int:
    """Erase the invitations older than ``--older-than`` (store.purge); print the counts."""
    import json

    from repprofile.web._store import purge

    now = dt.datetime.now(dt.UTC)
    with _database(args) as (_, session):
        counts = purge(session, args.older_than, ACTOR, now=now)
    cutoff = (now - args.older_than).isoformat(timespec="seconds").replace("+00:00", "Z")
    if args.format == "json":
        sys.stdout.write(json.dumps({**counts, "created_before": cutoff}) + "\n")
    else:
        sys.stdout.write(
            f"erased {counts['invitations']} invitation(s), {counts['answers']} answer(s) and "
            f"{counts['results']} result(s) of invitations created before {cutoff}\n"
        )
    return EXIT_OK
