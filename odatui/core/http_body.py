"""The one capped, streaming reader for every HTTP answer body odatui reads.

httpx reads a whole body into memory by default: an endless chunked answer, a gzip bomb or a 400 MB JSON from a
hostile server or a compromised proxy would grow until the machine runs out of memory. Here the body is streamed
and the *decoded* bytes (after gzip/deflate/br, as httpx decodes them) are counted; past the limit the connection is
closed and one line names the limit. A `Content-Length` already over the limit is refused before any byte is read.

Limits are per endpoint (`send(..., limit=…)`), with a default far above any real answer: the largest JSON odatui
reads is a WS1 device page of 500 Macs (~1.5 MB at ~3 KB a device) or a smart group's member list.
"""

from __future__ import annotations

import httpx

from odatui.core.errors import StepError

MIB = 1024 * 1024
DEFAULT_LIMIT = 8 * MIB  # any one API answer; json.loads of 8 MiB of tiny objects peaks ~130 MB
# A smart group's whole member list comes in one answer (mdmv1 GET /smartgroups/{id}/devices is not paged):
# 100,000 Macs at ~200 bytes each.
MEMBER_LIST_LIMIT = 24 * MIB


def _human(n: int) -> str:
    return f"{n // MIB} MiB" if n % MIB == 0 else f"{n} bytes"


class AnswerTooLarge(StepError):
    """An answer body over its limit: not retryable (the same server would send it again)."""

    def __init__(self, url: str, limit: int, seen: str) -> None:
        super().__init__(
            f"the answer from {url} is larger than the {_human(limit)} limit for one answer ({seen}); stopped reading",
            hint="a proxy or the server sends far more than the API ever does; check the URL and any proxy in "
                 "between", retryable=False)
        self.limit = limit


async def read_capped(response: httpx.Response, *, limit: int, url: str) -> httpx.Response:
    """Read `response` (opened with `stream=True`) into memory, at most `limit` decoded bytes; the response is
    closed either way. Past the limit: AnswerTooLarge, naming the limit."""
    try:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit and "Content-Encoding" not in response.headers:
            raise AnswerTooLarge(url, limit, f"it announced {int(declared)} bytes")
        chunks: list[bytes] = []
        total = 0
        async for chunk in response.aiter_bytes():
            total += len(chunk)
            if total > limit:
                raise AnswerTooLarge(url, limit, f"more than {total} bytes decoded")
            chunks.append(chunk)
        response._content = b"".join(chunks)  # what Response.aread() would have set  # noqa: SLF001
        return response
    finally:
        await response.aclose()
