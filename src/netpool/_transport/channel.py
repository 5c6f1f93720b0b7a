"""A framed, authenticated TCP channel.

Framing is multiprocessing.connection's: a 4-byte big-endian length, then the bytes (lengths
of 2**31 and more use -1 and an 8-byte length). One addition: a buffer sent from a ``bytes``
object has the length -2 and an 8-byte length, and is received as ``bytes`` (in place for a
large one: into the ``bytes`` object that ``io.BytesIO.getvalue()`` hands over without a copy
in CPython), so that the codec can return it as the very object received. We frame ourselves, on the socket, instead of
calling ``Connection.send_bytes``/``recv_bytes`` for speed: ``sendmsg`` writes a header and a
large buffer without joining them, many small frames arrive in one ``recv``, and a large frame
is received straight into a preallocated, writable ``bytearray`` (numpy arrays built on it are
writable, as in multiprocessing). Every frame length is checked against a cap before any
memory is allocated for it.
"""

from __future__ import annotations

from collections.abc import Iterable

import io
import socket
import struct
import threading

from ..errors import ProtocolError
from .._protocol import messages as M

_HDR = struct.Struct("!i")
_HDR64 = struct.Struct("!Q")
_CHUNK = 256 * 1024
_BIG = 1 << 20  # frames at least this large are received in place
# A large frame's memory is reserved as its bytes arrive, at most this far ahead of them
# (or as far again as has arrived): a peer that announces 2 GiB and sends nothing costs
# 64 MiB, not 2 GiB. Growing a large buffer is cheap (realloc of an mmapped block remaps
# its pages instead of copying them).
_AHEAD = 64 << 20
_MAX_BUFFERS = 1 << 16  # out-of-band buffers one message may announce
_JOIN_MAX = 16 * 1024  # a message smaller is joined to its header (copied) and sent at once

DEFAULT_MAX_FRAME = 1 << 34  # 16 GiB: user payloads may be large, but not unbounded


def _header(n: int) -> bytes:
    if n < 0x7FFFFFFF:
        return _HDR.pack(n)
    return _HDR.pack(-1) + _HDR64.pack(n)


_FROZEN = _HDR.pack(-2)  # then an 8-byte length: a buffer to be received as ``bytes``


