#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""zcsend-file: stream a file, or stdin, to a UDP destination through
zcsendd as MTU-sized datagrams.

    zcsend-file.py udp://192.0.2.7:9000 video.ts
    producer | zcsend-file.py udp://[::1]:9000 - --chunk 1200

Each datagram carries --chunk bytes (default: the flow's max_segment, the
largest payload the path MTU takes unfragmented; the last datagram may be
shorter). Input is read straight into pool buffers, each holding many
datagrams, sent with one send_segmented() so the daemon hands the kernel
one UDP GSO send per buffer. Several buffers stay in flight; a buffer is
refilled only after its completion came back, which is when the kernel
has let go of its pages.
"""

import argparse
import os
import sys
import time
import io
from typing import Dict, List, Tuple, cast

import zcsend

BUF_BYTES = 65536       # input read per buffer, at most
DATAGRAMS_MAX = 4096    # a segmented send makes at most this many


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=str(__doc__).split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dest", help="udp://HOST:PORT, or a configured destination")
    p.add_argument("file", nargs="?", default="-", help="input; - for stdin")
    p.add_argument("--chunk", type=int, default=0,
                   help="datagram payload in bytes (default: flow.max_segment)")
    p.add_argument("--inflight", type=int, default=8,
                   help="buffers in flight at once (default 8)")
    p.add_argument("-s", "--socket", default=None, help="zcsendd's socket")
    p.add_argument("-q", "--quiet", action="store_true", help="no summary")
    return p.parse_intermixed_args()


def read_full(f: io.RawIOBase, view: memoryview) -> int:
    """Fill view from f, or up to end of input: datagram boundaries must
    not depend on how a pipe happens to deliver."""
    got = 0
    while got < len(view):
        n = f.readinto(view[got:])
        if not n:
            break
        got += n
    return got


class Stream:
    """The buffers, which are free or in flight, and the counts."""

    def __init__(self, client: zcsend.Client, flow: zcsend.Flow, chunk: int,
                 inflight: int) -> None:
        per = max(1, min(BUF_BYTES // chunk, DATAGRAMS_MAX))
        self.c, self.flow, self.chunk = client, flow, chunk
        self.free = [client.alloc(chunk * per) for _ in range(inflight)]
        self.sent: Dict[int, Tuple[memoryview, int]] = {}  # tag -> (buf, len)
        self.tag = 0
        self.bytes = self.sends = self.datagrams = self.zc = 0
        self.errors: List[str] = []

    def fill(self, f: io.RawIOBase) -> bool:
        """Queue full buffers while one is free; False at end of input."""
        while self.free:
            buf = self.free.pop()
            n = read_full(f, buf)
            if n == 0:
                self.free.append(buf)
                return False
            self.c.send_segmented(self.flow, buf[:n], self.chunk, self.tag)
            self.sent[self.tag] = (buf, n)
            self.tag += 1
        return True

    def reap(self) -> None:
        """Wait for completions; their buffers are free again."""
        for comp in self.c.reap():
            tag = cast(int, comp.tag)     # fill() tags with ints
            buf, n = self.sent.pop(tag)
            self.free.append(buf)
            self.sends += 1
            self.zc += comp.zerocopy
            if comp.result == n:
                self.bytes += n
                self.datagrams += -(-n // self.chunk)
            elif len(self.errors) < 10:
                self.errors.append("send %d: %s" % (tag, describe(comp.result, n)))

    def close(self) -> None:
        for buf in self.free:
            self.c.free(buf)


def describe(result: int, n: int) -> str:
    """What a completion that is not n bytes sent means."""
    if result < 0:
        return os.strerror(-result)
    return "short send, %d of %d bytes" % (result, n)


def main() -> int:
    a = parse_args()
    f = (open(sys.stdin.fileno(), "rb", buffering=0, closefd=False)
         if a.file == "-" else open(a.file, "rb", buffering=0))
    with f, zcsend.Client(a.socket, pool_bytes=a.inflight * BUF_BYTES * 2) as c:
        flow = c.flow_open(a.dest)
        if flow.proto != zcsend.PROTO_UDP:
            sys.exit("zcsend-file: %s is not a UDP destination" % a.dest)
        chunk = a.chunk or flow.max_segment
        if not 0 < chunk <= flow.max_segment:
            sys.exit("zcsend-file: --chunk %d: the path takes 1 to %d bytes"
                     % (chunk, flow.max_segment))
        inflight = max(1, min(a.inflight, c.max_inflight))
        st = Stream(c, flow, chunk, inflight)
        t0 = time.monotonic()
        more = True
        while (more and not st.errors) or st.sent:
            if more and not st.errors:
                more = st.fill(f)
            if st.sent:
                st.reap()
        secs = time.monotonic() - t0
        st.close()
        flow.close()
    for e in st.errors:
        print("zcsend-file:", e, file=sys.stderr)
    if not a.quiet:
        print("sent %d bytes in %d datagrams of %d bytes (%d sends), "
              "zerocopy %d of %d, %.3f s, %.1f MB/s"
              % (st.bytes, st.datagrams, chunk, st.sends, st.zc, st.sends,
                 secs, st.bytes / 1e6 / secs if secs > 0 else 0))
    return 1 if st.errors else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except OSError as e:
        sys.exit("zcsend-file: %s" % e)
    except KeyboardInterrupt:
        sys.exit(130)
