# SPDX-License-Identifier: MIT
"""The Python binding (client/python/zcsend/) against a real daemon,
run by python-binding.sh: every byte checked at a real receiver.

Environment: ZCS_SOCK (the daemon), ZCS_SOCK_ONE (a daemon taking one
client), ZCSENDCTL, ZCS_EXAMPLE (client/python/examples/zcsend-file.py),
and ZCSEND_LIBRARY, PYTHONPATH for zcsend itself.
"""

import ctypes
import errno
import gc
import json
import os
import random
import selectors
import socket
import subprocess
import sys
import time
import unittest
import warnings

import zcsend
from zcsrecv import TcpRecv

SOCK = os.environ["ZCS_SOCK"]
SOCK_ONE = os.environ.get("ZCS_SOCK_ONE")
ZCSENDCTL = os.environ["ZCSENDCTL"]
EXAMPLE = os.environ["ZCS_EXAMPLE"]


class UdpRecv:
    """A UDP receiver keeping every datagram, in order of arrival."""

    def __init__(self, family=socket.AF_INET):
        self.s = socket.socket(family, socket.SOCK_DGRAM)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 << 20)
        host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
        self.s.bind((host, 0))
        port = self.s.getsockname()[1]
        self.dest = ("udp://[::1]:%d" if family == socket.AF_INET6
                     else "udp://127.0.0.1:%d") % port

    def take(self, count, quiet=0.3):
        """count datagrams (20 s at most), plus any extra that arrive
        within quiet seconds after the last: extras are errors too."""
        got = []
        self.s.settimeout(20)
        try:
            while True:
                got.append(self.s.recv(65536))
                if len(got) >= count:
                    self.s.settimeout(quiet)
        except socket.timeout:
            pass
        return got

    def close(self):
        self.s.close()


def payload(n, seed):
    return random.Random(seed).randbytes(n)


def reap_all(c, want, timeout=20):
    """Completions until want have come, or fail after timeout seconds."""
    out = []
    end = time.monotonic() + timeout
    while len(out) < want:
        if time.monotonic() > end:
            raise AssertionError("%d of %d completions in %d s"
                                 % (len(out), want, timeout))
        out += c.reap(timeout=1.0)
    return out


class Base(unittest.TestCase):
    def setUp(self):
        self.c = zcsend.Client(SOCK, pool_bytes=8 << 20)

    def tearDown(self):
        self.c.close()


class TestUdp(Base):
    def test_plain_datagrams(self):
        """Sends of many lengths, each one datagram, every byte checked."""
        r = UdpRecv()
        self.addCleanup(r.close)
        flow = self.c.flow_open(r.dest)
        self.assertEqual(flow.proto, zcsend.PROTO_UDP)
        self.assertGreater(flow.max_segment, 1000)
        lens = [1, 2, 63, 64, 65, 1200, 1472, 1473, 4000, 9000, 65507] + \
               [random.Random(i).randint(1, 9000) for i in range(300)]
        want, bufs = [], {}
        for i, n in enumerate(lens):
            buf = self.c.alloc(n)
            data = payload(n, i)
            buf[:] = data
            self.c.send(flow, buf, tag=("dgram", i))
            want.append(data)
            bufs[("dgram", i)] = buf
            if self.c.inflight >= 200:
                for comp in self.c.reap(timeout=0):
                    self.assertEqual(comp.result, len(bufs[comp.tag]))
                    self.c.free(bufs.pop(comp.tag))
        for comp in reap_all(self.c, len(bufs)):
            self.assertEqual(comp.result, len(bufs[comp.tag]), comp)
            self.c.free(bufs.pop(comp.tag))
        self.assertEqual(self.c.inflight, 0)
        got = r.take(len(want))
        self.assertEqual([len(g) for g in got], [len(w) for w in want])
        self.assertTrue(got == want, "datagram bytes differ")
        flow.close()

    def test_segmented(self):
        """send_segmented: datagrams of one size, the last shorter, with
        several sends in flight and slices of a larger buffer."""
        r = UdpRecv()
        self.addCleanup(r.close)
        flow = self.c.flow_open(r.dest)
        cases = [(100000, 1200), (1472 * 44, 1472), (5000, 1472),
                 (70000, flow.max_segment), (1, 1472), (300000, 1000)]
        want = []
        big = self.c.alloc(sum(n for n, _ in cases))
        off = 0
        for i, (n, seg) in enumerate(cases):
            data = payload(n, 100 + i)
            big[off:off + n] = data
            self.c.send_segmented(flow, big[off:off + n], seg, tag=i)
            want += [data[k:k + seg] for k in range(0, n, seg)]
            off += n
        comps = reap_all(self.c, len(cases))
        self.assertEqual(sorted(c.tag for c in comps), list(range(len(cases))))
        for comp in comps:
            self.assertEqual(comp.result, cases[comp.tag][0], comp)
        got = r.take(len(want))
        self.assertEqual([len(g) for g in got], [len(w) for w in want])
        self.assertTrue(got == want, "datagram bytes differ")
        self.c.free(big)

    def test_ipv6(self):
        if not socket.has_ipv6:
            self.skipTest("no IPv6")
        try:
            r = UdpRecv(socket.AF_INET6)
        except OSError as e:
            self.skipTest("no ::1: %s" % e)
        self.addCleanup(r.close)
        flow = self.c.flow_open(r.dest)
        data = payload(20000, 7)
        buf = self.c.alloc(len(data))
        buf[:] = data
        self.c.send_segmented(flow, buf, 1000, tag="v6")
        comp, = reap_all(self.c, 1)
        self.assertEqual(comp, (("v6", 20000, comp.flags)))
        got = r.take(20)
        self.assertEqual(got, [data[k:k + 1000] for k in range(0, 20000, 1000)])


