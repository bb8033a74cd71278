# SPDX-License-Identifier: MIT
"""Send network data through zcsendd from Python: libzcsend through ctypes.

The daemon gives each client a shared buffer pool. Write a payload into a
buffer from Client.alloc() (a writable memoryview), queue it with send(),
and once its completion comes back from reap() the memory is yours again:
the kernel has let go of it. Only then may it be rewritten or freed.

    import zcsend
    with zcsend.Client() as c:
        flow = c.flow_open("udp://127.0.0.1:9000")
        buf = c.alloc(1200)
        buf[:] = payload                    # 1200 bytes
        c.send(flow, buf, tag="first")
        done, = c.reap()                    # waits; [Completion(tag, result, flags)]
        c.free(buf)

Errors raise OSError with errno set, so they arrive as the matching
subclass (FileNotFoundError, ConnectionRefusedError, BlockingIOError for
EAGAIN, ...); an unknown destination name raises UnknownDestinationError,
an OSError (ENOENT) and a LookupError, not FileNotFoundError. A completion whose result is a negative errno is data, not an
exception: the caller decides what a failed send means.

Memory safety: the memoryviews handed out point into the mapped pool.
free() and close() release them, so a later use raises ValueError instead
of touching memory that is reused or unmapped. Views derived from them
(slices kept in variables, numpy arrays, ...) cannot be released from here:
while any is alive the memory is not given back (free) or unmapped (close),
which then happens when the last one goes, with a ResourceWarning.

asyncio: await client.reap_async() or "async for c in client.completions()"
wait on fileno() with the running loop's add_reader (see zcsend._aio).

A Client is not thread-safe: use one per thread, or serialise all calls.
The library is found through $ZCSEND_LIBRARY (a path), then
ctypes.util.find_library("zcsend"), then "libzcsend.so.1". __version__ is
the version of libzcsend this binding was released with (version() is the
one loaded).
"""

from __future__ import annotations

import bisect
import ctypes
import ctypes.util
import errno as _errno
import os
import time
import warnings
import weakref
from typing import (Any, AsyncIterator, Callable, Dict, List, NamedTuple,
                    Optional, Tuple, Union)

from . import _aio

__all__ = ["Client", "Flow", "Completion", "UnknownDestinationError",
           "version", "__version__", "PROTO_UDP",
           "PROTO_TCP", "COMP_F_ZC", "COMP_F_COPIED", "COMP_F_USAGE"]

# The Makefile's VERSION, which libzcsend's zcs_version() returns: the
# python-binding test fails when they differ. pyproject.toml reads it.
__version__ = "0.1.0"


PROTO_UDP = 17          # ZCS_PROTO_UDP, equal to socket.IPPROTO_UDP
PROTO_TCP = 6           # ZCS_PROTO_TCP, equal to socket.IPPROTO_TCP
COMP_F_ZC = 0x01        # sent with a zerocopy send
COMP_F_COPIED = 0x02    # ... but the kernel copied the data
COMP_F_USAGE = 0x04     # ZC/COPIED are reported, not guessed

_ERRBUF_SIZE = 112      # ZCS_ERRBUF_SIZE
_OWN_REASON = "libzcsend: "     # ZCSI_OWN_REASON: the library refused
_REAP_SLICE_MS = 100    # a blocking reap returns this often to see signals


class _Comp(ctypes.Structure):
    _fields_ = [("tag", ctypes.c_uint64), ("result", ctypes.c_int32),
                ("flags", ctypes.c_uint32)]


class Completion(NamedTuple):
    """One finished send: tag as given to send(), result (bytes sent, or a
    negative errno), flags (COMP_F_*). Its buffer is the caller's again."""
    tag: object
    result: int
    flags: int

    @property
    def zerocopy(self) -> bool:
        """True when the kernel reported a zerocopy send it did not copy."""
        want = COMP_F_ZC | COMP_F_USAGE
        return self.flags & (want | COMP_F_COPIED) == want


_lib: Optional[ctypes.CDLL] = None


