# SPDX-License-Identifier: MIT
"""Every public name of the zcsend binding, used as a program would: never
run, only checked by python-mypy.sh with mypy --strict --disallow-any-expr,
so a signature that hands the caller an Any (or takes none) fails there.
"""

import asyncio
from typing import List, Optional

import zcsend


def sync_use(path: Optional[str]) -> List[int]:
    version: str = zcsend.version()
    release: str = zcsend.__version__
    flags: int = zcsend.COMP_F_ZC | zcsend.COMP_F_COPIED | zcsend.COMP_F_USAGE
    protos: List[int] = [zcsend.PROTO_UDP, zcsend.PROTO_TCP]
    out: List[int] = [len(version), len(release), flags] + protos
    with zcsend.Client(path, pool_bytes=1 << 20) as c:
        try:
            named: zcsend.Flow = c.flow_open("somewhere")
            named.close()
        except zcsend.UnknownDestinationError as e:
            dest: str = e.dest
            out.append(len(dest))
        with c.flow_open("udp://127.0.0.1:9") as flow:
            fid: int = flow.id
            seg: int = flow.max_segment
            closed: bool = flow.closed
            buf: memoryview = c.alloc(1200)
            buf[:4] = b"abcd"
            c.send(flow, buf, tag="a")
            c.send(fid, buf[:10])
            c.send_segmented(flow, buf, 600, tag=1)
            c.flush()
            done: List[zcsend.Completion] = c.reap(max_completions=8,
                                                   timeout=1.5)
            for comp in done:
                tag: object = comp.tag
                out += [comp.result, comp.flags, int(comp.zerocopy),
                        hash(tag), seg, int(closed)]
            c.free(buf)
        out += [c.fileno(), c.inflight, c.max_inflight, c.pool_size,
                int(c.closed)]
    return out


async def async_use(c: zcsend.Client) -> int:
    n = 0
    batch: List[zcsend.Completion] = await c.reap_async(max_completions=4)
    n += len(batch)
    async for comp in c.completions(max_completions=16):
        result: int = comp.result
        n += result
    return n


if __name__ == "__main__":
    print(sync_use(None))
    with zcsend.Client() as client:
        print(asyncio.run(async_use(client)))
