"""Exception types shared by every module.

Errors raised at a boundary (files, JSON, CLI arguments, HTTP bodies) name what was
wrong, where, and what was expected, in the style
``The 'answers' parameter of score must be ..., got ... instead.``
"""

from __future__ import annotations

__all__ = ["InputError", "QuestionnaireError", "RepprofileError"]


class RepprofileError(Exception):
    """Base class of every error this library raises on purpose."""


class InputError(RepprofileError, ValueError):
    """Input that cannot be used at all (as opposed to one bad candidate in a batch)."""


class QuestionnaireError(InputError):
    """A questionnaire or role file that does not follow the file format."""