def _load() -> ctypes.CDLL:
    """Load libzcsend once and declare the calls used here."""
    global _lib
    if _lib is not None:
        return _lib
    name = (os.environ.get("ZCSEND_LIBRARY")
            or ctypes.util.find_library("zcsend") or "libzcsend.so.1")
    lib = ctypes.CDLL(name, use_errno=False)
    P, I, U32, U64 = ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32, ctypes.c_uint64
    SZ = ctypes.c_size_t
    protos: Dict[str, Tuple[Any, List[Any]]] = {
        "zcs_connect_err": (I, [ctypes.c_char_p, SZ, ctypes.POINTER(P),
                                ctypes.c_char_p, SZ]),
        "zcs_close": (None, [P]),
        "zcs_get_fd": (I, [P]),
        "zcs_pool_base": (P, [P]),
        "zcs_pool_size": (SZ, [P]),
        "zcs_flow_open": (I, [P, ctypes.c_char_p, ctypes.POINTER(U32)]),
        "zcs_flow_close": (I, [P, U32]),
        "zcs_alloc": (I, [P, SZ, ctypes.POINTER(P)]),
        "zcs_free": (I, [P, P]),
        "zcs_send": (I, [P, U32, P, SZ, U64]),
        "zcs_flush": (I, [P]),
        "zcs_reap": (I, [P, ctypes.POINTER(_Comp), ctypes.c_uint, I]),
        "zcs_inflight": (ctypes.c_uint, [P]),
        "zcs_max_inflight": (ctypes.c_uint, [P]),
        "zcs_version": (ctypes.c_char_p, []),
        # Since ZCSEND_1.3: absent from an older library.
        "zcs_send_segmented": (I, [P, U32, P, SZ, SZ, U64]),
        "zcs_flow_max_segment": (I, [P, U32]),
    }
    for fn, (res, args) in protos.items():
        try:
            f = getattr(lib, fn)
        except AttributeError:
            continue
        f.restype, f.argtypes = res, args
    _lib = lib
    return lib


def _fn(name: str) -> Callable[..., Any]:
    """A declared call of libzcsend; NotImplementedError when too old."""
    f: Optional[Callable[..., Any]] = getattr(_load(), name, None)
    if f is None:
        raise NotImplementedError("%s needs a newer libzcsend" % name)
    return f


class UnknownDestinationError(OSError, LookupError):
    """Client.flow_open(): no destination of that name is configured, and
    the name is not an address either. errno is ENOENT; catch it as this,
    as LookupError or as OSError (it is not a FileNotFoundError: no file
    is missing)."""

    def __init__(self, dest: str) -> None:
        super().__init__(_errno.ENOENT, "no destination '%s' is configured, "
                         "and it is not an address (udp://HOST:PORT or "
                         "tcp://HOST:PORT)" % dest)
        self.dest = dest

    def __str__(self) -> str:
        return str(self.strerror)


def _default_path() -> Optional[str]:
    """The socket the library tries when given none (zcsi_socket_path),
    to name it in an error; None when there is none."""
    env = os.environ.get("ZCSENDD_SOCKET")
    if env:
        return env
    if os.geteuid() == 0:
        return "/run/zcsendd/zcsendd.sock"
    env = os.environ.get("XDG_RUNTIME_DIR")
    return os.path.join(env, "zcsendd.sock") if env else None


def _check(ret: int, what: Optional[str] = None) -> int:
    """Raise OSError for a negative errno return; pass others through."""
    if ret < 0:
        e = -ret
        if what is None:
            raise OSError(e, os.strerror(e))
        raise OSError(e, os.strerror(e), what)
    return ret


def version() -> str:
    """The loaded library's version string, e.g. "0.1.0"."""
    return bytes(_fn("zcs_version")()).decode()


