# SPDX-License-Identifier: MIT
"""The binding's asyncio helpers (issue 20), run by python-asyncio.sh once
per transport: 16 coroutines share one Client, each sending 200 records of
varied length on its own flow (even ones UDP, odd ones TCP) with up to 8 in
flight. Completions come back through "async for c in client.completions()"
in one pass, and through "await client.reap_async()" called by every
coroutine at once in another. Each completion must come exactly once, with
its length; receivers in threads check every byte.

Environment: ZCS_SOCK (the daemon), ZCSEND_LIBRARY, PYTHONPATH.
"""

import asyncio
import os
import socket
import sys
import threading
from typing import Any, Dict, List, Set, Tuple, cast

import zcsend
from zcsrecv import TcpRecv

SOCK = os.environ["ZCS_SOCK"]
COROS = 16
RECORDS = 200
WINDOW = 8
STALL_S = 20.0      # the whole pass: generous, never a measured time

Key = Tuple[int, int, int]      # (pass, coroutine, record)


def record(key: Key) -> bytes:
    """A record that names itself, 64 to 1,463 bytes long."""
    p, k, i = key
    head = b"<%d.%02d.%03d>" % key
    n = 64 + (p * 7919 + k * 131 + i * 977) % 1400
    return (head * (n // len(head) + 1))[:n]


class UdpRecv(threading.Thread):
    """Every datagram to one port, until told to stop."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 << 20)
        self.s.bind(("127.0.0.1", 0))
        self.s.settimeout(0.2)
        self.dest = "udp://127.0.0.1:%d" % self.s.getsockname()[1]
        self.got: List[bytes] = []
        self.stop = threading.Event()
        self.start()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.got.append(self.s.recv(65536))
            except socket.timeout:
                pass


class Pass:
    """One pass: the futures each completion resolves, exactly once."""

    def __init__(self, c: zcsend.Client, number: int) -> None:
        self.c, self.number = c, number
        self.futs: Dict[Key, "asyncio.Future[zcsend.Completion]"] = {}
        self.seen: Set[Key] = set()

    def route(self, comp: zcsend.Completion) -> None:
        key = cast(Key, comp.tag)
        if key in self.seen or key not in self.futs:
            raise AssertionError("unexpected completion %r" % (comp,))
        self.seen.add(key)
        if comp.result != len(record(key)):
            raise AssertionError("completion %r: want %d"
                                 % (comp, len(record(key))))
        self.futs[key].set_result(comp)

    async def sender(self, k: int, flow: zcsend.Flow, reap: bool) -> None:
        """RECORDS sends on flow, WINDOW in flight; with reap, this
        coroutine also reaps (for any coroutine) while it waits."""
        loop = asyncio.get_running_loop()
        window: List[Tuple[Key, memoryview]] = []
        for i in range(RECORDS):
            key = (self.number, k, i)
            data = record(key)
            buf = self.c.alloc(len(data))
            buf[:] = data
            self.futs[key] = loop.create_future()
            self.c.send(flow, buf, tag=key)
            window.append((key, buf))
            if i % 3 == 0:
                await asyncio.sleep(0)      # let the others queue too
            if len(window) == WINDOW:
                await self.retire(window.pop(0), reap)
        while window:
            await self.retire(window.pop(0), reap)

    async def retire(self, sent: Tuple[Key, memoryview], reap: bool) -> None:
        """Free a buffer once its completion came, reaping meanwhile (for
        any coroutine) with reap."""
        key, buf = sent
        while reap and not self.futs[key].done():
            for comp in await self.c.reap_async(max_completions=5):
                self.route(comp)
        await self.futs[key]
        self.c.free(buf)


async def consume(p: Pass) -> None:
    async for comp in p.c.completions(max_completions=7):
        p.route(comp)


async def run_pass(p: Pass, flows: List[zcsend.Flow], reap: bool) -> None:
    senders = asyncio.gather(*(p.sender(k, f, reap)
                               for k, f in enumerate(flows)))
    tasks: "List[asyncio.Future[Any]]" = [senders]
    if not reap:
        tasks.append(asyncio.ensure_future(consume(p)))
    done, _ = await asyncio.wait(tasks, timeout=STALL_S,
                                 return_when=asyncio.FIRST_COMPLETED)
    for t in tasks[1:]:
        t.cancel()
    if senders not in done:
        senders.cancel()
        for t in done:
            t.result()          # the consumer's exception, if it ended
        raise AssertionError("stalled: %d of %d completions"
                             % (len(p.seen), COROS * RECORDS))
    senders.result()
    if len(p.seen) != COROS * RECORDS or p.c.inflight:
        raise AssertionError("%d completions, %d in flight"
                             % (len(p.seen), p.c.inflight))


def check(udp: UdpRecv, tcps: Dict[int, TcpRecv], passes: int) -> int:
    """Every record at its receiver: datagrams as a set, each TCP stream
    in order. Returns the bytes checked."""
    want = sorted(record((p, k, i)) for p in range(passes)
                  for k in range(0, COROS, 2) for i in range(RECORDS))
    if sorted(udp.got) != want:
        raise AssertionError("UDP: %d datagrams, want %d, or bytes differ"
                             % (len(udp.got), len(want)))
    total = sum(map(len, want))
    for k, r in tcps.items():
        r.join(30)
        stream = b"".join(record((p, k, i)) for p in range(passes)
                          for i in range(RECORDS))
        if bytes(r.data) != stream:
            raise AssertionError("TCP flow %d: %d bytes, want %d, or bytes "
                                 "differ" % (k, len(r.data), len(stream)))
        total += len(stream)
    return total


def main() -> None:
    transport = os.environ.get("ZCSEND_TRANSPORT", "default")
    udp = UdpRecv()
    tcps = {k: TcpRecv() for k in range(1, COROS, 2)}
    with zcsend.Client(SOCK, pool_bytes=1 << 20) as c:
        flows = [c.flow_open(tcps[k].dest if k % 2 else udp.dest)
                 for k in range(COROS)]
        for number, reap in enumerate((False, True)):
            asyncio.run(run_pass(Pass(c, number), flows, reap))
            print("transport %s: %s: %d completions, each once"
                  % (transport, "reap_async" if reap else "completions",
                     COROS * RECORDS))
        for f in flows:
            f.close()
    for _ in range(50):         # the datagrams are on loopback: no loss
        if len(udp.got) >= 2 * RECORDS * COROS // 2:
            break
        threading.Event().wait(0.1)
    udp.stop.set()
    udp.join()
    print("transport %s: every byte at the receivers (%d bytes)"
          % (transport, check(udp, tcps, 2)))


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print("FAIL: %s" % e, file=sys.stderr)
        sys.exit(1)
