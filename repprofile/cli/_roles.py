"""``repprofile roles``: list, show and validate role files."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from repprofile.cli._common import EXIT_OK, Parser, missing_action, write_output

if TYPE_CHECKING:
    from repprofile.cli._common import Subparsers

__all__ = ["register"]


def register(sub: Subparsers) -> None:
    """Add ``roles`` and its actions."""
    rp = sub.add_parser("roles", help="list, show, validate role files")
    rsub = rp.add_subparsers(dest="rcommand", metavar="ACTION", parser_class=Parser)
    p = rsub.add_parser("list", help="list the bundled roles")
    p.set_defaults(func=_cmd_list)
    p = rsub.add_parser("show", help="show a role's weights, hurdles and rationale")
    p.add_argument("role", metavar="ID_OR_FILE", help="bundled role id or role file")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=_cmd_show)
    p = rsub.add_parser(
        "validate", help="check a role file against the format and its questionnaire"
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument(
        "-q", "--questionnaire", metavar="ID_OR_FILE", help="questionnaire (default: the role's)"
    )
    p.set_defaults(func=_cmd_validate)
    rp.set_defaults(func=missing_action(rp))


def _cmd_list(args: argparse.Namespace) -> int:
    from repprofile._formats.role import list_roles
    from repprofile._rendering.text import role_list

    write_output(role_list(list_roles()), None)
    return EXIT_OK


def _cmd_show(args: argparse.Namespace) -> int:
    from repprofile._formats.role import load_role
    from repprofile._rendering.text import role_text

    role = load_role(args.role)
    if args.format == "json":
        write_output(
            json.dumps(role.model_dump(mode="json"), indent=2, allow_nan=False) + "\n", None
        )
        return EXIT_OK
    write_output(role_text(role), None)
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    from repprofile._formats.questionnaire import load_questionnaire
    from repprofile._formats.role import load_role

    q = load_questionnaire(args.questionnaire) if args.questionnaire else None
    role = load_role(Path(args.file), q)
    print(f"{args.file}: valid role {role.id!r} for questionnaire {role.questionnaire!r}")
    return EXIT_OK
