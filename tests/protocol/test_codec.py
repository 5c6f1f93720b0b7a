"""Codec round trips and fuzzed frames."""

import pickle
import socket
import struct

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from netpool._protocol import codec, envelope, messages as M
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


class _HoldsAFile:
    def __init__(self, fh):
        self.fh = fh

    def work(self, x):
        return x


def test_what_refers_to_main_also_travels_by_value_and_nothing_else_does():
    # By value as well only where plain pickle refers to __main__: its functions, classes
    # and their instances, at any depth; not a module's function whose arguments merely
    # hold the bytes b"__main__".
    import functools
    import __main__
    import _tasks

    class Local:
        pass
    Local.__module__, Local.__qualname__ = "__main__", "NetpoolTestLocal"
    __main__.NetpoolTestLocal = Local
    try:
        mains = [functools.partial(_tasks.simple_func, [{"k": (Local(),)}]),
                 functools.partial(_tasks.simple_func, Local), Local]
        for obj in mains:
            ref, val, _ = pickle.loads(codec.dumps_callable(obj))
            assert ref is not None and val is not None, obj
        plain = functools.partial(_tasks.simple_func, b"__main__" * 4, np.zeros(3))
        ref, val, _ = pickle.loads(codec.dumps_callable(plain))
        assert ref is not None and val is None
        assert repr(codec.loads_callable(codec.dumps_callable(plain))()) == repr(plain())
    finally:
        del __main__.NetpoolTestLocal


def test_what_nothing_can_pickle_raises_plain_pickles_error(tmp_path):
    """A bound method of an object holding a file open for writing: pickle raises
    ``TypeError: cannot pickle '_io.TextIOWrapper' object``, as the stdlib's pool does from
    ``map``; cloudpickle, tried next, would raise a ``PicklingError`` of its own words."""
    with open(tmp_path / "out.txt", "w") as fh:
        method = _HoldsAFile(fh).work
        with pytest.raises(TypeError) as plain:
            pickle.dumps(method)
        with pytest.raises(TypeError) as ours:
            codec.dumps_callable(method)
    assert str(ours.value) == str(plain.value) == "cannot pickle '_io.TextIOWrapper' object"


envelopes = st.tuples(st.sampled_from([M.BEAT, M.REVOKE, M.STOP]), st.lists(st.integers(0, 2**40)))


@settings(max_examples=50, deadline=None)  # a 2 MiB frame through a socket, under load
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


# No deadline: this test is about crashes; how long a hostile frame may cost is the next one's.
@settings(max_examples=200, deadline=None)
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


@pytest.mark.timeout(60)
def test_a_memo_index_in_a_six_byte_envelope_costs_nothing():
    """Found by the fuzz test above: NEWTRUE, LONG_BINPUT 2**24. When envelopes were pickles,
    the C unpickler allocated and zeroed a 16 M-entry memo for it (~1 s; a larger index asks
    for gigabytes). Envelopes are no longer pickles: it is refused as cheaply as any garbage,
    and so is the same stream behind the envelope format's first byte."""
    import time
    for frame in (b"\x88r\x00\x00\x00\x01", bytes([envelope.MAGIC]) + b"\x88r\x00\x00\x00\x01",
                  pickle.dumps((M.BEAT, True)) + b"r\xff\xff\xff\x7f"):
        start = time.perf_counter()
        with pytest.raises(ProtocolError):
            M.decode(frame)
        assert time.perf_counter() - start < 0.05, frame