class TestTcp(Base):
    def test_stream(self):
        """8 MiB in 64 KiB sends, 16 buffers reused: every byte, in order."""
        r = TcpRecv()
        flow = self.c.flow_open(r.dest)
        self.assertEqual(flow.proto, zcsend.PROTO_TCP)
        self.assertEqual(flow.max_segment, 0)
        data = payload(8 << 20, 42)
        chunk = 65536
        free = [self.c.alloc(chunk) for _ in range(16)]
        busy = {}
        off = 0
        while off < len(data) or busy:
            while free and off < len(data):
                buf = free.pop()
                n = min(chunk, len(data) - off)
                buf[:n] = data[off:off + n]
                self.c.send(flow, buf[:n], tag=off)
                busy[off] = (buf, n)
                off += n
            for comp in self.c.reap():
                buf, n = busy.pop(comp.tag)
                self.assertEqual(comp.result, n, comp)
                free.append(buf)
        flow.close()
        r.join(30)
        self.assertFalse(r.is_alive(), "receiver saw no end of stream")
        self.assertEqual(len(r.data), len(data))
        self.assertTrue(r.data == data, "stream bytes differ")

    def test_segmented_on_tcp_is_a_completion(self):
        """A failed send is data in its completion, not an exception."""
        r = TcpRecv()
        flow = self.c.flow_open(r.dest)
        buf = self.c.alloc(3000)
        self.c.send_segmented(flow, buf, 1000, tag="seg")
        comp, = reap_all(self.c, 1)
        self.assertEqual(comp.tag, "seg")
        self.assertEqual(comp.result, -errno.EOPNOTSUPP)
        flow.close()


