"""A browser-like client of the dashboard for its tests, and helpers to read its pages: the
cells of a table, the forms of a page as a browser would submit them."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import Any

import httpx
from support import bearer

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
KEY = re.compile(r'id="virtual-key">([^<]+)<')


class Dash:
    """A browser-like dashboard user: GETs pages, posts forms with the session's CSRF token."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.csrf = ""

    async def get(self, path: str, status: int = 200) -> str:
        r = await self.http.get(path)
        assert r.status_code == status, (path, r.status_code, r.text[:2000])
        found = CSRF.search(r.text)
        if found:
            self.csrf = found.group(1)
        return html.unescape(r.text)

    async def post(self, path: str, form: dict[str, Any], status: int = 303) -> httpx.Response:
        if not self.csrf:
            await self.get("/admin/organizations")  # a page with a form
        # as the page's script does once its question was answered (test_confirmations: without)
        r = await self.http.post(path, data={"confirmed": "yes", **form, "csrf": self.csrf})
        assert r.status_code == status, (path, r.status_code, r.text[:3000])
        return r


def cells(page: str, table_id: str) -> list[list[str]]:
    """The text of each body row of the table with this id."""
    table = re.search(rf'<table id="{table_id}">(.*?)</table>', page, re.S)
    assert table, f"no table {table_id}"
    body = table.group(1).split("<tbody>", 1)[1]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in rows
    ]


async def call(http: httpx.AsyncClient, key: str, job: str, model: str = "default") -> None:
    r = await http.post(
        f"/api/jobs/{job}/llm-call",
        json={"model": model, "messages": [{"role": "user", "content": "hello there"}]},
        headers=bearer(key),
    )
    assert r.status_code == 200, r.text


async def complete(http: httpx.AsyncClient, key: str, job: str) -> dict[str, Any]:
    r = await http.post(
        f"/api/jobs/{job}/complete", json={"status": "completed"}, headers=bearer(key)
    )
    assert r.status_code == 200, r.text
    costs: dict[str, Any] = r.json()["costs"]
    return costs


class _Forms(HTMLParser):
    """Every form of a page as a browser would submit it untouched: ``{action: [(name,
    value)]}`` (text and number inputs, hidden fields, checked boxes, each select's selected
    option, textareas)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, list[tuple[str, str]]] = {}
        self._action: str | None = None
        self._select: tuple[str, list[tuple[str, bool]]] | None = None
        self._option: tuple[str | None, bool] | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        fields = self.forms.get(self._action or "", [])
        if tag == "form" and a.get("method") == "post":
            self._action = a["action"]
            self.forms[self._action] = []
        elif self._action is None:
            return
        elif tag == "input" and "name" in a:
            kind = a.get("type", "text")
            if kind not in ("checkbox", "radio") or "checked" in a:
                fields.append((a["name"], a.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select":
            self._select = (a["name"], [])
        elif tag == "option" and self._select is not None:
            self._option = (a.get("value"), "selected" in a)
        elif tag == "textarea":
            self._textarea = a["name"]

    def handle_data(self, data: str) -> None:
        if self._option is not None and self._select is not None:
            value, selected = self._option
            self._select[1].append((data if value is None else value, selected))
            self._option = None
        elif self._textarea is not None and self._action is not None:
            self.forms[self._action].append((self._textarea, data))
            self._textarea = None

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._action = None
        elif tag == "option" and self._option is not None and self._select is not None:
            self._select[1].append(("", self._option[1]))  # an empty option
            self._option = None
        elif tag == "select" and self._select is not None and self._action is not None:
            name, options = self._select
            chosen = [v for v, selected in options if selected] or [options[0][0]]
            self.forms[self._action].extend((name, v) for v in chosen[:1])
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._action is not None:
            self.forms[self._action].append((self._textarea, ""))
            self._textarea = None


def submitted_forms(page: str) -> dict[str, list[tuple[str, str]]]:
    parser = _Forms()
    parser.feed(page)
    return parser.forms