HOSTILE_COUNTS = [
    b"l\xff\xff\xff\xff",                         # a list of 2**32 - 1 items
    b"t\xff\xff\xff\x7fN",                         # a tuple of 2**31 - 1, one present
    b"b\xff\xff\xff\xff",                         # bytes of 4 GiB
    b"s\x00\x00\x00\x40",                         # a string of 1 GiB
    b"L\xff\xff\xff\xff",                         # an integer of 4 GiB
    b"l\x01\x00\x00\x00" * 1000 + b"N",             # nested 1,000 deep
    b"\x99",                                       # an unknown tag
]
_R = bytes([envelope.ROWS_MAGIC])
HOSTILE_ROWS = [
    _R + bytes([M.RESULTS]) + b"\xff\xff\xff\xff",  # 2**32 - 1 results
    _R + bytes([M.REVOKED]) + b"\xff\xff\xff\x0f" + b"\x00" * 16,
    # one result whose payload is 4 GiB long
    _R + bytes([M.RESULTS]) + struct.pack("<IqqBIId", 1, 1, 1, 0, 2**32 - 1, 0, 0.0),
    # one result, then 2**32 - 1 buffer sizes
    _R + bytes([M.RESULTS]) + struct.pack("<IqqBIIdI", 1, 1, 1, 0, 0, 0, 0.0, 2**32 - 1),
    _R + bytes([M.RESULTS]),                         # no count
    _R + bytes([M.TASKS]) + struct.pack("<I", 0),     # no sizes
    _R + bytes([M.REVOKE]) + struct.pack("<Iqq", 1, 1, 1) + b"x",  # a byte too many
    _R + bytes([M.HELLO]) + b"\x00" * 8,            # no row layout for HELLO
    _R + bytes([M.BEAT]) + b"\x00",                  # a bare message with a tail
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("frame", HOSTILE_ROWS)
def test_a_row_count_or_length_cannot_cost_more_than_the_frame(frame):
    import time
    start = time.perf_counter()
    with pytest.raises(ProtocolError):
        M.decode(frame)
    assert time.perf_counter() - start < 0.05


@pytest.mark.timeout(60)
@pytest.mark.parametrize("body", HOSTILE_COUNTS)
def test_a_count_or_length_cannot_cost_more_than_the_frame(body):
    """Every count is checked against the bytes present before anything is built."""
    import time
    start = time.perf_counter()
    with pytest.raises(ProtocolError):
        envelope.decode(bytes([envelope.MAGIC]) + body)
    assert time.perf_counter() - start < 0.05


plain_exact = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
    | st.binary(),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner) | st.tuples(inner),
    max_leaves=20)


def _typed(v):
    """A value with every type spelt out, so 1 == True == 1.0 cannot hide a wrong type."""
    if type(v) in (list, tuple):
        return (type(v).__name__, [_typed(x) for x in v])
    return (type(v).__name__, v)


@given(plain_exact)
def test_envelope_round_trip_keeps_values_and_types(value):
    assert _typed(envelope.decode(envelope.encode(value))) == _typed(value)


ids = st.integers(-2**63, 2**63 - 1) | st.integers(2**63, 2**70)  # past 64 bits: general form
small = st.integers(0, 255)
sizes = st.lists(st.integers(0, 2**40), max_size=3)
row_messages = (
    st.tuples(st.just(M.TASKS), st.lists(st.tuples(ids, ids, small, ids, st.binary(max_size=9),
                                                   small), max_size=4), sizes)
    | st.tuples(st.just(M.RESULTS), st.lists(st.tuples(ids, ids, small, st.binary(max_size=9),
                                                       small, st.floats(allow_nan=False)),
                                             max_size=70), sizes)
    | st.tuples(st.sampled_from([M.REVOKE, M.REVOKED]), st.lists(st.tuples(ids, ids),
                                                                 max_size=4))
    | st.tuples(st.sampled_from([M.STOP, M.BEAT])))


@given(row_messages)
def test_messages_of_rows_round_trip(msg):
    frame = M.encode(msg)
    assert _typed(M.decode(frame)) == _typed(msg)


def test_entries_of_one_shape_travel_as_rows():
    entries = [(i, i + 1, 0, 7, b"payload%d" % i, 0) for i in range(64)]
    frame = M.encode((M.TASKS, entries, [3]))
    assert frame[:2] == bytes([envelope.ROWS_MAGIC, M.TASKS])
    assert len(frame) == 2 + 4 + 64 * 33 + sum(map(len, (e[4] for e in entries))) + 4 + 8
    assert M.decode(frame) == (M.TASKS, entries, [3])


