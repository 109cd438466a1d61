"""``repprofile serve``: run the HTTP API under uvicorn (needs repprofile[server])."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from repprofile.cli._common import EXIT_OK, UsageError, port, positive_int, warn
from repprofile.cli._web import add_database_options, upgrade_database, web_settings

if TYPE_CHECKING:
    from repprofile.cli._common import Subparsers

__all__ = ["register"]


def register(sub: Subparsers) -> None:
    """Add ``serve``."""
    p = sub.add_parser(
        "serve",
        help="run the HTTP API (needs repprofile[server])",
        description=(
            "Run the HTTP scoring API under uvicorn. API keys come from REPPROFILE_API_KEYS "
            "(comma-separated) or --key-file, never from the command line. See docs/server.md."
        ),
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=port, default=8000, help="port (default 8000)")
    p.add_argument("--workers", type=positive_int, default=1, help="worker processes (default 1)")
    p.add_argument("--key-file", metavar="FILE", help="API keys, one per line (# comments)")
    p.add_argument(
        "--max-body-bytes",
        type=positive_int,
        metavar="N",
        help="largest request body (default 5000000; 413 above)",
    )
    p.add_argument(
        "--max-candidates",
        type=positive_int,
        metavar="N",
        help="largest batch per request (default 10000; 413 above)",
    )
    p.add_argument(
        "--cors-origin",
        action="append",
        metavar="ORIGIN",
        help="allow browser calls from ORIGIN (repeatable; default: CORS off)",
    )
    p.add_argument("--root-path", default="", help="path prefix set by a reverse proxy")
    p.add_argument("--no-docs", action="store_true", help="serve neither /docs nor /openapi.json")
    p.add_argument(
        "--public-docs",
        action="store_true",
        help="serve /docs and /openapi.json without a key (default: they need one)",
    )
    for flag, kind, meta, text in (*_TRANSPORT_OPTIONS, *_RENDER_OPTIONS):
        p.add_argument(flag, type=kind, metavar=meta, help=text)
    add_database_options(p)
    p.add_argument(
        "--public-url",
        metavar="URL",
        help="address candidates reach this server at, for their links (default: "
        "REPPROFILE_PUBLIC_URL, else http://HOST:PORT)",
    )
    p.add_argument(
        "--no-upgrade",
        action="store_true",
        help="do not upgrade the database on start (then it must be up to date)",
    )
    p.add_argument(
        "--smtp-dry-run",
        metavar="DIR",
        help="write each candidate email to an .eml file in DIR instead of sending it "
        "(default: REPPROFILE_SMTP_DRY_RUN; emails are sent when REPPROFILE_SMTP_URL is set)",
    )
    p.add_argument(
        "--reminder-days",
        type=float,
        metavar="N",
        help="days after the invitation email when a reminder goes to a candidate who has "
        "not finished (default: REPPROFILE_REMINDER_DAYS, else 3; 0: none)",
    )
    p.add_argument(
        "--email-templates",
        metavar="DIR",
        help="folder of email templates replacing the bundled ones, file by file "
        "(default: REPPROFILE_EMAIL_TEMPLATES; docs/ats.md)",
    )
    p.add_argument(
        "--ats-config",
        metavar="FILE",
        help="YAML file with the tests offered to Greenhouse (a 'tests:' list; default: "
        "REPPROFILE_ATS_CONFIG, else every role on its questionnaire; docs/ats.md)",
    )
    p.add_argument(
        "--insecure-cookies",
        action="store_true",
        help="cookies without Secure, for plain http on localhost only",
    )
    p.add_argument(
        "--log-level",
        choices=["critical", "error", "warning", "info", "debug"],
        default="info",
        help="log level (debug adds candidate ids; answers and scores are never logged)",
    )
    p.add_argument(
        "--openapi-3.0",
        dest="openapi_30",
        action="store_true",
        help="print the OpenAPI document converted to OpenAPI 3.0 (for older code "
        "generators) and exit; needs no key",
    )
    p.set_defaults(func=_cmd_serve)


def _positive_seconds(text: str) -> float:
    """A number of seconds above 0."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number such as 10, got {text!r}") from None
    if not 0 < v < float("inf"):
        raise argparse.ArgumentTypeError(f"must be above 0 seconds, got {text!r}")
    return v


