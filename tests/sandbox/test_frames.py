"""Frames: length-prefixed JSON objects, bounded, rejected when malformed."""

from __future__ import annotations

import socket
import struct

import pytest

from mcpbox.sandbox.worker import frames


def test_encode_then_decode_round_trips_in_any_split() -> None:
    messages = [{"op": "call", "n": i, "text": "é" * i} for i in range(20)]
    data = b"".join(frames.encode(m) for m in messages)
    for chunk in (1, 3, 7, 64, len(data)):
        decoder = frames.FrameDecoder(1024)
        got = []
        for start in range(0, len(data), chunk):
            got.extend(decoder.feed(data[start : start + chunk]))
        assert got == messages
        assert decoder.pending == 0


def test_decoder_rejects_a_frame_over_the_limit_before_buffering_it() -> None:
    decoder = frames.FrameDecoder(100)
    with pytest.raises(frames.FrameError, match="exceeds the limit"):
        decoder.feed(struct.pack(">I", 101))


@pytest.mark.parametrize("payload", [b"[1, 2]", b"\xff\xfe", b"{not json", b'"text"'])
def test_decoder_rejects_anything_but_a_json_object(payload: bytes) -> None:
    with pytest.raises(frames.FrameError):
        frames.FrameDecoder(100).feed(struct.pack(">I", len(payload)) + payload)


def test_decoder_keeps_a_partial_frame_pending() -> None:
    decoder = frames.FrameDecoder(100)
    encoded = frames.encode({"op": "x"})
    assert decoder.feed(encoded[:-1]) == []
    assert decoder.pending == len(encoded) - 1


def test_blocking_read_frame_reads_exactly_one_frame() -> None:
    left, right = socket.socketpair()
    with left, right:
        frames.write_frame(left, {"op": "a"})
        frames.write_frame(left, {"op": "b"})
        assert frames.read_frame(right, 100) == {"op": "a"}
        assert frames.read_frame(right, 100) == {"op": "b"}


def test_blocking_read_frame_reports_clean_close_and_truncation() -> None:
    left, right = socket.socketpair()
    with right:
        left.close()
        with pytest.raises(frames.ChannelClosed, match=r"channel closed$"):
            frames.read_frame(right, 100)
    left, right = socket.socketpair()
    with right:
        left.sendall(frames.encode({"op": "cut"})[:-2])
        left.close()
        with pytest.raises(frames.ChannelClosed, match="middle of a frame"):
            frames.read_frame(right, 100)


def test_blocking_read_frame_enforces_the_bound() -> None:
    left, right = socket.socketpair()
    with left, right:
        frames.write_frame(left, {"op": "x" * 200})
        with pytest.raises(frames.FrameError):
            frames.read_frame(right, 100)
