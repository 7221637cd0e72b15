"""Generate ``docs/api-reference.md`` from the server's OpenAPI document.

    python docs/generate_reference.py

The reference is never edited by hand: a test fails when it differs from what this prints.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("api-reference.md")


def _document() -> dict[str, Any]:
    from saas_litellm_server import Settings, create_app
    from saas_litellm_server._version import __version__
    from saas_litellm_server.routes._openapi import build_openapi

    app = create_app(Settings(database_url="sqlite:///:memory:", _env_file=None))  # type: ignore[call-arg]
    return build_openapi(app.routes, version=__version__)


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return (
            f"[{schema['$ref'].rsplit('/', 1)[-1]}](#{schema['$ref'].rsplit('/', 1)[-1].lower()})"
        )
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " \\| ".join(_type(s) for s in schema[key])
    if schema.get("type") == "array":
        return f"list of {_type(schema.get('items', {}))}"
    if "enum" in schema:
        return " \\| ".join(f"`{json.dumps(v)}`" for v in schema["enum"])
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    return str(schema.get("type", "any"))


def _fields(schema: dict[str, Any]) -> list[str]:
    props = schema.get("properties", {})
    if not props:
        return []
    required = set(schema.get("required", []))
    lines = ["| field | type | required | description |", "|---|---|---|---|"]
    for name, sub in props.items():
        description = " ".join(str(sub.get("description", "")).split())
        lines.append(
            f"| `{name}` | {_type(sub)} | {'yes' if name in required else ''} | {description} |"
        )
    return lines


def render() -> str:
    doc = _document()
    out = [
        "# API reference",
        "",
        "Generated from the server's OpenAPI document by `docs/generate_reference.py` — do not "
        "edit. The live document is served at `/openapi.json`, with Swagger UI at `/docs` and "
        "ReDoc at `/redoc`.",
        "",
        "Every error response is an [ErrorResponse](#errorresponse); every response carries "
        "`X-Request-ID`.",
        "",
        "## Endpoints",
        "",
    ]
    auth = {
        "VirtualKey": "team virtual key",
        "ApiKeyHeader": "team virtual key as `x-api-key`",
        "AdminKey": "admin key",
    }
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            out += [f"### `{method.upper()} {path}`", "", op["summary"] + ".", ""]
            if op.get("description"):
                out += [op["description"], ""]
            schemes = [auth[name] for entry in op["security"] for name in entry]
            out.append(f"- **Auth:** {' or '.join(schemes) if schemes else 'none'}")
            if "x-required-role" in op:
                fields = op.get("x-role-fields")
                out.append(
                    f"- **Operator role:** `{op['x-required-role']}` or higher"
                    + (
                        f" (when the body sets only {', '.join(f'`{f}`' for f in fields)}; "
                        "any other field needs `admin`)"
                        if fields
                        else ""
                    )
                    + (
                        f"; `{op['x-export-role']}` or higher for `format=csv`"
                        if "x-export-role" in op
                        else ""
                    )
                )
            for param in op["parameters"]:
                out.append(
                    f"- **{param['in']} `{param['name']}`:** {_type(param['schema'])}"
                    + (f" — {param['description']}" if param.get("description") else "")
                )
            if "requestBody" in op:
                body = op["requestBody"]["content"]["application/json"]["schema"]
                out.append(f"- **Body:** {_type(body)}")
            for status, response in op["responses"].items():
                content = response.get("content", {})
                if "application/json" in content:
                    shape = _type(content["application/json"]["schema"])
                elif "text/event-stream" in content:
                    shape = (
                        "Server-Sent Events of [StreamChunk](#streamchunk), "
                        "[StreamDone](#streamdone), [StreamErrorEvent](#streamerrorevent)"
                    )
                else:
                    shape = ""
                if int(status) >= 400:
                    shape = response["description"]
                out.append(f"- **{status}:** {shape or response['description']}")
            out.append("")
    out += ["## Schemas", ""]
    for name, schema in sorted(doc["components"]["schemas"].items()):
        out += [f"### {name}", ""]
        if schema.get("description"):
            out += [" ".join(schema["description"].split()), ""]
        fields = _fields(schema)
        out += [*fields, ""] if fields else [f"{_type(schema)}", ""]
        for example in schema.get("examples", []):
            out += ["Example:", "", "```json", json.dumps(example, indent=2), "```", ""]
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    OUT.write_text(render())
    sys.stdout.write(f"wrote {OUT}\n")
