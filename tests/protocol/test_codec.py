"""Codec round trips and fuzzed frames."""

import socket
import struct

import numpy as np
from hypothesis import given, settings, strategies as st

from netpool._protocol import codec, messages as M
from netpool._transport.channel import Channel
from netpool.errors import ProtocolError

plain = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text() | st.binary(),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20)


@given(plain)
def test_payload_round_trip(value):
    data, bufs = codec.dumps(value)
    assert codec.loads(data, bufs) == value


def test_large_arrays_travel_out_of_band_and_come_back_writable():
    a = np.arange(1 << 20, dtype=np.float64)
    data, bufs = codec.dumps(a)
    assert len(bufs) == 1 and len(data) < 1000
    back = codec.loads(data, [bytearray(b) for b in bufs])
    assert np.array_equal(back, a) and back.flags.writeable


def test_lambdas_go_through_cloudpickle_and_keep_their_file():
    f = lambda x: x + 1  # noqa: E731
    g = codec.loads_callable(codec.dumps_callable(f))
    assert g(1) == 2 and g.__code__.co_filename == __file__


envelopes = st.tuples(st.sampled_from([M.BEAT, M.REVOKE, M.STOP]), st.lists(st.integers(0, 2**40)))


@settings(max_examples=50)
@given(st.lists(envelopes, min_size=1, max_size=10), st.integers(1, 7))
def test_channel_reassembles_frames_split_anywhere(msgs, cut):
    a, b = socket.socketpair()
    try:
        sender, receiver = Channel(a), Channel(b)
        big = bytearray(b"z" * (2 << 20))  # one in-place frame too
        import threading

        def send_all():
            for m in msgs:
                sender.send(m)
            sender.send((M.RESULTS, [(1, M.OK, b"p", 1)], [len(big)]), [big])

        t = threading.Thread(target=send_all)  # the big frame does not fit a socket buffer
        t.start()
        got = [receiver.recv() for _ in range(len(msgs) + 1)]
        t.join(10)
        assert [g[0] for g in got[:-1]] == [tuple(m) for m in msgs]
        assert got[-1][1][0] == big
    finally:
        a.close()
        b.close()


@settings(max_examples=200)
@given(st.binary(min_size=1, max_size=200))
def test_garbage_frames_raise_protocol_error_never_crash(garbage):
    a, b = socket.socketpair()
    try:
        chan = Channel(b, max_frame=1 << 16)
        a.sendall(struct.pack("!i", len(garbage)) + garbage)
        try:
            msgs = chan.recv_ready(block=True)
        except ProtocolError:
            return
        for msg, _ in msgs:
            assert isinstance(msg, tuple) and isinstance(msg[0], int)
    finally:
        a.close()
        b.close()
