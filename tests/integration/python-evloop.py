# SPDX-License-Identifier: MIT
"""The asyncio pattern of the Python binding (issue 16), run by
python-evloop.sh once per transport: loop.add_reader(c.fileno(), cb),
where cb calls reap(max, timeout=0) once. 200 sends of 1,200 bytes, with
and without a pause before the loop waits, reap sizes 1, 64 and more than
the batch; every completion must come within a generous bound, and a UDP
receiver on loopback checks every byte.

Environment: ZCS_SOCK (the daemon), ZCSEND_LIBRARY, PYTHONPATH.
"""

import asyncio
import os
import socket
import sys
import time

import zcsend

SOCK = os.environ["ZCS_SOCK"]
SENDS = 200
LEN = 1200
STALL_S = 5.0       # no completion for this long, with some missing: a stall


def payload(seq):
    head = b"%08d:" % seq
    return (head * (LEN // len(head) + 1))[:LEN]


async def one_case(c, flow, base, max_, pause):
    loop = asyncio.get_running_loop()
    bufs = {}
    for i in range(SENDS):
        buf = c.alloc(LEN)
        buf[:] = payload(base + i)
        c.send(flow, buf, tag=base + i)
        bufs[base + i] = buf
    c.flush()
    if pause:
        time.sleep(0.2)     # the loop is not running: completions pile up
    done = set()
    progress = asyncio.Event()
    finished = asyncio.Event()

    def on_readable():
        for comp in c.reap(max_, timeout=0):
            if comp.tag in done or comp.tag not in bufs:
                raise AssertionError("unexpected completion %r" % (comp,))
            if comp.result != LEN:
                raise AssertionError("completion %r" % (comp,))
            done.add(comp.tag)
            c.free(bufs[comp.tag])
            progress.set()
        if len(done) == SENDS:
            finished.set()

    loop.add_reader(c.fileno(), on_readable)
    try:
        while not finished.is_set():
            progress.clear()
            try:
                await asyncio.wait_for(progress.wait(), STALL_S)
            except asyncio.TimeoutError:
                raise AssertionError(
                    "reap %d%s: stalled with %d of %d reaped, inflight %d"
                    % (max_, " paused" if pause else "", len(done), SENDS,
                       c.inflight)) from None
    finally:
        loop.remove_reader(c.fileno())
    if c.inflight != 0:
        raise AssertionError("inflight %d after all completions" % c.inflight)


def main():
    transport = os.environ.get("ZCSEND_TRANSPORT", "default")
    r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    r.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 << 20)
    r.bind(("127.0.0.1", 0))
    dest = "udp://127.0.0.1:%d" % r.getsockname()[1]
    cases = [(m, p) for m in (1, 64, SENDS + 100) for p in (False, True)]
    with zcsend.Client(SOCK, pool_bytes=1 << 20) as c:
        flow = c.flow_open(dest)
        for k, (max_, pause) in enumerate(cases):
            asyncio.run(one_case(c, flow, k * SENDS, max_, pause))
            print("transport %s: reap %d%s: %d completions"
                  % (transport, max_, " paused" if pause else "", SENDS))
    want = {payload(s) for s in range(len(cases) * SENDS)}
    got = []
    r.settimeout(10)
    while len(got) < len(want):
        got.append(r.recv(65536))
    if sorted(got) != sorted(want):
        raise AssertionError("datagrams differ from what was sent")
    print("transport %s: %d datagrams, every byte" % (transport, len(got)))


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print("FAIL: %s" % e, file=sys.stderr)
        sys.exit(1)