# The transport limits (docs/server.md, "Transport limits"): option, type, metavar, help.
# Each also comes from REPPROFILE_<OPTION> (e.g. REPPROFILE_HEADER_TIMEOUT).
_TRANSPORT_OPTIONS: tuple[tuple[str, Any, str, str], ...] = (
    ("--max-header-bytes", positive_int, "N", "largest request line+headers (default 16384; 431)"),
    ("--max-headers", positive_int, "N", "most header fields per request (default 100; 431)"),
    ("--header-timeout", _positive_seconds, "S", "seconds to send the headers (default 10; 408)"),
    ("--body-timeout", _positive_seconds, "S", "seconds to send the body (default 30; 408)"),
    (
        "--keep-alive-timeout",
        positive_int,
        "N",
        "whole seconds an idle kept-alive connection stays open (default 5)",
    ),
    (
        "--limit-concurrency",
        positive_int,
        "N",
        "JSON 503 beyond N connections or requests in progress per worker (default 100)",
    ),
    ("--backlog", positive_int, "N", "connections the OS queues before accept (default 2048)"),
)


# The drawing workers (docs/server.md, under "Limits"): each also REPPROFILE_RENDER_*.
_RENDER_OPTIONS: tuple[tuple[str, Any, str, str], ...] = (
    ("--render-workers", positive_int, "N", "processes drawing charts and reports (min(2, CPUs))"),
    (
        "--render-timeout",
        _positive_seconds,
        "S",
        "seconds a chart or report request may take; then 503 (default 30)",
    ),
    (
        "--render-max-rss-mb",
        positive_int,
        "N",
        "replace a drawing process above N MB after a request (default 400)",
    ),
)


def _settings_update(args: argparse.Namespace) -> dict[str, Any]:
    """The server settings the options change (left-out options keep the environment's)."""
    update: dict[str, Any] = {}
    if args.key_file:
        update["key_file"] = Path(args.key_file)
    if args.max_body_bytes is not None:
        update["max_body_bytes"] = args.max_body_bytes
    if args.max_candidates is not None:
        update["max_candidates"] = args.max_candidates
    if args.cors_origin:
        update["cors_origins"] = tuple(args.cors_origin)
    if args.no_docs:
        update["docs"] = False
    if args.public_docs:
        update["public_docs"] = True
    for flag, *_ in (*_TRANSPORT_OPTIONS, *_RENDER_OPTIONS):
        field = flag[2:].replace("-", "_")
        if getattr(args, field) is not None:
            update[field] = getattr(args, field)
    return update


def _protocol() -> Any:
    """The HTTP protocol for uvicorn: :mod:`repprofile.server._protocol` (httptools with
    the header limits, header timeout and JSON 503), or uvicorn's h11 protocol, which
    limits only the header size, when httptools is not installed."""
    try:
        from repprofile.server._protocol import LimitedHttpToolsProtocol
    except ImportError:
        warn(
            "httptools is not installed: only the header size and the concurrency are "
            "limited, with uvicorn's plain-text answers (pip install httptools)"
        )
        return "h11"
    return LimitedHttpToolsProtocol


def _print_openapi_30() -> int:
    """Print the OpenAPI 3.0 form of the document (it does not depend on the settings or
    the keys, so a placeholder key builds the app)."""
    import json
    import sys

    from sqlalchemy import create_engine

    from repprofile.server import ServerSettings
    from repprofile.server._openapi3 import openapi_30
    from repprofile.web import WebSettings, create_web_app

    # the document of what serve serves; building it touches no database
    app = create_web_app(
        ServerSettings(api_keys=("openapi-export-placeholder-key-0000",)),
        WebSettings(),
        engine=create_engine("sqlite://"),
    )
    sys.stdout.write(json.dumps(openapi_30(app.openapi()), indent=2, ensure_ascii=False) + "\n")
    return EXIT_OK


