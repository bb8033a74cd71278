# SPDX-License-Identifier: MIT
"""Receivers the Python tests share (python-binding.py, python-asyncio.py):
a TCP listener taking one connection and keeping its whole stream."""

import socket
import threading


class TcpRecv(threading.Thread):
    """A TCP listener taking one connection, reading it to EOF once
    self.reading is set (a peer that does not read holds sends)."""

    def __init__(self, read_now: bool = True) -> None:
        super().__init__(daemon=True)
        self.ls = socket.socket()
        if not read_now:
            self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(1)
        self.dest = "tcp://127.0.0.1:%d" % self.ls.getsockname()[1]
        self.reading = threading.Event()
        if read_now:
            self.reading.set()
        self.data = bytearray()
        self.start()

    def run(self) -> None:
        with self.ls:
            conn, _ = self.ls.accept()
        self.reading.wait()
        conn.settimeout(30)
        with conn:
            while True:
                d = conn.recv(1 << 20)
                if not d:
                    break
                self.data += d
