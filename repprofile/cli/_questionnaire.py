"""``repprofile questionnaire``: list, show, validate, schema and template."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from repprofile._input.templates import TEMPLATE_FORMATS, answer_template
from repprofile._version import __version__
from repprofile.cli._common import EXIT_OK, Parser, add_output, missing_action, write_output

if TYPE_CHECKING:
    from repprofile.cli._common import Subparsers

__all__ = ["add_template_parser", "register"]


def register(sub: Subparsers) -> None:
    """Add ``questionnaire`` and its actions."""
    qp = sub.add_parser("questionnaire", help="list, show, validate questionnaires")
    qsub = qp.add_subparsers(dest="qcommand", metavar="ACTION", parser_class=Parser)
    p = qsub.add_parser("list", help="list the bundled questionnaires")
    p.set_defaults(func=_cmd_list)
    p = qsub.add_parser("show", help="show a questionnaire's scales and items")
    p.add_argument("questionnaire", metavar="ID_OR_FILE", help="bundled id or questionnaire file")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=_cmd_show)
    p = qsub.add_parser("validate", help="check a questionnaire file against the format")
    p.add_argument("file", metavar="FILE")
    p.set_defaults(func=_cmd_validate)
    p = qsub.add_parser("schema", help="print the JSON Schema of the questionnaire format")
    add_output(p)
    p.set_defaults(func=_cmd_schema)
    add_template_parser(qsub)
    qp.set_defaults(func=missing_action(qp))


def add_template_parser(qsub: Subparsers) -> argparse.ArgumentParser:
    """Add ``questionnaire template ID_OR_FILE --format csv|md|html [-o FILE]``."""
    p = qsub.add_parser(
        "template",
        help="blank answer file (csv), printable form (md, html) or survey mapping skeleton "
        "(mapping) of a questionnaire",
        description=(
            "csv: a blank answers file (candidate_id and one column per item id); md, html: "
            "a printable form with the items numbered in the same order and the answer "
            "labels as check boxes, to print or paste into a survey tool; mapping: a survey "
            "mapping file (YAML) listing every item's text with its id and the answer labels, "
            "to check and use with --mapping or 'repprofile convert' on the survey's export."
        ),
    )
    p.add_argument("questionnaire", metavar="ID_OR_FILE")
    p.add_argument("--format", choices=list(TEMPLATE_FORMATS), default="csv", help="default csv")
    add_output(p)
    p.set_defaults(func=_cmd_template)
    parser: argparse.ArgumentParser = p
    return parser


def _cmd_list(args: argparse.Namespace) -> int:
    from repprofile._formats.questionnaire import list_questionnaires
    from repprofile._rendering.text import questionnaire_list

    write_output(questionnaire_list(list_questionnaires()), None)
    return EXIT_OK


def _cmd_show(args: argparse.Namespace) -> int:
    from repprofile._formats.questionnaire import load_questionnaire
    from repprofile._rendering.text import questionnaire_text

    q = load_questionnaire(args.questionnaire)
    if args.format == "json":
        write_output(
            json.dumps(q.model_dump(mode="json"), indent=2, ensure_ascii=False, allow_nan=False)
            + "\n",
            None,
        )
        return EXIT_OK
    write_output(questionnaire_text(q), None)
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    from repprofile._formats.questionnaire import load_questionnaire

    q = load_questionnaire(Path(args.file))
    print(
        f"{args.file}: valid questionnaire {q.id!r} version {q.version}: "
        f"{len(q.scales)} scales, {len(q.items)} items"
    )
    return EXIT_OK


def _cmd_schema(args: argparse.Namespace) -> int:
    from repprofile._formats.questionnaire import Questionnaire

    schema = Questionnaire.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://repprofile.invalid/schema/questionnaire-{__version__}.json"
    write_output(json.dumps(schema, indent=2, allow_nan=False) + "\n", args.output)
    return EXIT_OK


def _cmd_template(args: argparse.Namespace) -> int:
    from repprofile._formats.questionnaire import load_questionnaire

    q = load_questionnaire(args.questionnaire)
    write_output(answer_template(q, args.format), args.output)
    return EXIT_OK
