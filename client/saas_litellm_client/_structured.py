"""Structured outputs: ``client.structured_call(...)`` and ``client.stream_structured(...)`` —
what they send and how an answer is validated (the calls themselves: ``_structured_calls``).

Both send ``response_format={"type": "json_schema", "json_schema": {"name", "schema", "strict"}}``
with the schema of :func:`to_strict_json_schema`, and validate the answer with the caller's model
(``model_validate_json``).

``structured_call`` re-asks: when the answer is not valid JSON or fails validation, the answer is
appended to the conversation as an ``assistant`` message, followed by a ``user`` message listing
the validation errors (location and message), and the call is made again — at most
``max_reasks`` times. Every attempt is an ordinary ``llm_call`` of the job, recorded and
counted by the server. API errors are never re-asked (they propagate as they are); neither are a
truncated answer (:class:`StructuredOutputTruncatedError`) nor a refusal
(:class:`StructuredOutputRefusedError`).

``stream_structured`` does not re-ask (the partial objects already shown could not be taken
back). While the JSON streams in, it is parsed with pydantic-core's partial JSON parser and
validated into a *partial model*: a copy of the response model generated with
``pydantic.create_model`` in which every field is optional (default ``None``), without
constraints or validators, and whose nested models are partial too. Those snapshots are
instances of ``Partial<Model>``, not of ``Model``; the last item is the validated ``Model``.
"""

from __future__ import annotations

import json
import re
import types
import weakref
from collections.abc import Mapping, Sequence
from typing import (
    Annotated,
    Any,
    ForwardRef,
    Literal,
    TypeGuard,
    TypeVar,
    Union,
    get_args,
    get_origin,
)

import pydantic_core
from pydantic import BaseModel, ConfigDict, Field, RootModel, ValidationError, create_model
from pydantic_core import ErrorDetails

from saas_litellm_models import ChatMessage, ResponseFormat, Usage

from ._exceptions import (
    StructuredOutputError,
    StructuredOutputRefusedError,
    StructuredOutputTruncatedError,
)
from ._strict_schema import schema_name, to_strict_json_schema

__all__ = [
    "add_usage",
    "give_up",
    "is_complete_json",
    "parse_partial",
    "partial_model",
    "reask_message",
    "response_format_for",
    "validate_answer",
]

_ModelT = TypeVar("_ModelT", bound=BaseModel)

_MAX_LISTED_ERRORS = 20
_MAX_INPUT_CHARS = 80


# -- request -----------------------------------------------------------------------------------


def response_format_for(model: type[BaseModel], *, strict: bool) -> ResponseFormat:
    """The ``response_format`` asking for ``model``: its strict schema, or with ``strict=False``
    pydantic's own schema sent as a non-binding ``"strict": false`` one."""
    schema = to_strict_json_schema(model) if strict else model.model_json_schema()
    return ResponseFormat.model_validate(
        {
            "type": "json_schema",
            "json_schema": {"name": schema_name(model), "schema": schema, "strict": strict},
        }
    )


def check_max_reasks(max_reasks: int) -> None:
    if isinstance(max_reasks, bool) or not isinstance(max_reasks, int) or max_reasks < 0:
        raise ValueError(f"max_reasks must be an integer >= 0, got {max_reasks!r}")


# -- answers -----------------------------------------------------------------------------------


def add_usage(total: Usage, more: Usage) -> Usage:
    return Usage(
        prompt_tokens=total.prompt_tokens + more.prompt_tokens,
        completion_tokens=total.completion_tokens + more.completion_tokens,
        total_tokens=total.total_tokens + more.total_tokens,
    )


def _describe_input(value: object) -> str:
    if isinstance(value, (dict, list)):
        return ""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return f" (got {text})" if len(text) <= _MAX_INPUT_CHARS else ""


def format_errors(errors: Sequence[ErrorDetails]) -> str:
    """One line per error — ``- addr.city: Field required`` — at most 20 of them."""
    lines = []
    for error in errors[:_MAX_LISTED_ERRORS]:
        where = ".".join(str(part) for part in error["loc"])
        shown = "" if error["type"] in ("missing", "json_invalid") else error.get("input")
        lines.append(f"- {where + ': ' if where else ''}{error['msg']}{_describe_input(shown)}")
    if len(errors) > _MAX_LISTED_ERRORS:
        lines.append(f"- … and {len(errors) - _MAX_LISTED_ERRORS} more")
    return "\n".join(lines)


def reask_message(model: type[BaseModel], errors: Sequence[ErrorDetails]) -> ChatMessage:
    """The ``user`` message that follows an invalid answer."""
    return ChatMessage(
        role="user",
        content=(
            f"Your answer is not a valid {model.__name__} JSON object:\n"
            f"{format_errors(errors)}\n"
            "Answer again with only the corrected JSON object, following the schema."
        ),
    )


def validate_answer(
    model: type[_ModelT],
    content: str,
    finish_reason: str | None,
    *,
    attempts: int,
    usage: Usage,
    call_ids: list[str],
) -> _ModelT | list[ErrorDetails]:
    """The validated object, or the validation errors of an answer worth re-asking.

    A refusal (``content_filter``, or no content) and a truncated answer (``length``) that does
    not validate raise instead: asking again would not help.
    """
    if finish_reason == "content_filter" or (not content and finish_reason != "length"):
        raise StructuredOutputRefusedError(
            f"The model refused to answer with a {model.__name__} "
            f"(finish_reason={finish_reason!r}, {len(content)} characters of content).",
            attempts=attempts,
            last_output=content,
            validation_errors=[],
            usage=usage,
            call_ids=list(call_ids),
            finish_reason=finish_reason,
        )
    try:
        return model.model_validate_json(content)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    if finish_reason == "length":
        raise StructuredOutputTruncatedError(
            f"The {model.__name__} answer was cut off by the token limit "
            f"after {len(content)} characters (finish_reason='length'); raise max_tokens.",
            attempts=attempts,
            last_output=content,
            validation_errors=errors,
            usage=usage,
            call_ids=list(call_ids),
            finish_reason=finish_reason,
        )
    return errors


