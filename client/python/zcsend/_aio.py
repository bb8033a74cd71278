# SPDX-License-Identifier: MIT
"""asyncio for the zcsend binding: Client.reap_async() and
Client.completions() await the client's fileno() with the running loop's
add_reader, then reap with timeout 0 (libzcsend(3), "Event loops"): the
descriptor stays readable while the library holds completions back, over
either transport, so a wake-up is never lost.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, AsyncIterator, List, Optional

if TYPE_CHECKING:
    from . import Client, Completion


class Watch:
    """The coroutines of one loop waiting on one client's descriptor.

    A loop takes one reader per descriptor, so one serves every waiter: it
    fires once (and is removed), waking them all; each reaps with timeout
    0, and waits again if it got nothing while sends are in flight. A reap
    that got completions, a queued send and close() wake them too, so a
    waiter whose completions another coroutine took, or an idle
    completions() with new sends to flush, looks again.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.loop = asyncio.get_running_loop()
        self.waiters: List[asyncio.Future[None]] = []
        self.reading = False

    def serves(self, fd: int) -> bool:
        """Whether this watch is the one for fd in the running loop."""
        try:
            loop: Optional[asyncio.AbstractEventLoop] = \
                asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        return loop is self.loop and fd == self.fd

    async def wait(self) -> None:
        """Until the descriptor is readable or wake() is called."""
        fut: asyncio.Future[None] = self.loop.create_future()
        self.waiters.append(fut)
        if not self.reading:
            self.loop.add_reader(self.fd, self.wake)
            self.reading = True
        try:
            await fut
        finally:
            if fut in self.waiters:         # cancelled
                self.waiters.remove(fut)
            if not self.waiters:
                self._unread()

    def wake(self) -> None:
        """Wake every waiter; the reader goes until one waits again."""
        waiters, self.waiters = self.waiters, []
        self._unread()
        if self.loop.is_closed():
            return                  # asyncio.run() cancelled its waiters
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    def _unread(self) -> None:
        if self.reading:
            self.reading = False
            self.loop.remove_reader(self.fd)


async def reap(client: Client, max_completions: int) -> List[Completion]:
    """Client.reap_async(): at least one completion, or [] when nothing
    is in flight."""
    while True:
        got = client.reap(max_completions, timeout=0)
        if got or not client.inflight:
            return got
        await client._live_watch().wait()


async def completions(client: Client,
                      max_completions: int) -> AsyncIterator[Completion]:
    """Client.completions(): every completion, until the client closes."""
    while not client.closed:
        got = client.reap(max_completions, timeout=0)
        for comp in got:
            yield comp
        if not got and not client.closed:
            await client._live_watch().wait()
