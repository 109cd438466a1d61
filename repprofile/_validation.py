"""One validation path for the parameters of the public functions.

In the style of scikit-learn's ``utils/_param_validation.py``: every public function
declares once, next to its definition, what each of its parameters may be, and
:func:`validate_params` checks the arguments on entry, before any work, raising
:class:`~repprofile.InvalidParameterError` (an :class:`~repprofile.InputError`) with one
message shape that names the real public caller::

    @validate_params({"ci": [Interval(Real, 0, 1, closed="neither")], "answers": [NO_CHECK]})
    def reliability(answers, *, ci=0.95): ...

    reliability(answers, ci=2.0)
    # InvalidParameterError: The 'ci' parameter of reliability must be in (0, 1),
    # got 2.0 instead.

A constraint is a :class:`Constraint`, a type (``isinstance``), ``None`` (the value
None) or one of the strings ``"boolean"`` (True or False) and ``"no_validation"``
(anything: checked later, e.g. an answers argument of many accepted forms). A
parameter is valid when it satisfies any of its constraints. Every parameter of a
decorated function must be declared (``self`` excepted), so none is forgotten.

Public functions validate at their entry and call each other's undecorated internals,
so an error never names an internal callee (``build_norms`` scores its sample, but a
bad argument of ``build_norms`` is reported as one of ``build_norms``).

:func:`candidate_row` is the one lookup of a candidate id among a result's rows; an
unknown or rejected id raises :class:`~repprofile.UnknownCandidateError` naming the id
and how many candidates there are.

This module is in the base layer: it imports only the standard library, numpy and
:mod:`repprofile._errors`.
"""

from __future__ import annotations

import datetime as _dt
import functools
import inspect
import math
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from numbers import Integral, Real
from pathlib import Path
from typing import Literal, ParamSpec, Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray

from repprofile._errors import InvalidParameterError, UnknownCandidateError
from repprofile._util import clip

__all__ = [
    "NO_CHECK",
    "Constraint",
    "HasAttributes",
    "InstanceOf",
    "Interval",
    "Options",
    "PathWithSuffix",
    "SequenceOf",
    "StrOptions",
    "candidate_row",
    "parameter_error",
    "shown",
    "validate_params",
]

P = ParamSpec("P")
R = TypeVar("R")

NO_CHECK = "no_validation"
"""The constraint of a parameter that is checked later (it is still declared)."""

_BOOLS = (bool, np.bool_)


# --------------------------------------------------------------------------- messages


