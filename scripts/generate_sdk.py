"""Generate the SDK's endpoint methods from the endpoint table.

``python scripts/generate_sdk.py`` writes ``client/saas_litellm_client/_endpoint_methods.py``:
for every :class:`SDKMethod` of every row of ``saas_litellm_models.endpoints``, one method on
``TeamEndpoints`` or ``AdminEndpoints`` (the bases of the two public clients), with the path
parameters and the body or query fields of the row as its arguments — typed and defaulted as
their model fields are — and ``**options`` (:class:`RequestOptions`) for the per-call settings.
Then run ``scripts/unasync.py`` for the synchronous twin. ``--check`` only reports whether the
committed module is out of date (``tests/test_generate_sdk.py`` runs it).

As openai-python's resources are generated from its spec, ours are generated from the table, so
the methods cannot drift from the server: the same paths, fields, defaults and idempotency.
"""

from __future__ import annotations

import argparse
import datetime
import sys
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

import saas_litellm_models
from saas_litellm_models.endpoints import ENDPOINTS, Endpoint, SDKMethod

sys.path.insert(0, str(Path(__file__).resolve().parent))
from unasync import _ruff  # the pinned ruff, as the sync twins are formatted

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "client" / "saas_litellm_client" / "_endpoint_methods.py"

CLIENTS = {"team": "TeamEndpoints", "admin": "AdminEndpoints"}

_PARAMS = {"CallParams": saas_litellm_models.LLMCallRequest}
r"""The ``TypedDict``\ s an ``SDKMethod.params`` may name, by the model whose fields they hold
(``tests/sdk/test_params.py`` keeps ``CallParams`` equal to ``LLMCallRequest``)."""


class _Imports:
    def __init__(self) -> None:
        self.models: set[str] = set()
        self.typing: set[str] = set()
        self.abc: set[str] = set()
        self.datetime = False


def _literal_name(tp: Any) -> str | None:
    """The name a ``Literal`` has among the models (``BudgetMode``…), to write it by name."""
    for name in saas_litellm_models.__all__:
        value = getattr(saas_litellm_models, name)
        if typing.get_origin(value) is typing.Literal and value == tp:
            return name
    return None