class TestReap(Base):
    def test_max_renamed(self):
        """reap(max_completions=): max= (the old name) still works for a
        release, with a DeprecationWarning; other keywords are errors."""
        r = UdpRecv()
        self.addCleanup(r.close)
        flow = self.c.flow_open(r.dest)
        buf = self.c.alloc(100)
        buf[:] = payload(100, 7)
        for i in range(3):
            self.c.send(flow, buf, tag=i)
        self.c.flush()
        time.sleep(0.2)         # all three are back: a reap takes what it may
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            one = self.c.reap(max=1)
        self.assertEqual(len(one), 1)
        self.assertEqual([x.category for x in w], [DeprecationWarning])
        self.assertIn("max_completions", str(w[0].message))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            done = one + self.c.reap(max_completions=1)
            done += reap_all(self.c, 1)
        self.assertEqual(sorted(x.tag for x in done), [0, 1, 2])
        self.assertRaises(ValueError, self.c.reap, max_completions=0)
        self.assertRaises(TypeError, self.c.reap, maximum=1)
        self.c.free(buf)
        self.assertEqual(len(r.take(3)), 3)

    def test_nothing_in_flight(self):
        for t in (0, 0.5, None):
            t0 = time.monotonic()
            self.assertEqual(self.c.reap(timeout=t), [])
            self.assertLess(time.monotonic() - t0, 0.2, "timeout %r" % t)

    def test_timeouts(self):
        """A peer that does not read holds sends in flight: reap(0) returns
        at once, reap(0.4) after 0.4 s, reap() once the peer reads."""
        r = TcpRecv(read_now=False)
        flow = self.c.flow_open(r.dest)
        n, chunk = 64, 65536
        data = payload(n * chunk, 9)
        bufs = []
        for i in range(n):
            buf = self.c.alloc(chunk)
            buf[:] = data[i * chunk:(i + 1) * chunk]
            self.c.send(flow, buf, tag=i)
            bufs.append(buf)
        done = []
        time.sleep(0.3)
        while True:                 # what fitted the socket buffers
            more = self.c.reap(timeout=0)
            if not more:
                break
            done += more
        self.assertGreater(self.c.inflight, 0, "nothing held in flight")
        t0 = time.monotonic()
        self.assertEqual(self.c.reap(timeout=0), [])
        self.assertLess(time.monotonic() - t0, 0.1)
        t0 = time.monotonic()
        done += self.c.reap(timeout=0.4)
        secs = time.monotonic() - t0
        self.assertTrue(0.35 <= secs < 2, "reap(timeout=0.4) took %.3f s" % secs)
        r.reading.set()
        while len(done) < n:
            done += self.c.reap()   # blocks
        self.assertEqual(sorted(c.tag for c in done), list(range(n)))
        self.assertTrue(all(c.result == chunk for c in done))
        flow.close()
        r.join(30)
        self.assertTrue(r.data == data, "stream bytes differ")

    def test_fileno_selectors(self):
        """fileno() in a selector: readable when completions wait."""
        r = UdpRecv()
        self.addCleanup(r.close)
        flow = self.c.flow_open(r.dest)
        sel = selectors.DefaultSelector()
        sel.register(self.c.fileno(), selectors.EVENT_READ)
        want = []
        for i in range(50):
            buf = self.c.alloc(1000)
            data = payload(1000, 300 + i)
            buf[:] = data
            want.append(data)
            self.c.send(flow, buf, tag=i)
        self.c.flush()
        done, wakeups = [], 0
        end = time.monotonic() + 10
        while len(done) < 50 and time.monotonic() < end:
            if sel.select(timeout=5):
                wakeups += 1
                done += self.c.reap(timeout=0)
        sel.close()
        self.assertGreater(wakeups, 0)
        self.assertEqual(sorted(c.tag for c in done), list(range(50)))
        self.assertEqual(r.take(50), want)