def shown(value: object) -> str:
    """A rejected value as a message quotes it: the repr of a scalar or of a short list
    or tuple (cut to 80 characters), else the name of its type."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    small = isinstance(value, list | tuple) and len(value) <= 20
    if small or value is None or isinstance(value, str | bytes | int | float | _dt.date):
        return clip(repr(value))
    return type(value).__name__


def parameter_error(
    caller: str,
    name: str,
    requirement: str,
    value: object,
    *,
    got: str | None = None,
    hint: str = "",
) -> InvalidParameterError:
    """The error for one bad argument, in the one message shape of the library:

    ``The 'NAME' parameter of CALLER REQUIREMENT, got VALUE instead. HINT``, where the
    requirement reads like ``must be in (0, 1)`` and VALUE is :func:`shown` of the
    value (or ``got``, e.g. ``an array of shape (2, 5)``).
    """
    what = got if got is not None else shown(value)
    message = f"The {name!r} parameter of {caller} {requirement}, got {what} instead."
    return InvalidParameterError(f"{message} {hint}" if hint else message)


def _either(parts: Sequence[str]) -> str:
    """``a``, ``a or b``, ``a, b or c``."""
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


# --------------------------------------------------------------------------- constraints


class Constraint(ABC):
    """What a parameter may be: a test and the plain-English phrase of the message."""

    @abstractmethod
    def is_satisfied_by(self, value: object) -> bool:
        """Whether ``value`` meets the constraint."""

    @abstractmethod
    def __str__(self) -> str:
        """The constraint as the end of "must be ...", e.g. ``in (0, 1)``."""


_TYPE_NAMES: dict[type, str] = {
    str: "a string",
    dict: "a dict",
    os.PathLike: "a path",
    Mapping: "a mapping",
    _dt.date: "a date",
}


class InstanceOf(Constraint):
    """An instance of one of the given types (a type in a constraint list means this)."""

    def __init__(self, *types: type) -> None:
        self.types = types

    def is_satisfied_by(self, value: object) -> bool:
        return isinstance(value, self.types)

    def __str__(self) -> str:
        names = []
        for t in self.types:
            name = _TYPE_NAMES.get(t, t.__name__)
            if t not in _TYPE_NAMES:
                name = ("an " if name[:1].lower() in "aeiou" else "a ") + name
            names.append(name)
        return _either(names)


class _NoneConstraint(Constraint):
    def is_satisfied_by(self, value: object) -> bool:
        return value is None

    def __str__(self) -> str:
        return "None"


class _Boolean(Constraint):
    def is_satisfied_by(self, value: object) -> bool:
        return isinstance(value, _BOOLS)

    def __str__(self) -> str:
        return "True or False"


class _Anything(Constraint):
    def is_satisfied_by(self, value: object) -> bool:
        return True

    def __str__(self) -> str:
        return "anything"


class Interval(Constraint):
    """A real or whole number within bounds (``None``: unbounded on that side).

    ``closed`` says which bounds belong to the interval. Booleans are not numbers here,
    and NaN is in no interval.
    """

    def __init__(
        self,
        type: type[Real] | type[Integral],
        left: float | None,
        right: float | None,
        *,
        closed: Literal["left", "right", "both", "neither"],
    ) -> None:
        if type not in (Real, Integral):
            raise TypeError(f"an Interval is of Real or Integral numbers, got {type!r}")
        if left is None and right is None:
            raise ValueError("an Interval needs at least one bound")
        self.type = type
        self.left = left
        self.right = right
        self.closed = closed

    def is_satisfied_by(self, value: object) -> bool:
        if isinstance(value, _BOOLS) or not isinstance(value, self.type):
            return False
        x = float(value)
        if math.isnan(x):
            return False
        left_in = self.closed in ("left", "both")
        right_in = self.closed in ("right", "both")
        if self.left is not None and not (x >= self.left if left_in else x > self.left):
            return False
        return self.right is None or (x <= self.right if right_in else x < self.right)

    def __str__(self) -> str:
        whole = " (a whole number)" if self.type is Integral else ""
        left_in = self.closed in ("left", "both")
        right_in = self.closed in ("right", "both")
        if self.left is not None and self.right is not None:
            lb, rb = "[" if left_in else "(", "]" if right_in else ")"
            return f"in {lb}{self.left}, {self.right}{rb}{whole}"
        if self.left is not None:
            return f"{'at least' if left_in else 'greater than'} {self.left}{whole}"
        assert self.right is not None
        return f"{'at most' if right_in else 'less than'} {self.right}{whole}"


class Options(Constraint):
    """One of the listed values (of the given type); listed in declaration order."""

    def __init__(self, type: type, options: Iterable[object]) -> None:
        self.type = type
        self.options = tuple(options)

    def is_satisfied_by(self, value: object) -> bool:
        return isinstance(value, self.type) and value in self.options

    def __str__(self) -> str:
        return _either([repr(o) for o in self.options])


class StrOptions(Options):
    """One of the listed strings."""

    def __init__(self, *options: str) -> None:
        super().__init__(str, options)


def _is_sequence(value: object) -> bool:
    """A sized, indexable collection (list, tuple, array, pandas Index...), not text, a
    mapping or a one-pass iterator (which a check would use up)."""
    if isinstance(value, str | bytes | Mapping | Iterator):
        return False
    if isinstance(value, Sequence):
        return True
    if isinstance(value, np.ndarray):
        return value.ndim == 1
    return all(hasattr(value, a) for a in ("__len__", "__getitem__", "__iter__"))


class SequenceOf(Constraint):
    """A sequence (not a string) whose items are of the given types (any, when none),
    with at least ``min_length`` items."""

    def __init__(self, *types: type, min_length: int = 0) -> None:
        self.items = InstanceOf(*types) if types else None
        self.min_length = min_length

    def is_satisfied_by(self, value: object) -> bool:
        if not _is_sequence(value):
            return False
        items: Sequence[object] = value  # type: ignore[assignment]
        if len(items) < self.min_length:
            return False
        return self.items is None or all(self.items.is_satisfied_by(v) for v in items)

    def __str__(self) -> str:
        what = "a non-empty sequence" if self.min_length == 1 else "a sequence"
        if self.min_length > 1:
            what += f" of at least {self.min_length} items"
        if self.items is None:
            return what
        of = str(self.items)
        if len(self.items.types) > 1:
            return f"{what} whose items are each {of}"
        return f"{what} of {of.split(' ', 1)[1]}s"


class HasAttributes(Constraint):
    """An object with the given attributes (duck typing, e.g. a pandas DataFrame)."""

    def __init__(self, *names: str, description: str) -> None:
        self.names = names
        self.description = description

    def is_satisfied_by(self, value: object) -> bool:
        return all(hasattr(value, n) for n in self.names)

    def __str__(self) -> str:
        return self.description


class PathWithSuffix(Constraint):
    """A file path (str or os.PathLike) whose extension is one of ``suffixes`` (any case)."""

    def __init__(self, *suffixes: str) -> None:
        self.suffixes = tuple(s.lower() for s in suffixes)

    def is_satisfied_by(self, value: object) -> bool:
        if not isinstance(value, str | os.PathLike):
            return False
        return Path(value).suffix.lower() in self.suffixes

    def __str__(self) -> str:
        return f"a file path ending in {_either(list(self.suffixes))}"


def _constraint(spec: object) -> Constraint:
    if isinstance(spec, Constraint):
        return spec
    if spec is None:
        return _NoneConstraint()
    if spec == "boolean":
        return _Boolean()
    if spec == NO_CHECK:
        return _Anything()
    if isinstance(spec, type):
        return InstanceOf(spec)
    raise TypeError(f"not a parameter constraint: {spec!r}")


class _Rule:
    """The constraints of one parameter of one function, and its message."""

    def __init__(self, caller: str, name: str, specs: Sequence[object], must: str | None):
        self.caller = caller
        self.name = name
        constraints = [_constraint(s) for s in specs]
        self.trivial = any(isinstance(c, _Anything) for c in constraints)
        self.must = must or "must be " + _either([str(c) for c in constraints])
        # isinstance tests first, all at once (the common case costs one call)
        types: list[type] = []
        self.others: list[Constraint] = []
        for c in constraints:
            if isinstance(c, InstanceOf):
                types += c.types
            elif isinstance(c, _NoneConstraint):
                types.append(type(None))
            elif isinstance(c, _Boolean):
                types += _BOOLS
            else:
                self.others.append(c)
        self.types = tuple(types)

    def check(self, value: object) -> None:
        if isinstance(value, self.types):
            return
        for c in self.others:
            if c.is_satisfied_by(value):
                return
        raise parameter_error(self.caller, self.name, self.must, value)


_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def validate_params(
    constraints: Mapping[str, Sequence[object]],
    *,
    caller: str | None = None,
    must: Mapping[str, str] | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a public function (or method) to check its arguments before it runs.

    Parameters
    ----------
    constraints : mapping
        Parameter name -> list of constraints (see the module docstring). Every
        parameter of the function but ``self`` must be listed.
    caller : str, optional
        The name messages give the function (default its ``__name__``; e.g.
        ``"RadarRenderer"`` for a constructor).
    must : mapping, optional
        Parameter name -> the requirement in words, replacing the one built from the
        constraints (e.g. ``"must end in .pdf or .html"``).

    Arguments left at their defaults are not checked. A failed check raises
    :class:`~repprofile.InvalidParameterError`:
    ``The 'NAME' parameter of CALLER must be ..., got VALUE instead.`` Wrong numbers or
    names of arguments are left to the call itself (a ``TypeError``, as always).
    """

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        name = caller or func.__name__
        parameters = inspect.signature(func).parameters.values()
        if any(p.kind not in (*_POSITIONAL, inspect.Parameter.KEYWORD_ONLY) for p in parameters):
            raise TypeError(f"validate_params of {name}: *args and **kwargs are not supported")
        params = [p.name for p in parameters if p.name != "self"]
        if sorted(params) != sorted(constraints):
            raise TypeError(
                f"validate_params of {name}: constraints for {sorted(constraints)}, but the "
                f"parameters are {sorted(params)}"
            )
        words = must or {}
        rules = {p: _Rule(name, p, constraints[p], words.get(p)) for p in params}
        rules = {p: r for p, r in rules.items() if not r.trivial}
        # (position, rule) of the parameters that can be passed by position
        by_position = [
            (i, rules[p.name])
            for i, p in enumerate(x for x in parameters if x.kind in _POSITIONAL)
            if p.name in rules
        ]

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            n = len(args)
            for i, rule in by_position:
                if i < n:
                    rule.check(args[i])
            for key, value in kwargs.items():
                named = rules.get(key)
                if named is not None:
                    named.check(value)
            return func(*args, **kwargs)

        return wrapper

    return decorate