def give_up(
    model: type[BaseModel],
    content: str,
    finish_reason: str | None,
    errors: list[ErrorDetails],
    *,
    attempts: int,
    usage: Usage,
    call_ids: list[str],
) -> StructuredOutputError:
    return StructuredOutputError(
        f"No valid {model.__name__} after {attempts} attempt(s); the last answer had "
        f"{len(errors)} error(s):\n{format_errors(errors)}",
        attempts=attempts,
        last_output=content,
        validation_errors=errors,
        usage=usage,
        call_ids=list(call_ids),
        finish_reason=finish_reason,
    )


# -- partial objects ---------------------------------------------------------------------------

_PARTIAL_CONFIG = ConfigDict(
    extra="ignore",
    arbitrary_types_allowed=True,
    protected_namespaces=(),
)
_partial_models: weakref.WeakKeyDictionary[type[BaseModel], type[BaseModel]] = (
    weakref.WeakKeyDictionary()
)


def partial_model(model: type[BaseModel]) -> type[BaseModel]:
    """``Partial<Model>``: every field optional (default ``None``), recursively, without the
    constraints and validators of the original. Generated once per model."""
    cached = _partial_models.get(model)
    if cached is None:
        cached = _partial_models[model] = _build_partial_models(model)
    return cached


def _is_model(tp: object) -> TypeGuard[type[BaseModel]]:
    return isinstance(tp, type) and issubclass(tp, BaseModel) and not issubclass(tp, RootModel)


def _collect_models(model: type[BaseModel]) -> list[type[BaseModel]]:
    """``model`` and every model class reachable from its fields' annotations."""
    found: list[type[BaseModel]] = []
    pending: list[object] = [model]
    while pending:
        tp = pending.pop()
        if _is_model(tp):
            if tp not in found:
                found.append(tp)
                pending.extend(field.annotation for field in tp.model_fields.values())
        else:
            pending.extend(get_args(tp))
    return found


def _partial_type(tp: Any, names: Mapping[type[BaseModel], str]) -> Any:
    """``tp`` with every model replaced by (a forward reference to) its partial model and every
    ``Annotated`` constraint removed."""
    if _is_model(tp):
        return ForwardRef(names[tp])
    origin = get_origin(tp)
    if origin is None or origin is Literal:
        return tp
    args = get_args(tp)
    if origin is Annotated:
        return _partial_type(args[0], names)
    new_args = tuple(_partial_type(arg, names) for arg in args)
    if origin is Union or origin is types.UnionType:
        return Union[new_args]  # noqa: UP007 -- built at run time from a tuple
    if isinstance(tp, types.GenericAlias):
        return types.GenericAlias(origin, new_args)
    copy_with = getattr(tp, "copy_with", None)
    return copy_with(new_args) if copy_with is not None else tp


def _build_partial_models(model: type[BaseModel]) -> type[BaseModel]:
    models = _collect_models(model)
    names: dict[type[BaseModel], str] = {}
    for index, cls in enumerate(models):
        base = "Partial" + (re.sub(r"\W+", "_", cls.__name__).strip("_") or "Model")
        names[cls] = base if base not in names.values() else f"{base}_{index}"
    namespace: dict[str, Any] = {}
    for cls in models:
        fields: dict[str, Any] = {
            name: (
                Union[_partial_type(info.annotation, names), None],  # noqa: UP007
                Field(default=None, alias=info.alias, validation_alias=info.validation_alias),
            )
            for name, info in cls.model_fields.items()
        }
        namespace[names[cls]] = create_model(
            names[cls],
            __config__=_PARTIAL_CONFIG,
            __doc__=f"A partial {cls.__name__}: any field may still be missing (None).",
            __module__=__name__,
            **fields,
        )
    for partial in namespace.values():
        partial.model_rebuild(_types_namespace=namespace)
    result: type[BaseModel] = namespace[names[model]]
    return result


def _trim_trailing_number(text: str) -> str:
    """Drop a number at the very end: ``{"age": 4`` may become ``{"age": 42}``, and a partial
    object must not show 4 in the meantime."""
    end = len(text)
    while end and text[end - 1] in "0123456789.eE+-":
        end -= 1
    tail = text[end:]
    return text[:end] if any(char.isdigit() for char in tail) else text


def parse_partial(text: str, partial: type[BaseModel]) -> tuple[dict[str, Any], BaseModel] | None:
    """The object that ``text`` (the JSON received so far) describes, or ``None`` if nothing
    usable yet. Unfinished strings are shown as far as they arrived, unless that makes the
    object invalid (half an enum value, half a date): then they are left out."""
    text = _trim_trailing_number(text)
    mode: Literal["trailing-strings"] | bool
    for mode in ("trailing-strings", True):
        try:
            data = pydantic_core.from_json(text, allow_partial=mode)
        except ValueError:  # not JSON (yet): prose, or nothing at all
            return None
        if not isinstance(data, dict):
            return None
        try:
            return data, partial.model_validate(data)
        except ValidationError:
            continue
    return None


def is_complete_json(text: str) -> bool:
    if not text.rstrip().endswith("}"):
        return False
    try:
        pydantic_core.from_json(text)
    except ValueError:
        return False
    return True
