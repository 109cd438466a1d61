"""Length caps of the free text in the library's documents (roles, norm tables) and in
the HTTP API's requests: declared once here, checked by pydantic before any work.

A request to the HTTP API may carry a whole role or norm table; without a cap, a
1,000,000-character role name would be drawn on a chart for minutes. Every cap is far
above what the bundled files use (the longest bundled role rationale has 1,685
characters) and is documented in docs/server.md ("Limits").
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, GetJsonSchemaHandler, StringConstraints
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

__all__ = [
    "MAX_DESCRIPTION_LENGTH",
    "MAX_ID_LENGTH",
    "MAX_LIST_ENTRIES",
    "MAX_NAME_LENGTH",
    "MAX_RATIONALE_LENGTH",
    "MAX_REFERENCE_LENGTH",
    "MAX_SHORT_LENGTH",
    "DescriptionText",
    "IdText",
    "NameText",
    "RationaleText",
    "ReferenceText",
    "ShortText",
    "SlugText",
]

MAX_ID_LENGTH = 256
"""Ids: candidates, items, scales, roles, questionnaires, norm tables."""
MAX_SHORT_LENGTH = 64
"""Short fields: versions and dates (``questionnaire_version``, ``created``)."""
MAX_NAME_LENGTH = 200
"""Names: a role's ``name``."""
MAX_DESCRIPTION_LENGTH = 2_000
"""Descriptions: a role's and a norm table's ``description``."""
MAX_RATIONALE_LENGTH = 10_000
"""A role's ``rationale``."""
MAX_REFERENCE_LENGTH = 1_000
"""One entry of a role's ``references``."""
MAX_LIST_ENTRIES = 1_000
"""Entries of a role's ``references``, ``weights``, ``minimums`` and ``target``, and scales
of a norm table."""


class _MaxLength:
    """Declares ``maxLength`` in the JSON schema (the check itself is the validator's)."""

    def __init__(self, cap: int) -> None:
        self.cap = cap

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema["maxLength"] = self.cap
        return schema


def _checker(cap: int) -> AfterValidator:
    """A validator refusing a string of more than ``cap`` characters with a
    ``string_too_long`` error that gives its length and the cap (the error's location
    names the field)."""

    def check(value: str) -> str:
        if len(value) > cap:
            raise PydanticCustomError(
                "string_too_long",
                "at most {max_length} characters are allowed, got {length}",
                {"max_length": cap, "length": len(value)},
            )
        return value

    # the name shows in the location of an error inside a union: "function-after[text(), str]"
    check.__name__ = check.__qualname__ = "text"
    return AfterValidator(check)


IdText = Annotated[str, _checker(MAX_ID_LENGTH), _MaxLength(MAX_ID_LENGTH)]
SlugText = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9-]+$"),
    _checker(MAX_ID_LENGTH),
    _MaxLength(MAX_ID_LENGTH),
]
"""An id of lower-case letters, digits and hyphens (a role id)."""
ShortText = Annotated[str, _checker(MAX_SHORT_LENGTH), _MaxLength(MAX_SHORT_LENGTH)]
NameText = Annotated[str, _checker(MAX_NAME_LENGTH), _MaxLength(MAX_NAME_LENGTH)]
DescriptionText = Annotated[
    str, _checker(MAX_DESCRIPTION_LENGTH), _MaxLength(MAX_DESCRIPTION_LENGTH)
]
RationaleText = Annotated[str, _checker(MAX_RATIONALE_LENGTH), _MaxLength(MAX_RATIONALE_LENGTH)]
ReferenceText = Annotated[str, _checker(MAX_REFERENCE_LENGTH), _MaxLength(MAX_REFERENCE_LENGTH)]