# --------------------------------------------------------------------------- candidates


class _Problem(Protocol):
    @property
    def candidate_id(self) -> str | None: ...

    @property
    def item_id(self) -> str | None: ...

    @property
    def message(self) -> str: ...


def candidate_row(
    candidate_id: str,
    rows: Mapping[str, int],
    scored: NDArray[np.bool_],
    errors: Iterable[_Problem] = (),
) -> int:
    """The row of a scored candidate, by id: the one candidate lookup of the library.

    ``rows`` maps each candidate id to its (first) row and ``scored`` says which rows
    have scores. An id that is not there, or whose candidate was rejected, raises
    :class:`~repprofile.UnknownCandidateError` naming the id and how many candidates
    there are (or, for a rejected one, its problems from ``errors``).
    """
    row = rows.get(candidate_id) if isinstance(candidate_id, str) else None
    if row is None:
        n = int(scored.size)
        n_scored = int(np.count_nonzero(scored))
        of = f" ({n_scored} scored)" if n_scored != n else ""
        raise UnknownCandidateError(
            f"There is no candidate {shown(candidate_id)} among the {n} candidate"
            f"{'' if n == 1 else 's'} of this result{of}."
        )
    if not scored[row]:
        problems = "; ".join(
            (f"item {e.item_id!r}: " if e.item_id else "") + e.message
            for e in errors
            if e.candidate_id == candidate_id
        )
        raise UnknownCandidateError(
            f"The candidate {candidate_id!r} was rejected, so it has no scores"
            + (f": {problems}" if problems else "; see the result's errors")
        )
    return row
