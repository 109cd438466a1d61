"""Exception types shared by every module.

Errors raised at a boundary (files, JSON, CLI arguments, HTTP bodies) name what was
wrong, where, and what was expected, in the style
``The 'answers' parameter of score must be ..., got ... instead.``
"""

from __future__ import annotations

__all__ = [
    "InputError",
    "InvalidParameterError",
    "QuestionnaireError",
    "RepprofileError",
    "UnknownCandidateError",
]


class RepprofileError(Exception):
    """Base class of every error this library raises on purpose."""


class InputError(RepprofileError, ValueError):
    """Input that cannot be used at all (as opposed to one bad candidate in a batch)."""


class QuestionnaireError(InputError):
    """A questionnaire or role file that does not follow the file format."""


class InvalidParameterError(InputError, TypeError):
    """An argument of a public function of the wrong type or value, found before any work.

    The message names the parameter, the function called and what was expected:
    ``The 'ci' parameter of reliability must be in (0, 1), got 2.0 instead.`` It is an
    :class:`InputError` (so a ``ValueError``) and also a ``TypeError``, as a wrong type
    raised one before.
    """


class UnknownCandidateError(InputError, KeyError):
    """A candidate id that names no scored candidate of a result: there is no such id,
    or that candidate was rejected (so it has no scores).

    The message names the id and how many candidates the result has. It is an
    :class:`InputError` and also a ``KeyError``, as an unknown id raised one before.
    """

    def __str__(self) -> str:  # the message itself, not KeyError's repr of it
        return BaseException.__str__(self)