class _Frozen:
    """A received frame that was sent from a ``bytes`` object, and is one."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


class _InPlace:
    """A large frame being received straight into its final object."""

    __slots__ = ("view", "got", "bio", "size")

    def __init__(self, n: int, frozen: bool, have: int) -> None:
        self.size, self.got = n, 0
        first = min(n, max(have, _AHEAD))
        if frozen:
            self.bio: "io.BytesIO | None" = io.BytesIO()
            self.bio.seek(first - 1)
            self.bio.write(b"\0")
            self.view = self.bio.getbuffer()
        else:
            self.bio, self.view = None, memoryview(bytearray(first))

    def room(self) -> memoryview:
        """Where the next bytes go; reserves more once what was reserved is full."""
        have = len(self.view)
        if self.got == have < self.size:
            more = min(self.size, have + max(have, _AHEAD))
            obj = self.view.obj
            self.view.release()
            if self.bio is None:
                obj += bytes(more - have)
                self.view = memoryview(obj)
            else:
                self.bio.seek(more - 1)
                self.bio.write(b"\0")
                self.view = self.bio.getbuffer()
        return self.view[self.got:]

    def frame(self) -> object:
        obj = self.view.obj
        self.view.release()  # else the bytearray could not be resized, nor getvalue() share
        if self.bio is None:
            return obj
        data = self.bio.getvalue()
        self.bio.close()
        return _Frozen(data)


# What an AF_UNIX link (a worker on this host) may hold unread, asked of the kernel (which
# doubles it, and caps it at net.core.wmem_max). Its default, ~208 KiB, is less than two of
# a map's big chunks: a sender then blocks until the other side is scheduled and reads,
# which on a busy machine is milliseconds when it could be pickling or computing the next.
UNIX_SNDBUF = 1 << 20


def tune(sock: socket.socket) -> None:
    """Small pipelined messages stall ~40 ms under Nagle's algorithm; turn it off. A local
    link gets room for a few big messages in flight (``UNIX_SNDBUF``)."""
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    elif sock.family == socket.AF_UNIX:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, UNIX_SNDBUF)
        except OSError:
            pass  # the default still works, only sooner full


def set_io_timeouts(sock: socket.socket, recv: float | None, send: float | None) -> None:
    """Kernel-level timeouts (SO_RCVTIMEO/SO_SNDTIMEO) that also bound raw os.read/os.write."""
    for opt, secs in ((socket.SO_RCVTIMEO, recv), (socket.SO_SNDTIMEO, send)):
        secs = secs or 0.0
        sock.setsockopt(socket.SOL_SOCKET, opt,
                        struct.pack("ll", int(secs), int((secs % 1) * 1e6)))


def _nbytes(part: "bytes | memoryview") -> int:
    return len(part) if isinstance(part, bytes) else part.nbytes


def _trim(parts: list, sent: int) -> None:
    """Drop from ``parts`` the ``sent`` bytes a ``sendmsg`` wrote, and empty parts after."""
    while sent:
        n = _nbytes(parts[0])
        if sent >= n:
            sent -= n
            parts.pop(0)
        else:
            parts[0] = memoryview(parts[0])[sent:]
            sent = 0
    while parts and _nbytes(parts[0]) == 0:  # zero-length buffers
        parts.pop(0)


class Channel:
    """Messages over one socket. ``send`` is thread-safe; receiving is for one thread only."""

    def __init__(self, sock: socket.socket, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self.sock = sock
        self.max_frame = max_frame
        self._send_lock = threading.Lock()
        self._buf = bytearray()
        self._chunk = bytearray(_CHUNK)
        self._chunk_view = memoryview(self._chunk)
        self._big: _InPlace | None = None     # frame being received in place
        self._frames: list = []                 # complete frames not yet made into messages
        self._want = 0                          # buffer frames the current envelope still needs
        self._msg: tuple | None = None
        self._bufs: list = []
        self._sizes: "list | tuple" = ()          # announced sizes of the current buffers
        self._ready: list = []                  # messages received but not yet returned

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    # -- sending -----------------------------------------------------------------------
    def send(self, msg: tuple, buffers: Iterable = ()) -> None:
        """Send one message and its out-of-band buffers. Raises OSError if the link is gone."""
        if buffers:
            self.send_many([(msg, buffers)])
            return
        env = M.encode(msg)
        n = len(env)
        with self._send_lock:
            if n < _JOIN_MAX:  # small: joined, sent by one call (a lone task or result)
                self.sock.sendall(_HDR.pack(n) + env)
            else:
                self._sendall([_header(n), env])

    def send_many(self, messages: list) -> None:
        """Send several ``(message, buffers)`` at once: one system call for many small ones."""
        parts: list = []
        for msg, buffers in messages:
            env = M.encode(msg)
            parts += (_header(len(env)), env)
            for b in buffers:
                frozen = type(b) is bytes
                b = memoryview(b).cast("B")
                parts += (_FROZEN + _HDR64.pack(b.nbytes) if frozen else _header(b.nbytes), b)
        with self._send_lock:
            self._sendall(parts)

    def _sendall(self, parts: list) -> None:
        sock = self.sock
        if len(parts) <= 512:  # the common case: one call writes it all, nothing to trim
            sent = sock.sendmsg(parts)
            if sent == sum(map(len, parts)):  # views are cast to bytes ("B"): len is nbytes
                return
            _trim(parts, sent)
        while parts:
            _trim(parts, sock.sendmsg(parts[:512]))

    # -- receiving ---------------------------------------------------------------------
    def recv_ready(self, block: bool = False) -> list[tuple]:
        """Read what is available (or block for some) and return the complete messages.

        A message is ``(envelope, buffers)``. Raises EOFError when the peer closed, OSError on
        a socket error, ProtocolError on a malformed or oversized frame.
        """
        flags = 0 if block else socket.MSG_DONTWAIT
        if self._big is None and not self._buf and self._msg is None and not self._frames:
            # Nothing pending, the common case: one recv brings one whole message.
            try:
                got = self.sock.recv_into(self._chunk, _CHUNK, flags)
            except BlockingIOError:
                return []
            if not got:
                raise EOFError("peer closed the connection")
            if got >= 4 and _HDR.unpack_from(self._chunk)[0] == got - 4 <= self.max_frame:
                msg = M.decode(bytes(self._chunk_view[4:got]))
                return [(msg, ())] if self._complete(msg) else []  # else: buffers follow
            self._parse(got)
            return self._messages()
        try:
            self._fill(flags)
        except BlockingIOError:
            pass
        return self._messages()

    def take_buffered(self) -> list[tuple]:
        """The messages already read along with earlier ones but not yet returned by
        ``recv`` (a peer that sent its first request right behind its HELLO)."""
        ready, self._ready = self._ready, []
        return ready

    def recv(self) -> tuple:
        """Block until one message arrives; returns ``(envelope, buffers)``."""
        while not self._ready:
            self._ready = self.recv_ready(block=True)
        return self._ready.pop(0)

    def _fill(self, flags: int) -> None:
        big = self._big
        if big is not None:
            room = big.room()
            n = self.sock.recv_into(room, len(room), flags)
            room.release()
            if n == 0:
                raise EOFError("peer closed the connection")
            big.got += n
            if big.got == big.size:
                self._frames.append(big.frame())
                self._big = None
            return
        # Into a buffer kept for the channel's life: ``recv(256 KiB)`` would allocate (and
        # the allocator mmap and fault in) a fresh 256 KiB object for every small message,
        # ~20 us per call, more than the rest of a round trip's reading together.
        got = self.sock.recv_into(self._chunk, _CHUNK, flags)
        if not got:
            raise EOFError("peer closed the connection")
        self._parse(got)

    def _parse(self, got: int) -> None:
        """Take the ``got`` bytes just received into the chunk."""
        buf = self._buf
        if not buf and got >= 4 and _HDR.unpack_from(self._chunk)[0] == got - 4 <= self.max_frame:
            self._frames.append(bytes(self._chunk_view[4:got]))  # one whole frame: no copies
            return
        buf += self._chunk_view[:got]
        pos, end = 0, len(buf)
        while end - pos >= 4:
            (n,) = _HDR.unpack_from(buf, pos)
            hdr, frozen = 4, False
            if n == -1 or n == -2:
                if end - pos < 12:
                    break
                frozen = n == -2
                (n,) = _HDR64.unpack_from(buf, pos + 4)
                hdr = 12
            elif n < 0:
                raise ProtocolError(f"negative frame length {n}")
            if n > self.max_frame:
                raise ProtocolError(f"frame of {n} bytes exceeds the cap of {self.max_frame}")
            start = pos + hdr
            if end - start >= n:
                data = bytes(buf[start:start + n])
                self._frames.append(_Frozen(data) if frozen else data)
                pos = start + n
            elif n >= _BIG:
                have = end - start
                self._big = big = _InPlace(n, frozen, have)
                big.view[:have] = buf[start:end]
                big.got = have
                pos = end
                break
            else:
                break
        del buf[:pos]

    def _complete(self, msg: tuple) -> bool:
        """Whether a message just decoded is whole; if it announces buffers, they are
        awaited (the frames that follow). Raises ProtocolError for malformed sizes."""
        if msg[0] not in M.WITH_BUFFERS:
            return True
        sizes = msg[2] if len(msg) > 2 else ()
        if (type(sizes) not in (list, tuple) or len(sizes) > _MAX_BUFFERS
                or (sizes and not all(type(n) is int and n >= 0 for n in sizes))):
            raise ProtocolError(f"malformed buffer sizes in message {msg[0]}")
        if not sizes:
            return True
        self._msg, self._want, self._bufs, self._sizes = msg, len(sizes), [], sizes
        return False

    def _messages(self) -> list[tuple]:
        frames = self._frames
        out = []
        i = 0
        while i < len(frames):
            f = frames[i]
            i += 1
            if self._msg is None:
                msg = M.decode(f)
                if self._complete(msg):
                    out.append((msg, ()))
            else:
                if type(f) is _Frozen:
                    f = f.data
                elif type(f) is not bytearray:
                    f = bytearray(f)  # writable, as numpy arrays built on it must be
                if len(f) != self._sizes[len(self._bufs)]:
                    raise ProtocolError(f"a buffer of {len(f)} bytes, announced as "
                                        f"{self._sizes[len(self._bufs)]}")
                self._bufs.append(f)
                self._want -= 1
                if self._want == 0:
                    out.append((self._msg, self._bufs))
                    self._msg, self._bufs = None, []
        frames.clear()
        return out
