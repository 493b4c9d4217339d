"""Hypothesis fuzzing of the RTDE decoders: any byte stream gives packages or ProtocolError, nothing else."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weldcell.drivers.ur.client import rtde_protocol as rp
from weldcell.errors import ProtocolError

FAST = settings(max_examples=100, deadline=None)


@FAST
@given(st.binary(max_size=4096), st.lists(st.integers(1, 64), min_size=1, max_size=64))
def test_package_reader_random_stream(data: bytes, cuts: list[int]) -> None:
    reader = rp.PackageReader(max_size=2048)
    pos = 0
    out: list[tuple[int, bytes]] = []
    try:
        for c in cuts * (len(data) // max(1, sum(cuts)) + 1):
            reader.feed(data[pos : pos + c])
            pos += c
            while (pkg := reader.next_package()) is not None:
                out.append(pkg)
            assert reader.pending <= 2048 + 64  # never more than one package plus one chunk
            if pos >= len(data):
                break
    except ProtocolError:
        return
    # without an error, the packages are exactly the framed prefix of the stream
    consumed = sum(3 + len(p) for _, p in out)
    assert consumed + reader.pending == min(pos, len(data))


@FAST
@given(st.lists(st.tuples(st.integers(0, 255), st.binary(max_size=300)), max_size=20), st.integers(1, 50))
def test_package_reader_round_trip(packages: list[tuple[int, bytes]], chunk: int) -> None:
    stream = b"".join(rp.pack_package(t, p) for t, p in packages)
    reader = rp.PackageReader()
    got = []
    for i in range(0, len(stream), chunk):
        reader.feed(stream[i : i + chunk])
        while (pkg := reader.next_package()) is not None:
            got.append(pkg)
    assert got == packages and reader.pending == 0


@FAST
@given(st.integers(0, 2), st.binary(max_size=2))
def test_package_reader_rejects_short_size(size: int, rest: bytes) -> None:
    reader = rp.PackageReader()
    reader.feed(struct.pack(">HB", size, ord("U")) + rest)
    with pytest.raises(ProtocolError):
        reader.next_package()


@given(st.integers(2049, 65535))
@settings(max_examples=50, deadline=None)
def test_package_reader_rejects_oversize_length_field(size: int) -> None:
    reader = rp.PackageReader(max_size=2048)
    reader.feed(struct.pack(">HB", size, ord("O")))
    with pytest.raises(ProtocolError, match="at most 2048"):
        reader.next_package()


@FAST
@given(st.binary(max_size=600), st.sampled_from([1, 2]))
def test_decode_text_message_random(payload: bytes, protocol: int) -> None:
    try:
        msg, src, level = rp.decode_text_message(payload, protocol)
    except ProtocolError:
        return
    assert isinstance(msg, str) and isinstance(src, str) and 0 <= level <= 255


@FAST
@given(st.text(max_size=200), st.text(max_size=50), st.integers(0, 3))
def test_text_message_round_trip(msg: str, src: str, level: int) -> None:
    m, s, lv = rp.decode_text_message(rp.encode_text_message(msg, src, level, 2), 2)
    assert lv == level
    assert msg.encode()[:255].decode(errors="replace") == m
    assert src.encode()[:255].decode(errors="replace") == s


@FAST
@given(st.binary(max_size=300), st.booleans())
def test_decode_setup_reply_random(payload: bytes, with_id: bool) -> None:
    try:
        rid, types = rp.decode_setup_reply(payload, with_id)
    except ProtocolError:
        assert with_id and not payload
        return
    assert 0 <= rid <= 255 and all(isinstance(t, str) for t in types)


_types = st.sampled_from(sorted(rp.TYPE_FORMATS))


@FAST
@given(st.lists(_types, min_size=1, max_size=12), st.binary(max_size=200), st.booleans())
def test_recipe_unpack_random_payload(types: list[str], payload: bytes, with_id: bool) -> None:
    recipe = rp.Recipe([f"f{i}" for i in range(len(types))], types, 1 if with_id else 0, with_id)
    try:
        values = recipe.unpack(payload)
    except ProtocolError:
        return
    assert len(payload) == recipe.size and list(values) == list(recipe.names)


@FAST
@given(st.data(), st.lists(_types, min_size=1, max_size=12), st.integers(1, 255))
def test_recipe_pack_unpack_round_trip(data: st.DataObject, types: list[str], rid: int) -> None:
    def value(t: str) -> object:
        scalar = {
            "BOOL": st.booleans(),
            "UINT8": st.integers(0, 255),
            "UINT32": st.integers(0, 2**32 - 1),
            "UINT64": st.integers(0, 2**64 - 1),
            "INT32": st.integers(-(2**31), 2**31 - 1),
            "DOUBLE": st.floats(allow_nan=False),
        }
        if t in scalar:
            return data.draw(scalar[t])
        width = rp.TYPE_WIDTH[t]
        elem = {
            "VECTOR3D": "DOUBLE",
            "VECTOR6D": "DOUBLE",
            "VECTOR6INT32": "INT32",
            "VECTOR6UINT32": "UINT32",
        }[t]
        return tuple(data.draw(scalar[elem]) for _ in range(width))

    values = [value(t) for t in types]
    recipe = rp.Recipe([f"f{i}" for i in range(len(types))], types, rid, with_id=True)
    payload = recipe.pack(values)
    assert rp.data_package_size(types, True) == 3 + len(payload)
    assert list(recipe.unpack(payload).values()) == values


@FAST
@given(st.text(max_size=300))
def test_split_names_and_field_types_random(csv: str) -> None:
    names = rp.split_names(csv)
    assert all(n and n == n.strip() and "," not in n for n in names)
    types = rp.field_types(names, rp.OUTPUT_FIELDS, (5, 11))
    assert len(types) == len(names) and all(t in rp.TYPE_FORMATS or t == rp.NOT_FOUND for t in types)