class _Alloc:
    """One allocation: the ctypes array over it, the view handed out, and
    how many sends in flight name it."""
    __slots__ = ("addr", "size", "arr", "view", "busy")

    def __init__(self, addr: int, size: int) -> None:
        self.addr, self.size, self.busy = addr, size, 0
        self.arr: Optional[ctypes.Array[ctypes.c_char]] = \
            (ctypes.c_char * size).from_address(addr)
        self.view: Optional[memoryview]
        with memoryview(self.arr) as m:
            self.view = m.cast("B")

    def drop(self) -> Optional[weakref.ReferenceType[
            ctypes.Array[ctypes.c_char]]]:
        """Release our view; return a weakref to the array if other views
        of it are still alive, else None."""
        assert self.view is not None and self.arr is not None
        try:
            self.view.release()
        except BufferError:
            pass                # exported (ctypes, numpy...): it lives on
        self.view = None
        ref = weakref.ref(self.arr)
        self.arr = None
        return ref if ref() is not None else None


class Flow:
    """An open flow to one destination, from Client.flow_open().

    id: the flow id; proto: PROTO_UDP or PROTO_TCP; max_segment: the
    largest datagram payload that needs no IP fragmentation (the path MTU
    less headers, 0 on TCP), the largest segment for send_segmented().
    """
    __slots__ = ("_client", "id", "proto", "max_segment", "dest", "closed")

    def __init__(self, client: Client, fid: int, proto: int,
                 max_segment: int, dest: str) -> None:
        self._client, self.id, self.proto = client, fid, proto
        self.max_segment, self.dest, self.closed = max_segment, dest, False

    def close(self) -> None:
        """Close the flow; sends already queued on it still finish."""
        if not self.closed:
            self.closed = True
            c = self._client
            if c._c:
                _check(_fn("zcs_flow_close")(c._c, self.id))

    def __enter__(self) -> Flow:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return "<zcsend.Flow %d %s%s>" % (self.id, self.dest,
                                           " closed" if self.closed else "")


def _deferred_close(handle: int) -> None:
    _fn("zcs_close")(handle)


def _deferred_free(client_ref: weakref.ReferenceType[Client],
                   addr: int) -> None:
    c = client_ref()
    if c is not None and c._c:
        _fn("zcs_free")(c._c, addr)