def _check_web(settings: Any, web: Any) -> None:
    """What each worker would refuse at start, checked once here so that ``serve`` exits 2
    with one message: the Greenhouse tests file and keys, the email templates folder and
    the SMTP URL."""
    from repprofile.server._service import Service
    from repprofile.web._greenhouse import check_keys, load_catalogue
    from repprofile.web._mail import MailTemplates, transport_for
    from repprofile.web._settings import ENV_GREENHOUSE_KEYS

    if web.greenhouse_keys:
        check_keys([k.get_secret_value() for k in web.greenhouse_keys], ENV_GREENHOUSE_KEYS)
    load_catalogue(web.ats_config, Service(settings.model_copy(update={"api_keys": ()})).catalogue)
    if web.smtp_url is not None or web.smtp_dry_run is not None:
        MailTemplates(web.email_templates).check()
        transport_for(web)


def _cmd_serve(args: argparse.Namespace) -> int:
    """Run the HTTP API under uvicorn (options reach every worker as environment)."""
    import os

    try:
        import uvicorn
        from uvicorn.config import LOGGING_CONFIG

        from repprofile.server import ServerSettings
    except ImportError as exc:
        raise UsageError(
            f"repprofile serve needs the server extra ({exc.name} is not installed): "
            "pip install 'repprofile[server]'"
        ) from None
    if args.openapi_30:
        return _print_openapi_30()
    base = ServerSettings.from_env()
    settings = ServerSettings.model_validate(base.model_dump() | _settings_update(args))
    settings.key_digests()  # no key, an unreadable key file or a short key: exit 2 now
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        warn(
            f"listening on {args.host}, not only on this machine: put the API behind a reverse "
            "proxy that terminates TLS (docs/server.md)"
        )
    update: dict[str, Any] = {}
    if args.public_url:
        update["public_url"] = args.public_url
    elif not os.environ.get("REPPROFILE_PUBLIC_URL"):
        host = f"[{args.host}]" if ":" in args.host else args.host
        update["public_url"] = f"http://{host}:{args.port}"
    if args.no_upgrade:
        update["auto_upgrade"] = False
    if args.insecure_cookies:
        update["secure_cookies"] = False
    if args.smtp_dry_run:
        update["smtp_dry_run"] = os.path.abspath(args.smtp_dry_run)
    if args.ats_config:
        update["ats_config"] = os.path.abspath(args.ats_config)
    if args.reminder_days is not None:
        update["reminder_days"] = args.reminder_days
    if args.email_templates:
        update["email_templates"] = os.path.abspath(args.email_templates)
    web = web_settings(args, **update)
    _check_web(settings, web)  # a bad tests file, template folder or SMTP URL: exit 2 now
    if web.auto_upgrade:
        before, after = upgrade_database(web)  # once, before the workers start
        if before != after:
            import sys

            print(
                f"repprofile: database: migration {before or '(empty)'} -> {after}", file=sys.stderr
            )
    os.environ.update(settings.to_env())
    os.environ.update(web.to_env())
    log_config = {**LOGGING_CONFIG, "loggers": dict(LOGGING_CONFIG["loggers"])}
    # uvicorn's access log without query strings (a client may put a key there)
    log_config["filters"] = {"no_query": {"()": "repprofile.server._transport.NoQueryFilter"}}
    log_config["loggers"]["uvicorn.access"] = {
        **log_config["loggers"]["uvicorn.access"],
        "filters": ["no_query"],
    }
    log_config["loggers"]["repprofile"] = {
        "handlers": ["default"],
        "level": args.log_level.upper(),
        "propagate": False,
    }
    protocol = _protocol()
    uvicorn.run(
        "repprofile.web._app:web_app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        log_config=log_config,
        root_path=args.root_path,
        access_log=args.log_level in ("info", "debug"),  # method, path, status: no bodies
        server_header=False,
        # transport limits: the protocol checks headers, their time and the concurrency
        # limit (JSON answers); the body timeout is the app's (repprofile.server._transport)
        http=protocol,
        h11_max_incomplete_event_size=settings.max_header_bytes,
        timeout_keep_alive=settings.keep_alive_timeout,
        backlog=settings.backlog,
        # (our protocol answers the concurrency limit itself; uvicorn's h11 in plain text)
        limit_concurrency=settings.limit_concurrency if protocol == "h11" else None,
    )
    return EXIT_OK
