"""Safe paging: how far a client follows a server's "next page" before it stops, and where it may follow it to."""

from __future__ import annotations

import math

import httpx

from odatui.core.errors import StepError

MAX_PAGES = 1000  # pages followed for one listing (200 items each): far beyond any real org, short of forever
MAX_MEMBERS = 200_000  # one smart group's member list (one unpaged answer): four times the largest fleet planned for


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default = {"https": 443, "http": 80}.get(url.scheme)
    return url.scheme, url.host, url.port or default


class PageGuard:
    """Follows `Link: rel="next"` (or page numbers) safely: a next link must stay on the origin the client was made
    for — the API token is sent with it — must not repeat a page already read, and paging stops at `MAX_PAGES`."""

    def __init__(self, base_url: httpx.URL | str, what: str, *, max_pages: int = MAX_PAGES) -> None:
        self.base = httpx.URL(str(base_url))
        self.what, self.max_pages = what, max_pages
        self.seen: set[str] = set()
        self.pages = 1  # the first page, requested by the caller

    def check(self, next_url: str) -> str:
        """`next_url` if it is safe to request next; otherwise one StepError (not retryable) saying why."""
        try:
            absolute = self.base.join(next_url)
        except (httpx.InvalidURL, ValueError):
            raise StepError(f"the next-page link from {self.what} is not a URL; stopped paging") from None
        if _origin(absolute) != _origin(self.base):
            raise StepError(f"the next-page link from {self.what} points to another origin "
                            f"({absolute.scheme}://{absolute.host}); refusing to send the API token there",
                            hint="a proxy or a hostile server rewrote the Link header; check the org URL and proxy")
        key = str(absolute)
        if key in self.seen:
            raise StepError(f"the next-page link from {self.what} repeats a page already read (a paging loop); "
                            "stopped paging", hint="the server's paging is broken; try again later")
        self.count()
        self.seen.add(key)
        return next_url

    def count(self) -> None:
        """One more page; past `max_pages` the listing stops with the limit named."""
        self.pages += 1
        if self.pages > self.max_pages:
            raise StepError(f"{self.what} announced more than the {self.max_pages}-page limit for one listing; "
                            "stopped paging",
                            hint="the server keeps announcing more pages; check its answers (or a proxy)")


def page_count(total: int, page_size: int, what: str) -> int:
    """Pages a listing of `total` items takes; past MAX_PAGES a hostile or broken Total would start millions of
    requests at once, so the listing stops with one line naming the limit."""
    pages = max(1, math.ceil(total / page_size))
    if pages > MAX_PAGES:
        raise StepError(f"{what}: the server announced {total} items, more than the {MAX_PAGES}-page limit for one "
                        "listing; stopped paging", retryable=False)
    return pages


def check_page(items: object, limit: int, what: str) -> None:
    """A page holding more items than were asked for (or than any real answer) is a broken or hostile server's:
    one line naming the limit instead of working through it."""
    if isinstance(items, list) and len(items) > limit:
        raise StepError(f"{what}: one answer holds {len(items)} items, more than the {limit} limit for one page; "
                        "stopped", hint="the server ignores the page size; check it (or a proxy in between)",
                        retryable=False)
