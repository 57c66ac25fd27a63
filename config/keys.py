"""The keys a policy table may hold, to suggest the one an unknown key was probably meant to be."""

from __future__ import annotations

import types
from collections.abc import Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, Tag

from domain.spelling import closest


def _model_in(annotation: Any, part: str | int) -> Any:
    """What a value of type `annotation` holds at `part` (a field name, an index, a table key)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *meta = get_args(annotation)
        if any(isinstance(m, Tag) and m.tag == part for m in meta):
            return base  # a tagged union's member, named by its tag (a workflow step's kind)
        return _model_in(base, part)
    if origin in (Union, types.UnionType):
        found = [_model_in(arg, part) for arg in get_args(annotation) if arg is not type(None)]
        return next((f for f in found if f is not None), None)
    if isinstance(part, int) and origin in (tuple, list):
        return get_args(annotation)[0]
    if isinstance(part, str) and origin is dict:
        return get_args(annotation)[1]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel) and isinstance(part, str):
        field = _keys(annotation).get(part)
        return field.annotation if field else None
    return None


def _unwrap(annotation: Any) -> type[BaseModel] | None:
    origin = get_origin(annotation)
    if origin is Annotated or origin in (Union, types.UnionType):
        return next((m for a in get_args(annotation) if (m := _unwrap(a)) is not None), None)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def did_you_mean(model: type[BaseModel], loc: Sequence[str | int]) -> str | None:
    """For an unknown key at `loc`, the known key of that table closest to it (None when none is close)."""
    if not loc or not isinstance(loc[-1], str):
        return None
    current: Any = model
    for part in loc[:-1]:
        current = _model_in(current, part)
        if current is None:
            return None
    table = _unwrap(current)
    return closest(loc[-1], _keys(table)) if table else None


def _keys(model: type[BaseModel]) -> dict[str, Any]:
    """A table's keys as the policy file spells them (a field's alias, like a workflow's `if`)."""
    return {field.alias or name: field for name, field in model.model_fields.items()}