class TestErrors(Base):
    def test_bad_destinations(self):
        with self.assertRaises(OSError) as cm:
            self.c.flow_open("udp://not-an-address:1")
        self.assertEqual(cm.exception.errno, errno.EINVAL)
        self.assertIn("udp://not-an-address:1", str(cm.exception))
        ls = socket.socket()
        ls.bind(("127.0.0.1", 0))   # bound, not listening: refuses
        with self.assertRaises(ConnectionRefusedError) as cm:
            self.c.flow_open("tcp://127.0.0.1:%d" % ls.getsockname()[1])
        self.assertEqual(cm.exception.errno, errno.ECONNREFUSED)
        ls.close()

    def test_missing_socket(self):
        path = os.path.join(os.path.dirname(SOCK), "no-such.sock")
        with self.assertRaises(FileNotFoundError) as cm:
            zcsend.Client(path)
        self.assertEqual(cm.exception.errno, errno.ENOENT)
        self.assertEqual(cm.exception.filename, path)

    def test_unknown_destination(self):
        """A name no destination has is not a missing file (issue 16)."""
        with self.assertRaises(zcsend.UnknownDestinationError) as cm:
            self.c.flow_open("nosuchdest")
        e = cm.exception
        self.assertIsInstance(e, LookupError)
        self.assertIsInstance(e, OSError)
        self.assertNotIsInstance(e, FileNotFoundError)
        self.assertEqual(e.errno, errno.ENOENT)
        self.assertIn("no destination 'nosuchdest' is configured, and it "
                      "is not an address", str(e))

    def test_missing_default_socket(self):
        """With no path given, ENOENT names the default path tried."""
        path = os.path.join(os.path.dirname(SOCK), "no-default.sock")
        old = os.environ.get("ZCSENDD_SOCKET")
        os.environ["ZCSENDD_SOCKET"] = path
        try:
            with self.assertRaises(FileNotFoundError) as cm:
                zcsend.Client()
        finally:
            if old is None:
                del os.environ["ZCSENDD_SOCKET"]
            else:
                os.environ["ZCSENDD_SOCKET"] = old
        self.assertEqual(cm.exception.filename, path)
        self.assertIn(path, str(cm.exception))

    def test_bad_transport(self):
        """A bad ZCSEND_TRANSPORT is the library's refusal, not zcsendd's."""
        old = os.environ.get("ZCSEND_TRANSPORT")
        os.environ["ZCSEND_TRANSPORT"] = "bogus"
        try:
            with self.assertRaises(OSError) as cm:
                zcsend.Client(SOCK)
        finally:
            if old is None:
                del os.environ["ZCSEND_TRANSPORT"]
            else:
                os.environ["ZCSEND_TRANSPORT"] = old
        self.assertEqual(cm.exception.errno, errno.EINVAL)
        self.assertNotIn("zcsendd:", str(cm.exception))
        self.assertIn("libzcsend: ZCSEND_TRANSPORT=bogus", str(cm.exception))

    def test_refused_with_reason(self):
        if not SOCK_ONE:
            self.skipTest("no one-client daemon")
        with zcsend.Client(SOCK_ONE):
            with self.assertRaises(OSError) as cm:
                zcsend.Client(SOCK_ONE)
        e = cm.exception
        self.assertEqual(e.errno, errno.EUSERS)
        self.assertTrue(e.reason, "no reason from the daemon")
        self.assertIn(e.reason, str(e))
        print("\n    refused: %s" % e, file=sys.stderr)

    def test_buffers_outside_the_pool(self):
        r = UdpRecv()
        self.addCleanup(r.close)
        flow = self.c.flow_open(r.dest)
        for bad in (bytearray(100), b"read-only", memoryview(bytearray(8))):
            with self.assertRaises(ValueError):
                self.c.send(flow, bad)
        buf = self.c.alloc(100)
        with self.assertRaises(ValueError):
            self.c.send(flow, buf[:0])          # empty
        with self.assertRaises(ValueError):
            self.c.send(flow, buf[::2])         # not contiguous
        other = zcsend.Client(SOCK)             # another client's pool
        obuf = other.alloc(100)
        with self.assertRaises(ValueError):
            self.c.send(flow, obuf)
        other.close()
        with self.assertRaises(ValueError):     # released by close()
            obuf[0] = 1
        self.c.free(buf)
        with self.assertRaises(ValueError):     # released by free()
            self.c.send(flow, buf)

    def test_free_rules(self):
        r = UdpRecv()
        self.addCleanup(r.close)
        flow = self.c.flow_open(r.dest)
        buf = self.c.alloc(1000)
        with self.assertRaises(ValueError):
            self.c.free(buf[10:])               # not its start
        self.c.send(flow, buf[:500], tag=1)
        with self.assertRaises(BufferError):    # in flight
            self.c.free(buf)
        reap_all(self.c, 1)
        self.c.free(buf[:10])                   # its start: fine
        with self.assertRaises(OSError) as cm:
            self.c.alloc(0)
        self.assertEqual(cm.exception.errno, errno.EINVAL)
        with self.assertRaises(OSError) as cm:
            self.c.send_segmented(flow, self.c.alloc(10), 0)
        self.assertEqual(cm.exception.errno, errno.EINVAL)

    def test_free_under_a_live_view(self):
        """Memory freed while a slice or an export of it lives is given
        back only once they are gone: until then it is not reused."""
        for keep in (lambda b: b[:10], lambda b: ctypes.c_char.from_buffer(b)):
            buf = self.c.alloc(1000)
            held = keep(buf)
            self.c.free(buf)
            with self.assertRaises(OSError) as cm:
                self.c.alloc(self.c.pool_size)
            self.assertEqual(cm.exception.errno, errno.ENOMEM)
            del held
            gc.collect()
            self.c.free(self.c.alloc(self.c.pool_size))

    def test_closed(self):
        self.c.close()
        self.c.close()                          # twice is harmless
        for call in (lambda: self.c.alloc(1), lambda: self.c.reap(),
                     lambda: self.c.fileno(), lambda: self.c.inflight,
                     lambda: self.c.flow_open("udp://127.0.0.1:9")):
            with self.assertRaises(ValueError):
                call()


