"""Cursor-paginated lists: one type per kind of client instead of a ``list_X``/``iter_X`` pair
per resource (openai-python's paginator, made for our ``next_cursor`` lists).

An async list method returns an :class:`AsyncPaginator`: ``await`` it for the first
:class:`Page`, or ``async for`` over it for every item of every page, fetched a page at a time.
A synchronous list method fetches the first :class:`SyncPage` at once; ``for`` over it walks
every item of every page. Either page has ``items``, ``next_cursor``, ``has_next_page()`` and
``get_next_page()``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from typing import Any, Generic, TypeVar

from ._exceptions import SaasLiteLLMError

__all__ = ["AsyncPaginator", "Page", "SyncPage", "paginate", "sync_paginate"]

_T = TypeVar("_T")


class _PageBase(Generic[_T]):
    items: list[_T]
    """This page's items, newest first."""
    next_cursor: str | None
    """The cursor of the next page, ``None`` on the last."""

    def __init__(self, items: list[_T], next_cursor: str | None) -> None:
        self.items = items
        self.next_cursor = next_cursor

    def has_next_page(self) -> bool:
        return self.next_cursor is not None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} items={len(self.items)} next_cursor={self.next_cursor!r}>"

    def _next_cursor(self) -> str:
        if self.next_cursor is None:
            raise SaasLiteLLMError("This is the last page: check has_next_page() first.")
        return self.next_cursor


class Page(_PageBase[_T]):
    """One page of an async list; ``async for`` over it walks its items and every later
    page's."""

    def __init__(
        self,
        items: list[_T],
        next_cursor: str | None,
        fetch: Callable[[str | None], Awaitable[Page[_T]]],
    ) -> None:
        super().__init__(items, next_cursor)
        self._fetch = fetch

    async def get_next_page(self) -> Page[_T]:
        """The page after this one (``SaasLiteLLMError`` on the last page)."""
        return await self._fetch(self._next_cursor())

    async def iter_pages(self) -> AsyncIterator[Page[_T]]:
        """This page and every later one, each fetched when reached."""
        page = self
        yield page
        while page.has_next_page():
            page = await page.get_next_page()
            yield page

    async def __aiter__(self) -> AsyncIterator[_T]:
        async for page in self.iter_pages():
            for item in page.items:
                yield item


class AsyncPaginator(Generic[_T]):
    """What an async list method returns: ``await`` it for the first :class:`Page`,
    ``async for`` over it for every item of every page. Nothing is sent before either."""

    def __init__(self, fetch: Callable[[str | None], Awaitable[Page[_T]]], cursor: str | None):
        self._fetch = fetch
        self._cursor = cursor

    def __await__(self) -> Generator[Any, None, Page[_T]]:
        return self._fetch(self._cursor).__await__()

    async def __aiter__(self) -> AsyncIterator[_T]:
        page = await self
        async for item in page:
            yield item


class SyncPage(_PageBase[_T]):
    """One page of a synchronous list; ``for`` over it walks its items and every later
    page's."""

    def __init__(
        self, items: list[_T], next_cursor: str | None, fetch: Callable[[str | None], SyncPage[_T]]
    ) -> None:
        super().__init__(items, next_cursor)
        self._fetch = fetch

    def get_next_page(self) -> SyncPage[_T]:
        """The page after this one (``SaasLiteLLMError`` on the last page)."""
        return self._fetch(self._next_cursor())

    def iter_pages(self) -> Iterator[SyncPage[_T]]:
        """This page and every later one, each fetched when reached."""
        page = self
        yield page
        while page.has_next_page():
            page = page.get_next_page()
            yield page

    def __iter__(self) -> Iterator[_T]:
        for page in self.iter_pages():
            yield from page.items


def paginate(
    fetch: Callable[[str | None], Awaitable[Page[_T]]], cursor: str | None
) -> AsyncPaginator[_T]:
    """The async list, starting at ``cursor`` (``None``: the newest)."""
    return AsyncPaginator(fetch, cursor)


def sync_paginate(fetch: Callable[[str | None], SyncPage[_T]], cursor: str | None) -> SyncPage[_T]:
    """The synchronous list's first page, fetched now."""
    return fetch(cursor)