def _render(tp: Any, imports: _Imports) -> str:
    """``tp`` (a model field's annotation) as the type of an SDK argument: constraints dropped,
    lists taken as any sequence, nested models also as plain mappings."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _render(typing.get_args(tp)[0], imports)
    if tp is type(None):
        return "None"
    if origin in (typing.Union, types.UnionType):
        parts: list[str] = []
        for arg in typing.get_args(tp):
            for part in _render(arg, imports).split(" | "):
                if part not in parts:
                    parts.append(part)
        if "None" in parts:
            parts.remove("None")
            parts.append("None")
        return " | ".join(parts)
    if origin is typing.Literal:
        name = _literal_name(tp)
        if name is not None:
            imports.models.add(name)
            return name
        imports.typing.add("Literal")
        return "Literal[" + ", ".join(repr(arg) for arg in typing.get_args(tp)) + "]"
    if origin is list:
        imports.abc.add("Sequence")
        return f"Sequence[{_render(typing.get_args(tp)[0], imports)}]"
    if origin is dict or tp is dict:
        imports.abc.add("Mapping")
        imports.typing.add("Any")
        return "Mapping[str, Any]"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        if getattr(saas_litellm_models, tp.__name__, None) is not tp:
            raise SystemExit(f"{tp.__name__} is not exported by saas_litellm_models")
        imports.models.add(tp.__name__)
        imports.abc.add("Mapping")
        imports.typing.add("Any")
        return f"{tp.__name__} | Mapping[str, Any]"
    if tp is datetime.datetime:
        imports.datetime = True
        return "datetime"
    if tp in (str, int, float, bool):
        return str(tp.__name__)
    if tp is Any or str(tp).endswith("JsonValue"):
        imports.typing.add("Any")
        return "Any"
    raise SystemExit(f"generate_sdk: no rendering for the annotation {tp!r}")


@dataclass
class _Arg:
    name: str
    annotation: str
    default: str | None  # source text; None: required


def _fields(endpoint: Endpoint[Any]) -> dict[str, Any]:
    """The endpoint's path parameters, then its body or query fields: name → FieldInfo (or
    ``None`` for a path parameter)."""
    fields: dict[str, Any] = {name: None for name in endpoint.path_params}
    for model in (endpoint.body, endpoint.query):
        if model is not None:
            fields.update(model.model_fields)
    return fields


def _params_keys(method: SDKMethod) -> frozenset[str]:
    if method.params is None:
        return frozenset()
    return frozenset(_PARAMS[method.params].model_fields)


def _args(endpoint: Endpoint[Any], method: SDKMethod, imports: _Imports) -> list[_Arg]:
    args: dict[str, _Arg] = {}
    in_params = _params_keys(method)
    for name, info in _fields(endpoint).items():
        if name in method.bind or name in in_params:
            continue
        if info is None:
            args[name] = _Arg(name, "str", None)
            continue
        annotation = _render(info.annotation, imports)
        if name in method.defaults:
            default: str | None = repr(method.defaults[name])
        elif info.is_required():
            default = None
        elif endpoint.partial:
            parts = annotation.split(" | ")
            parts.insert(len(parts) - 1 if parts[-1] == "None" else len(parts), "NotGiven")
            annotation = " | ".join(parts)
            default = "NOT_GIVEN"
        elif info.default_factory is not None:
            default = "()" if info.default_factory is list else "None"
            if default == "None" and "None" not in annotation.split(" | "):
                annotation += " | None"
        elif info.default is PydanticUndefined:
            default = None
        else:
            default = repr(info.default)
        args[name] = _Arg(name, annotation, default)
    for name in method.positional:
        if name not in args:
            raise SystemExit(f"{method.name}: positional {name!r} is not an argument")
    return [args[name] for name in method.positional] + [
        arg for name, arg in args.items() if name not in method.positional
    ]


def _item_type(endpoint: Endpoint[Any]) -> type[BaseModel]:
    assert endpoint.response is not None
    assert endpoint.page_items is not None
    annotation = endpoint.response.model_fields[endpoint.page_items].annotation
    (item,) = typing.get_args(annotation)
    assert isinstance(item, type)
    assert issubclass(item, BaseModel)
    return item


def _dict(entries: list[tuple[str, str]]) -> str:
    return "{" + ", ".join(f"{key!r}: {value}" for key, value in entries) + "}"


def _docstring(endpoint: Endpoint[Any], method: SDKMethod) -> str:
    text = method.docstring or endpoint.summary + "."
    if endpoint.page_items is not None:
        text += (
            "\n\nAwait the result for the first page (``items``, ``next_cursor``,\n"
            "``has_next_page()``); ``async for`` over it walks every item of every page."
        )
    prefix = "r" if "\\" in text else ""
    body = "\n".join(("        " + line) if line else "" for line in text.split("\n"))
    return f'        {prefix}"""{body.lstrip()}\n        """\n'


def _parameter(arg: _Arg) -> str:
    return f"{arg.name}: {arg.annotation}" + ("" if arg.default is None else f" = {arg.default}")


def _method(constant: str, endpoint: Endpoint[Any], method: SDKMethod, imports: _Imports) -> str:
    args = _args(endpoint, method, imports)
    signature = ["self"]
    positional = [arg for arg in args if arg.name in method.positional]
    keyword = [arg for arg in args if arg.name not in method.positional]
    for arg in positional:
        signature.append(
            arg.name + f": {arg.annotation}" + (f" = {arg.default}" if arg.default else "")
        )
    if keyword:
        signature.append("*")
    for arg in keyword:
        signature.append(
            arg.name + f": {arg.annotation}" + (f" = {arg.default}" if arg.default else "")
        )
    imports.typing.add("Unpack")
    if method.params is not None:
        signature.append(f"**params: Unpack[{method.params}WithOptions]")
        options = "options"
    else:
        kind = "IdempotentRequestOptions" if endpoint.idempotent else "RequestOptions"
        imports.typing.add(kind)
        signature.append(f"**options: Unpack[{kind}]")
        options = "options"

    def value(name: str) -> str:
        return "self.team_id" if name in method.bind else name

    path = [(name, value(name)) for name in endpoint.path_params]
    fields = [
        (name, value(name))
        for name in _fields(endpoint)
        if name not in endpoint.path_params and name not in _params_keys(method)
    ]
    call = [f"endpoints.{constant}"]
    lines: list[str] = []
    if method.params is not None:
        lines.append("        fields, options = split_options(params)\n")
    if path:
        call.append(f"path={_dict(path)}")
    if endpoint.page_items is not None:
        item = _item_type(endpoint).__name__
        imports.models.add(item)
        call.insert(1, item)
        call.append(f"query={_dict(fields)}")
        returns, prefix, head = f"AsyncPaginator[{item}]", "", "def"
        verb = "self._paginate"
    else:
        if endpoint.body is not None:
            body = _dict(fields)
            if method.params is not None:
                body = "{**fields, " + body[1:] if fields else "fields"
            call.append(f"body={body}")
        elif endpoint.query is not None:
            call.append(f"query={_dict(fields)}")
        if endpoint.stream:
            returns, prefix, head, verb = "ChatStream", "", "def", "self._stream"
        else:
            assert endpoint.response is not None
            imports.models.add(endpoint.response.__name__)
            returns, prefix, head = endpoint.response.__name__, "await ", "async def"
            verb = "self._request"
    call.append(f"options={options}")
    text = f"    {head} {method.name}({', '.join(signature)}) -> {returns}:\n"
    text += _docstring(endpoint, method)
    text += "".join(lines)
    text += f"        return {prefix}{verb}({', '.join(call)})\n"
    return text


def _raw_class(client: str, methods: list[tuple[Endpoint[Any], SDKMethod]]) -> str:
    name = CLIENTS[client]
    text = f"class {name}WithRawResponse:\n"
    text += (
        f'    """``client.with_raw_response``: the methods of :class:`{name}` that answer\n'
        '    a response (not a stream), answering a :class:`RawResponse` of it instead."""\n\n'
    )
    text += f"    def __init__(self, client: {name}) -> None:\n"
    for endpoint, method in methods:
        if not endpoint.stream:
            text += f"        self.{method.name} = async_raw_response(client.{method.name})\n"
    return text


