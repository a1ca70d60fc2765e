"""Hash identifiers in a second process while this one validates, then share what is left.

Pseudonymising costs about 2 µs of CPU per distinct identifier (one HMAC-SHA256 each), ten
million of them at national scale, and it does not depend on what validation finds. So prepare
starts a second Python process as soon as the tables are typed: it hashes the texts from the
first chunk forwards while this process runs the contract checks and cross-table rules. When
validation is done, this process hashes from the last chunk backwards until the two meet; the
child is then told to stop. The key and texts reach the child through a pipe, never a file or
argv. If the child fails, this process hashes whatever is missing itself.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from typing import TYPE_CHECKING

from evaluation.data.pseudonymise import _buffers, _prefixes

if TYPE_CHECKING:
    import pyarrow as pa

_STOP = b"s"  # sent to the child: finish the step in hand and exit
_FROM = 20_000  # fewer texts: starting a process costs more than it saves
# texts per step of either process: short enough that the threads moving bytes through the
# pipes get the interpreter often (a hashing step holds it throughout)
_STEP = 8192
_PIPE = 1 << 20  # pipe capacity asked of Linux (the default 64 KiB stalls the child)


def _widen(fd: int) -> None:
    try:
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), _PIPE)
    except (OSError, ImportError):
        pass


class HashAhead:
    """8-byte HMAC prefixes of texts, computed by a child process from the front (started at
    construction) and by prefixes() from the back."""

    def __init__(self, texts: pa.Array, key: bytes) -> None:
        self.texts, self.key = texts, key
        self.child: subprocess.Popen | None = None
        self.received: list[bytes] = []
        self.size = 0  # bytes received from the child so far
        if len(texts) < _FROM or (os.cpu_count() or 1) < 2:
            return
        code = "from evaluation.data.hash_ahead import serve; serve()"
        try:
            self.child = subprocess.Popen(
                [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE
            )
        except OSError:
            return
        _widen(self.child.stdin.fileno())  # type: ignore[union-attr]
        _widen(self.child.stdout.fileno())  # type: ignore[union-attr]
        offsets, data = _views(texts)
        self._writer = threading.Thread(target=self._send, args=(key, offsets, data), daemon=True)
        self._reader = threading.Thread(target=self._receive, daemon=True)
        self._writer.start()
        self._reader.start()

    def _send(self, *blobs: bytes | memoryview) -> None:
        fd = self.child.stdin.fileno()  # type: ignore[union-attr]
        try:
            for blob in blobs:
                _write(fd, memoryview(blob).nbytes.to_bytes(8, "little"))
                _write(fd, blob)
        except OSError:  # the child died (or was stopped) before reading
            pass

    def _receive(self) -> None:
        fd = self.child.stdout.fileno()  # type: ignore[union-attr]
        while True:
            try:
                part = os.read(fd, _PIPE)
            except OSError:
                return
            if not part:
                return
            self.received.append(part)
            self.size += len(part)

    def prefixes(self, texts: pa.Array, key: bytes) -> bytes:
        """The prefixes of texts (the texts given at construction, or computed here afresh)."""
        same = texts is self.texts or (len(texts) == len(self.texts) and texts.equals(self.texts))
        if key != self.key or not same:
            self.close()
            return _prefixes(texts, key)
        n = len(texts)
        steps = -(-n // _STEP)
        mine: dict[int, bytes] = {}
        last = steps - 1
        while last >= 0 and (self.child is None or self.size // (8 * _STEP) <= last):
            mine[last] = _prefixes(texts.slice(last * _STEP, _STEP), key)
            last -= 1
        theirs = memoryview(self._stop())
        done = steps if len(theirs) >= 8 * n else len(theirs) // (8 * _STEP)
        out: list = [theirs[: 8 * _STEP * min(done, last + 1)]]
        for i in range(min(done, last + 1), steps):
            out.append(mine[i] if i in mine else _prefixes(texts.slice(i * _STEP, _STEP), key))
        return b"".join(out)

    def _stop(self) -> bytes:
        """Tell the child to stop; everything it sent."""
        if self.child is None:
            return b""
        self._writer.join()
        try:
            self.child.stdin.write(_STOP)  # type: ignore[union-attr]
            self.child.stdin.close()  # type: ignore[union-attr]
        except (OSError, ValueError):
            pass
        self._reader.join()
        self.child.stdout.close()  # type: ignore[union-attr]
        ok = self.child.wait() == 0
        self.child = None
        received, self.received = self.received, []
        return b"".join(received) if ok else b""

    def close(self) -> None:
        """Stop the child without waiting for its work (validation failed)."""
        if self.child is not None:
            self.child.kill()
            self._stop()


def serve() -> None:
    """The child: key, offsets and texts in on stdin (each length-prefixed); the prefixes of
    one chunk after another out on stdout, until the texts end or a stop byte arrives."""
    import select

    import pyarrow as pa

    fd, out = sys.stdin.fileno(), sys.stdout.buffer
    key, offsets, data = (_read(fd, int.from_bytes(_read(fd, 8), "little")) for _ in range(3))
    size = len(offsets) // 8 - 1
    texts = pa.Array.from_buffers(
        pa.large_binary(), size, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )
    for start in range(0, size, _STEP):
        if select.select([fd], [], [], 0)[0]:
            break  # told to stop (or the parent is gone)
        out.write(_prefixes(texts.slice(start, _STEP), key))
        out.flush()


def _read(fd: int, size: int) -> bytes:
    """Exactly size bytes from fd (unbuffered: a stop byte behind them stays in the pipe)."""
    buf = bytearray(size)
    view, got = memoryview(buf), 0
    while got < size:
        n = os.readv(fd, [view[got:]])
        if n == 0:
            raise EOFError("the parent closed the pipe early")
        got += n
    return bytes(buf)


def _views(texts: pa.Array) -> tuple[bytes | memoryview, bytes | memoryview]:
    """(offsets from 0, data) of a large binary array: views of its own buffers when it is not
    a slice (no copy of the texts), else copies of its part."""
    import numpy as np

    _, offsets, data = texts.buffers()
    at = np.frombuffer(offsets, dtype=np.int64, count=len(texts) + 1)
    if data is not None and texts.offset == 0 and at[0] == 0:
        return memoryview(offsets)[: at.nbytes], memoryview(data)[: int(at[-1])]
    return _buffers(texts)


def _write(fd: int, data: bytes | memoryview) -> None:
    """All of data to fd, in as few system calls as the pipe allows (each one without the
    interpreter lock)."""
    view = memoryview(data).cast("B")
    while view:
        view = view[os.write(fd, view) :]