@pytest.mark.parametrize("value", [{"a": 1}, {1, 2}, object(), 1j])
def test_encoding_anything_but_plain_data_is_a_type_error(value):
    with pytest.raises(TypeError):
        envelope.encode((M.BEAT, value))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_garbage_behind_the_format_byte_raises_protocol_error_never_crash(garbage):
    try:
        envelope.decode(bytes([envelope.MAGIC]) + garbage)
    except ProtocolError:
        pass


# -- large bytes and bytearray ("blobs") ----------------------------------------------------

def _blob(size: int, kind: type, seed: int) -> object:
    return kind(bytes([seed % 251]) * size)


blob_sizes = st.sampled_from([10, 70_000, codec.BLOB_MIN - 1, codec.BLOB_MIN, 3 << 20])
leaves = (st.integers() | st.text(max_size=5) | st.sampled_from(["s" * 70_000])
          | st.builds(_blob, blob_sizes, st.sampled_from([bytes, bytearray]), st.integers(0, 250)))
values = st.recursive(leaves, lambda inner: st.lists(inner, max_size=4)
                      | st.tuples(inner, inner)
                      | st.dictionaries(st.text(max_size=3), inner, max_size=3), max_leaves=8)


def _blobs_in(value) -> list:
    if type(value) in (bytes, bytearray):
        return [value] if len(value) >= codec.BLOB_MIN else []
    inner = value.values() if isinstance(value, dict) else value
    if isinstance(value, (list, tuple, dict)):
        return [b for x in inner for b in _blobs_in(x)]
    return []


def _leaves(value) -> list:
    if isinstance(value, (list, tuple, dict)):
        inner = value.values() if isinstance(value, dict) else value
        return [leaf for x in inner for leaf in _leaves(x)]
    return [value]


def _received(bufs: list) -> list:
    """What the channel hands over: bytes buffers as bytes, the others as bytearray."""
    return [b if type(b) is bytes else bytearray(b) for b in bufs]


@settings(max_examples=60, deadline=None)
@given(values)
def test_blobs_go_out_of_band_at_any_depth_and_come_back_as_received(value):
    data, bufs = codec.dumps(value)
    blobs = _blobs_in(value)
    distinct = {id(b): b for b in blobs}
    assert len(bufs) == len(distinct)
    in_band = {id(x): len(x) for x in _leaves(value)
               if type(x) in (bytes, bytearray, str) and id(x) not in distinct}
    assert len(data) < sum(in_band.values()) + 65536  # no blob left in the stream
    received = _received(bufs)
    back = codec.loads(data, received)
    assert back == value
    back_blobs = _blobs_in(back)
    assert [type(b) for b in back_blobs] == [type(b) for b in blobs]
    # Every blob that came back is one of the very buffers received: not copied again.
    assert {id(b) for b in back_blobs} <= {id(b) for b in received}


@settings(max_examples=60, deadline=None)
@given(values)
def test_stream_layout_tells_exactly_whether_a_blob_is_in_band(value):
    import pickle
    data = pickle.dumps(value, 5)
    assert codec._holds_blobs(data) == (len(data) >= codec.BLOB_MIN and bool(_blobs_in(value)))


def test_bytes_and_bytearray_frames_keep_their_type_big_or_small():
    import threading
    a, b = socket.socketpair()
    try:
        sender, receiver = Channel(a), Channel(b)
        bufs = [b"f" * 100, bytearray(b"m" * 100), b"F" * (3 << 20), bytearray(3 << 20)]
        sizes = [len(x) for x in bufs]
        t = threading.Thread(target=sender.send, args=((M.RESULTS, [], sizes), bufs))
        t.start()
        (msg, got) = receiver.recv()
        t.join(10)
        assert [type(x) for x in got] == [bytes, bytearray, bytes, bytearray]
        assert got == bufs
        got[3].extend(b"!")  # a bytearray received in place is left resizable
    finally:
        a.close()
        b.close()