def source() -> str:
    """The text of ``_endpoint_methods.py``, before formatting."""
    imports = _Imports()
    by_client: dict[str, list[tuple[str, Endpoint[Any], SDKMethod]]] = {c: [] for c in CLIENTS}
    constants = {
        id(value): name for name, value in vars(sys.modules[ENDPOINTS[0].__module__]).items()
    }
    for endpoint in ENDPOINTS:
        for method in endpoint.sdk:
            by_client[method.client].append((constants[id(endpoint)], endpoint, method))
    classes = []
    for client, rows in by_client.items():
        doc = (
            "The team client's endpoint methods (a virtual key's)."
            if client == "team"
            else "The admin client's endpoint methods (the admin key's)."
        )
        text = f'class {CLIENTS[client]}(_BaseClient):\n    """{doc}"""\n\n'
        if client == "team":
            text += "    team_id: str\n\n"
        text += "\n".join(_method(c, e, m, imports) for c, e, m in rows)
        classes.append(text)
        classes.append(_raw_class(client, [(e, m) for _, e, m in rows]))
    header = (
        "# Generated from saas_litellm_models.endpoints by scripts/generate_sdk.py: edit the\n"
        "# table and run `python scripts/generate_sdk.py`, never this file.\n"
        '"""The SDK\'s endpoint methods, one per ``SDKMethod`` of the endpoint table.\n\n'
        "``_sync_endpoint_methods`` is generated from this module by ``scripts/unasync.py``.\n"
        '"""\n\n'
        "from __future__ import annotations\n\n"
    )
    lines = []
    if imports.abc:
        lines.append(f"from collections.abc import {', '.join(sorted(imports.abc))}")
    if imports.datetime:
        lines.append("from datetime import datetime")
    plain = sorted(imports.typing & {"Any", "Literal"})
    if plain:
        lines.append(f"from typing import {', '.join(plain)}")
    lines.append("from typing_extensions import Unpack")
    lines.append(f"from saas_litellm_models import {', '.join(sorted(imports.models))}")
    lines.append("from saas_litellm_models import endpoints")
    lines.append("from ._base_client import _BaseClient")
    lines.append("from ._core import split_options")
    lines.append("from ._pagination import AsyncPaginator")
    lines.append("from ._params import CallParamsWithOptions")
    lines.append("from ._response import async_raw_response")
    lines.append("from ._streaming import ChatStream")
    lines.append(
        "from ._types import NOT_GIVEN, IdempotentRequestOptions, NotGiven, RequestOptions"
    )
    names = sorted([*CLIENTS.values(), *(f"{name}WithRawResponse" for name in CLIENTS.values())])
    all_ = "__all__ = [" + ", ".join(repr(n) for n in names) + "]\n\n\n"
    return header + "\n".join(lines) + "\n\n" + all_ + "\n\n".join(classes)


def generated() -> str:
    """``_endpoint_methods.py`` as it should be: generated, then formatted as ruff does."""
    text = _ruff(["check", "--fix-only", "--select", "F401,I"], source(), TARGET)
    return _ruff(["format"], text, TARGET)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report a stale module")
    args = parser.parse_args()
    text = generated()
    current = TARGET.read_text() if TARGET.exists() else ""
    if args.check:
        if current != text:
            print(f"{TARGET.name} is out of date: run `python scripts/generate_sdk.py`")
            return 1
        return 0
    if current != text:
        TARGET.write_text(text)
        print(f"wrote {TARGET.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