class Client:
    """A connection to zcsendd with its buffer pool (zcs_connect_err).

    path: the control socket; None means $ZCSENDD_SOCKET, else the
    default (/run/zcsendd/zcsendd.sock for root, $XDG_RUNTIME_DIR/
    zcsendd.sock for others). pool_bytes: pool size wanted, 0 for the
    library default (4 MiB); the daemon may grant less (see pool_size).

    Raises OSError on failure, whose filename is the socket path tried
    (the default one when path is None); when the daemon refused the
    client, its reason is in the message and in the exception's .reason
    attribute (the library's own reasons start with "libzcsend: ").
    Use as a context manager, or call close().
    """

    def __init__(self, path: Union[str, bytes, os.PathLike[str], None] = None,
                 pool_bytes: int = 0) -> None:
        self._c: Optional[int] = None
        self._allocs: Dict[int, _Alloc] = {}    # address -> _Alloc
        self._starts: List[int] = []    # sorted addresses of _allocs
        # internal tag -> (tag, _Alloc)
        self._tags: Dict[int, Tuple[object, _Alloc]] = {}
        # weakrefs: freed, but a view lives on
        self._lingering: List[weakref.ReferenceType[
            ctypes.Array[ctypes.c_char]]] = []
        self._next_tag = 0
        self._comps = (_Comp * 64)()
        self._watch: Optional[_aio.Watch] = None  # asyncio waiters
        handle = ctypes.c_void_p()
        reason = ctypes.create_string_buffer(_ERRBUF_SIZE)
        bpath = os.fsencode(path) if path is not None else None
        ret = _fn("zcs_connect_err")(bpath, pool_bytes, ctypes.byref(handle),
                                     reason, _ERRBUF_SIZE)
        if ret < 0:
            e, why = -ret, reason.value.decode(errors="replace")
            if why.startswith(_OWN_REASON):
                msg = "%s (%s)" % (os.strerror(e), why)
            else:
                msg = os.strerror(e) + (" (zcsendd: %s)" % why if why else "")
            tried = path if path is not None else _default_path()
            exc = OSError(e, msg, tried) if tried is not None else OSError(e, msg)
            # OSError(errno, ...) picks the subclass (FileNotFoundError...):
            # the reason rides on it as an attribute of its own.
            setattr(exc, "reason", why or None)
            raise exc
        self._c = handle.value
        self._base = int(_fn("zcs_pool_base")(self._c) or 0)
        self._size = int(_fn("zcs_pool_size")(self._c))

    # -- lifetime --------------------------------------------------------

    def close(self) -> None:
        """Drop the connection and unmap the pool. Sends already flushed
        are finished by the daemon; queued ones are discarded. Every view
        from alloc() is released. If views derived from them are still
        alive, the pool stays mapped (and the connection open) until the
        last goes, with a ResourceWarning: memory is never unmapped under
        a live view. Closing twice is harmless."""
        if not self._c:
            return
        handle, self._c = self._c, None
        if self._watch is not None:
            self._watch.wake()      # an awaiting completions() ends
        alive = [r for r in (a.drop() for a in self._allocs.values()) if r]
        alive += [r for r in self._lingering if r() is not None]
        self._lingering.clear()
        self._allocs.clear()
        self._starts.clear()
        self._tags.clear()
        if not alive:
            _fn("zcs_close")(handle)
            return
        warnings.warn("zcsend: %d view(s) of pool memory outlive close(); "
                      "the pool stays mapped until they are gone" % len(alive),
                      ResourceWarning, stacklevel=2)
        # One finalizer closes once every remaining array has died.
        holder = _Holder(handle, len(alive))
        for r in alive:
            arr = r()
            if arr is None:
                holder.done()
            else:
                weakref.finalize(arr, holder.done)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_c", None):
            try:
                self.close()
            except Exception:       # interpreter shutdown: nothing to do
                pass

    def _live(self) -> int:
        if not self._c:
            raise ValueError("operation on a closed zcsend.Client")
        return self._c

    # -- flows -----------------------------------------------------------

    def flow_open(self, dest: str) -> Flow:
        """Open a flow: "udp://HOST:PORT" or "tcp://HOST:PORT" (HOST a
        numeric IPv4 address, [IPv6], or localhost), or a destination name
        from the daemon's config. Blocks until the daemon answers (a TCP
        flow is connected by then). Returns a Flow. Raises
        UnknownDestinationError for a name no destination has."""
        c = self._live()
        fid = ctypes.c_uint32()
        ret = _fn("zcs_flow_open")(c, dest.encode(), ctypes.byref(fid))
        if ret == -_errno.ENOENT and "://" not in dest:
            raise UnknownDestinationError(dest)
        proto = _check(ret, dest)
        try:
            seg = max(int(_fn("zcs_flow_max_segment")(c, fid.value)), 0)
        except NotImplementedError:
            seg = 0
        return Flow(self, int(fid.value), proto, seg, dest)

    # -- memory ----------------------------------------------------------

    def alloc(self, n: int) -> memoryview:
        """Take n bytes of the pool; returns a writable memoryview (format
        "B") over them. OSError ENOMEM when no free extent is large enough:
        reap completions, free, and try again."""
        c = self._live()
        p = ctypes.c_void_p()
        _check(_fn("zcs_alloc")(c, n, ctypes.byref(p)))
        assert p.value is not None
        a = _Alloc(p.value, n)
        self._allocs[a.addr] = a
        bisect.insort(self._starts, a.addr)
        assert a.view is not None
        return a.view

    def free(self, buf: memoryview) -> None:
        """Give back an allocation: buf is the view from alloc(), or any
        view starting where it starts. The view from alloc() is released.
        Raises BufferError while a send naming the memory is in flight."""
        c = self._live()
        addr, _ = self._addr(buf)
        a = self._allocs.get(addr) if addr is not None else None
        if a is None or addr is None:
            raise ValueError("not the start of an allocation from alloc()")
        if a.busy:
            raise BufferError("%d send(s) naming this buffer are still in "
                              "flight: reap their completions first" % a.busy)
        del self._allocs[addr]
        del self._starts[bisect.bisect_left(self._starts, addr)]
        ref = a.drop()
        if ref is None:
            _check(_fn("zcs_free")(c, addr))
            return
        # A slice of it lives on: the memory is reused only once it is gone.
        arr = ref()
        if arr is None:
            _check(_fn("zcs_free")(c, addr))
        else:
            weakref.finalize(arr, _deferred_free, weakref.ref(self), addr)
            self._lingering = [r for r in self._lingering if r() is not None]
            self._lingering.append(ref)

    @staticmethod
    def _addr(buf: memoryview) -> Tuple[Optional[int], int]:
        """(address, length) of a writable, contiguous buffer."""
        try:
            with memoryview(buf) as m:
                n = m.nbytes
                if n == 0:
                    return None, 0
                c = ctypes.c_char.from_buffer(m)
                addr = ctypes.addressof(c)
                del c
                return addr, n
        except (TypeError, BufferError) as e:
            raise ValueError("buffer is not pool memory from alloc(): %s"
                             % e) from None

    def _owner(self, buf: memoryview) -> Tuple[_Alloc, int, int]:
        """The live allocation holding all of buf, and buf's range."""
        addr, n = self._addr(buf)
        if not n or addr is None:
            raise ValueError("empty buffer")
        i = bisect.bisect_right(self._starts, addr) - 1
        if i >= 0:
            a = self._allocs[self._starts[i]]
            if addr + n <= a.addr + a.size:
                return a, addr, n
        raise ValueError("buffer does not lie in a live allocation from "
                         "this client's alloc()")

    # -- sending ---------------------------------------------------------

    def _queue(self, flow: Union[Flow, int], buf: memoryview, tag: object,
               segment: Optional[int]) -> None:
        c = self._live()
        fid = flow.id if isinstance(flow, Flow) else int(flow)
        a, addr, n = self._owner(buf)
        t = self._next_tag
        if segment is None:
            ret = _fn("zcs_send")(c, fid, addr, n, t)
        else:
            ret = _fn("zcs_send_segmented")(c, fid, addr, n, segment, t)
        _check(ret)
        self._next_tag = (t + 1) & 0xFFFFFFFFFFFFFFFF
        self._tags[t] = (tag, a)
        a.busy += 1
        if self._watch is not None:
            self._watch.wake()      # an idle completions() flushes it

    def send(self, flow: Union[Flow, int], buf: memoryview,
             tag: object = None) -> None:
        """Queue a send of buf (a view from alloc(), or a slice of one) on
        flow (a Flow or its id). tag is any object; it comes back in the
        Completion. Queued sends leave together on flush(), reap(), or when
        a message is full. Raises ValueError for memory outside the pool,
        BlockingIOError (EAGAIN) at the daemon's in-flight limit (reap
        first), OSError EMSGSIZE over its length limit, BrokenPipeError
        when the daemon is gone."""
        self._queue(flow, buf, tag, None)

    def send_segmented(self, flow: Union[Flow, int], buf: memoryview,
                       segment: int, tag: object = None) -> None:
        """Queue buf on a UDP flow as datagrams of segment bytes each (the
        last shorter), sent with UDP segmentation offload. One completion
        counts every byte, or carries the error: -EOPNOTSUPP on TCP,
        -EMSGSIZE when segment is over flow.max_segment or the range makes
        more than 4096 datagrams. Raises as send(), and OSError EINVAL for
        segment 0 or over 65535. Needs libzcsend ZCSEND_1.3."""
        self._queue(flow, buf, tag, segment)

    def flush(self) -> None:
        """Write all queued sends to the daemon."""
        _check(_fn("zcs_flush")(self._live()))

    def reap(self, max_completions: int = 64,
             timeout: Optional[float] = None,
             **deprecated: int) -> List[Completion]:
        """Flush queued sends, then collect up to max_completions
        completions, oldest first, as a list of Completion. timeout None
        waits for at least one, 0 returns at once, a number waits up to that
        many seconds. Returns [] at once when nothing is in flight. A
        blocking wait returns to Python every 100 ms, so signals (Ctrl-C)
        are seen. max_completions was named max until 0.1.0; max= still
        works, with a DeprecationWarning, and goes in the next release."""
        c = self._live()
        n = _renamed(deprecated, max_completions)
        if len(self._comps) < n:
            self._comps = (_Comp * n)()
        deadline = None if timeout is None else time.monotonic() + timeout
        reap = _fn("zcs_reap")
        while True:
            if deadline is None:
                ms = _REAP_SLICE_MS
            else:
                left = deadline - time.monotonic()
                ms = 0 if left <= 0 else min(int(left * 1000) + 1, _REAP_SLICE_MS)
            got = _check(reap(c, self._comps, n, ms))
            if got or ms == 0 or not _fn("zcs_inflight")(c):
                break
        if got and self._watch is not None:
            self._watch.wake()      # other waiters look again
        return [self._done(self._comps[i]) for i in range(got)]

    async def reap_async(self, max_completions: int = 64) -> List[Completion]:
        """reap() for asyncio: flush, then await at least one completion
        without blocking the loop (up to max_completions, oldest first);
        [] once nothing is in flight. Coroutines of one loop may await it
        at once: each completion goes to exactly one of them. It waits on
        fileno() with the loop's add_reader: do not add a reader of your
        own on that descriptor meanwhile."""
        _renamed({}, max_completions)
        return await _aio.reap(self, max_completions)

    def completions(self, max_completions: int = 64
                    ) -> AsyncIterator[Completion]:
        """An async iterator over completions, one at a time, as they come
        ("async for done in client.completions()"). Unlike reap_async() it
        does not stop when nothing is in flight: it waits for sends (from
        other coroutines) and flushes them, until the client is closed or
        the loop cancels it. max_completions bounds each reap."""
        _renamed({}, max_completions)
        return _aio.completions(self, max_completions)

    def _live_watch(self) -> _aio.Watch:
        """The asyncio waiters' watch of fileno(), for the running loop."""
        fd = self.fileno()
        if self._watch is None or not self._watch.serves(fd):
            self._watch = _aio.Watch(fd)
        return self._watch

    def _done(self, raw: _Comp) -> Completion:
        tag, a = self._tags.pop(raw.tag, (raw.tag, None))
        if a is not None:
            a.busy -= 1
        return Completion(tag, int(raw.result), int(raw.flags))

    # -- event loops and limits -------------------------------------------

    def fileno(self) -> int:
        """A descriptor to watch for readability (selectors, asyncio's
        add_reader), over either transport; when readable, call
        reap(timeout=0), best until it returns []. It stays readable while
        the library holds completions back (a reap with a small max), so
        reaping once per wake-up loses nothing either (libzcsend(3),
        "Event loops")."""
        return int(_fn("zcs_get_fd")(self._live()))

    @property
    def inflight(self) -> int:
        """Sends queued or sent whose completion is not yet reaped."""
        return int(_fn("zcs_inflight")(self._live()))

    @property
    def max_inflight(self) -> int:
        """The daemon's in-flight limit for this client."""
        return int(_fn("zcs_max_inflight")(self._live()))

    @property
    def pool_size(self) -> int:
        """Bytes of pool the daemon granted."""
        return self._size

    @property
    def closed(self) -> bool:
        """True once close() was called."""
        return not self._c

    def __repr__(self) -> str:
        if not self._c:
            return "<zcsend.Client closed>"
        return "<zcsend.Client pool=%d inflight=%d>" % (self._size,
                                                        self.inflight)


class _Holder:
    """Closes a handle once its last outliving view has died."""

    def __init__(self, handle: int, count: int) -> None:
        self.handle: Optional[int] = handle
        self.count = count

    def done(self) -> None:
        self.count -= 1
        if self.count == 0 and self.handle:
            handle, self.handle = self.handle, None
            _deferred_close(handle)


def _renamed(deprecated: Dict[str, int], max_completions: int) -> int:
    """reap()'s count, from max= (the old name: a DeprecationWarning) or
    max_completions; TypeError for any other keyword."""
    extra = set(deprecated) - {"max"}
    if extra:
        raise TypeError("reap() got an unexpected keyword argument '%s'"
                        % extra.pop())
    if "max" in deprecated:
        warnings.warn("zcsend: reap(max=) is now reap(max_completions=); "
                      "max= goes in the next release", DeprecationWarning,
                      stacklevel=3)
        max_completions = deprecated["max"]
    if max_completions < 1:
        raise ValueError("max_completions must be at least 1")
    return max_completions
