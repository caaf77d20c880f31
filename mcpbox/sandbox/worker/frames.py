"""Length-prefixed, bounded JSON frames: the only thing that crosses a worker's channel.

A frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON holding one
object. Both ends know the largest frame they accept; a peer that announces more, or sends bytes
that are not a JSON object, is treated as hostile (the supervisor kills a worker that does it, a
worker exits when its supervisor does it). The decoder never buffers more than one frame's worth,
so a flood cannot grow memory past the bound.
"""

from __future__ import annotations

import json
import socket
import struct
from typing import Any

HEADER = struct.Struct(">I")
HEADER_SIZE = HEADER.size
# Room for the JSON envelope around the payload fields that are themselves bounded.
ENVELOPE_BYTES = 64 * 1024

Frame = dict[str, Any]

# How a worker leaves, so the supervisor can tell a protocol breach from a crash.
EXIT_OK = 0
EXIT_PROTOCOL = 3
EXIT_INTERNAL = 4


class FrameError(ValueError):
    """The peer broke the framing rules (oversized, truncated, not a JSON object)."""


class ChannelClosed(EOFError):
    """The peer closed the channel, cleanly between frames or in the middle of one."""


def encode(message: Frame) -> bytes:
    """Serialise one message as header + compact JSON."""
    payload = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return HEADER.pack(len(payload)) + payload


def decode_payload(payload: bytes | bytearray | memoryview) -> Frame:
    """Parse a frame body; anything but a JSON object is a framing error."""
    try:
        value = json.loads(bytes(payload))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FrameError("frame is not valid UTF-8 JSON") from exc
    if not isinstance(value, dict):
        raise FrameError("frame must hold a JSON object")
    return value


class FrameDecoder:
    """Incremental decoder for a byte stream (the supervisor's side of a non-blocking socket)."""

    __slots__ = ("_buffer", "_max_size")

    def __init__(self, max_size: int) -> None:
        self._max_size = max_size
        self._buffer = bytearray()

    @property
    def pending(self) -> int:
        """Bytes held that do not yet form a whole frame (non-zero at EOF means truncation)."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Frame]:
        """Add received bytes; return every frame now complete, in order."""
        buffer = self._buffer
        buffer += data
        frames: list[Frame] = []
        while len(buffer) >= HEADER_SIZE:
            (size,) = HEADER.unpack_from(buffer)
            if size > self._max_size:
                raise FrameError(f"frame of {size} bytes exceeds the limit of {self._max_size}")
            end = HEADER_SIZE + size
            if len(buffer) < end:
                break
            frames.append(decode_payload(memoryview(buffer)[HEADER_SIZE:end]))
            del buffer[:end]
        return frames


def _recv_exact(sock: socket.socket, size: int, *, at_start: bool) -> bytearray:
    data = bytearray(size)
    view = memoryview(data)
    got = 0
    while got < size:
        n = sock.recv_into(view[got:], size - got)
        if n == 0:
            if at_start and got == 0:
                raise ChannelClosed("channel closed")
            raise ChannelClosed("channel closed in the middle of a frame")
        got += n
    return data


def read_frame(sock: socket.socket, max_size: int) -> Frame:
    """Blocking read of exactly one frame (the worker and zygote side)."""
    (size,) = HEADER.unpack(_recv_exact(sock, HEADER_SIZE, at_start=True))
    if size > max_size:
        raise FrameError(f"frame of {size} bytes exceeds the limit of {max_size}")
    return decode_payload(_recv_exact(sock, size, at_start=False))


def write_frame(sock: socket.socket, message: Frame) -> None:
    """Blocking write of one frame."""
    sock.sendall(encode(message))