def clients():
    out = subprocess.run([ZCSENDCTL, "-s", SOCK, "status", "--json"],
                         check=True, capture_output=True, text=True).stdout
    return [c["pid"] for c in json.loads(out)["clients"]]


class TestLifetime(unittest.TestCase):
    def wait_clients(self, pred):
        end = time.monotonic() + 5
        while not pred(clients().count(os.getpid())):
            self.assertLess(time.monotonic(), end, "client count")
            time.sleep(0.05)

    def test_view_outliving_close(self):
        """A slice kept past close(): a warning, and the pool stays mapped
        (the client connected) until the slice is gone."""
        base = clients().count(os.getpid())
        c = zcsend.Client(SOCK)
        buf = c.alloc(4096)
        part = buf[100:200]
        part[:] = b"x" * 100
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            c.close()
        self.assertTrue(any(issubclass(x.category, ResourceWarning) for x in w))
        with self.assertRaises(ValueError):
            buf[0]
        self.assertEqual(bytes(part), b"x" * 100)   # still mapped
        self.wait_clients(lambda n: n == base + 1)
        del part
        gc.collect()
        self.wait_clients(lambda n: n == base)

    def test_context_managers(self):
        base = clients().count(os.getpid())
        with zcsend.Client(SOCK) as c:
            self.assertGreater(c.pool_size, 0)
            self.assertGreater(c.max_inflight, 0)
            r = UdpRecv()
            with c.flow_open(r.dest) as flow:
                buf = c.alloc(10)
                buf[:] = b"0123456789"
                c.send(flow, buf)
                comp, = reap_all(c, 1)
                self.assertEqual(comp, (None, 10, comp.flags))
            self.assertTrue(flow.closed)
            self.assertEqual(r.take(1), [b"0123456789"])
            r.close()
            self.assertEqual(clients().count(os.getpid()), base + 1)
        self.assertTrue(c.closed)
        self.wait_clients(lambda n: n == base)
        self.assertTrue(zcsend.version())

    def test_version(self):
        """__version__ is the Makefile's VERSION, which the library
        loaded reports too."""
        self.assertEqual(zcsend.__version__, os.environ["ZCS_VERSION"])
        self.assertEqual(zcsend.version(), zcsend.__version__)


class TestExample(unittest.TestCase):
    def run_example(self, data, args, stdin=False, chunk=None):
        r = UdpRecv()
        self.addCleanup(r.close)
        path = os.path.join(os.path.dirname(SOCK), "example.in")
        with open(path, "wb") as f:
            f.write(data)
        cmd = [sys.executable, EXAMPLE, "-s", SOCK, r.dest] + args
        if stdin:
            with open(path, "rb") as f:
                p = subprocess.run(cmd + ["-"], stdin=f, capture_output=True,
                                   text=True, timeout=60)
        else:
            p = subprocess.run(cmd + [path], capture_output=True, text=True,
                               timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        print("\n    %s" % p.stdout.strip(), file=sys.stderr)
        want = [data[k:k + chunk] for k in range(0, len(data), chunk)]
        got = r.take(len(want))
        self.assertEqual([len(g) for g in got], [len(w) for w in want])
        self.assertTrue(got == want, "datagram bytes differ")
        self.assertIn("sent %d bytes in %d datagrams" % (len(data), len(want)),
                      p.stdout)

    def test_file_mtu(self):
        self.run_example(payload(2_000_003, 1), ["--chunk", "1472"], chunk=1472)

    def test_stdin_default_chunk(self):
        with zcsend.Client(SOCK) as c:
            r = UdpRecv()
            seg = c.flow_open(r.dest).max_segment
            r.close()
        self.run_example(payload(1_000_000, 2), ["--inflight", "3"],
                         stdin=True, chunk=seg)

    def test_stdin_small_chunk(self):
        self.run_example(payload(123_457, 3), ["--chunk", "1200"], stdin=True,
                         chunk=1200)


if __name__ == "__main__":
    print("transport %s, libzcsend %s" % (os.environ.get("ZCSEND_TRANSPORT",
          "default"), zcsend.version()))
    unittest.main(verbosity=2)
