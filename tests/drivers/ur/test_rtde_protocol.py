"""RTDE wire format: golden bytes from the RTDE guide's package layouts, and encode/decode round trips."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weldcell.drivers.ur.client import rtde_protocol as rp
from weldcell.errors import ProtocolError

# Golden packages, written out byte by byte from the layouts in the RTDE guide
# (uint16 BE size incl. 3-byte header, uint8 type, payload).


def test_request_protocol_version_golden() -> None:
    assert rp.pack_package(rp.REQUEST_PROTOCOL_VERSION, struct.pack(">H", 2)) == bytes.fromhex("0005560002")


def test_get_urcontrol_version_golden() -> None:
    assert rp.pack_package(rp.GET_URCONTROL_VERSION) == bytes.fromhex("000376")


def test_output_setup_v2_golden() -> None:
    payload = rp.encode_output_setup(["timestamp", "actual_q"], 500.0, protocol=2)
    # 500.0 as IEEE-754 double BE = 40 7F 40 00 00 00 00 00
    expected = bytes.fromhex("001d4f407f400000000000") + b"timestamp,actual_q"
    assert rp.pack_package(rp.CONTROL_PACKAGE_SETUP_OUTPUTS, payload) == expected


def test_output_setup_v1_has_no_frequency() -> None:
    assert rp.encode_output_setup(["timestamp"], 125.0, protocol=1) == b"timestamp"


def test_data_package_v2_golden() -> None:
    recipe = rp.Recipe(["timestamp", "robot_mode"], ["DOUBLE", "INT32"], 1, with_id=True)
    pkg = rp.pack_package(rp.DATA_PACKAGE, recipe.pack([1.5, 7]))
    assert pkg == bytes.fromhex("001055013ff800000000000000000007")


def test_data_package_v1_output_has_no_recipe_id() -> None:
    recipe = rp.Recipe(["timestamp"], ["DOUBLE"], 0, with_id=False)
    assert recipe.pack([1.5]) == bytes.fromhex("3ff8000000000000")


def test_text_message_v2_golden() -> None:
    payload = rp.encode_text_message("hi", "x", rp.MESSAGE_INFO, protocol=2)
    assert rp.pack_package(rp.TEXT_MESSAGE, payload) == bytes.fromhex("00094d026869017803")
    assert rp.decode_text_message(payload, 2) == ("hi", "x", 3)


def test_text_message_v1_is_level_then_text() -> None:
    assert rp.encode_text_message("ok", "", rp.MESSAGE_WARNING, protocol=1) == b"\x02ok"


def test_vector_types_layout() -> None:
    recipe = rp.Recipe(
        ["actual_q", "joint_mode", "actual_digital_input_bits"],
        ["VECTOR6D", "VECTOR6INT32", "UINT64"],
        3,
        with_id=True,
    )
    assert recipe.size == 1 + 48 + 24 + 8
    values = recipe.unpack(recipe.pack([(1.0, 2, 3, 4, 5, 6), (253,) * 6, 2**40]))
    assert values["actual_q"] == (1.0, 2.0, 3.0, 4.0, 5.0, 6.0)
    assert values["joint_mode"] == (253,) * 6
    assert values["actual_digital_input_bits"] == 2**40


def test_recipe_names_tolerate_trailing_comma() -> None:
    assert rp.split_names("timestamp,actual_q,") == ["timestamp", "actual_q"]


def test_field_table_versions() -> None:
    names = ["actual_q", "payload_inertia", "ft_raw_wrench", "no_such_field", "input_int_register_30"]
    assert rp.field_types(names, rp.OUTPUT_FIELDS, (5, 11)) == [
        "VECTOR6D",
        "VECTOR6D",
        "VECTOR6D",
        "NOT_FOUND",
        "INT32",
    ]
    # CB3 has no force/torque sensor field, and no upper registers before 3.9
    assert rp.field_types(names, rp.OUTPUT_FIELDS, (3, 5)) == [
        "VECTOR6D",
        "NOT_FOUND",
        "NOT_FOUND",
        "NOT_FOUND",
        "NOT_FOUND",
    ]


def test_reader_reassembles_fragmented_stream() -> None:
    a = rp.pack_package(rp.CONTROL_PACKAGE_START, b"\x01")
    b = rp.pack_package(rp.TEXT_MESSAGE, rp.encode_text_message("x" * 40, "src", 1))
    stream = a + b
    reader = rp.PackageReader()
    got = []
    for i in range(0, len(stream), 3):  # 3-byte fragments
        reader.feed(stream[i : i + 3])
        while (pkg := reader.next_package()) is not None:
            got.append(pkg)
    assert got == [(rp.CONTROL_PACKAGE_START, b"\x01"), (rp.TEXT_MESSAGE, b[3:])]
    assert reader.pending == 0


def test_reader_rejects_size_below_header() -> None:
    reader = rp.PackageReader()
    reader.feed(b"\x00\x02U")
    with pytest.raises(ProtocolError):
        reader.next_package()


def test_unpack_checks_recipe_id_and_size() -> None:
    recipe = rp.Recipe(["timestamp"], ["DOUBLE"], 2, with_id=True)
    with pytest.raises(ProtocolError):
        recipe.unpack(b"\x01" + struct.pack(">d", 1.0))
    with pytest.raises(ProtocolError):
        recipe.unpack(b"\x02\x00")


_SCALARS = {
    "BOOL": st.booleans(),
    "UINT8": st.integers(0, 255),
    "UINT32": st.integers(0, 2**32 - 1),
    "UINT64": st.integers(0, 2**64 - 1),
    "INT32": st.integers(-(2**31), 2**31 - 1),
    "DOUBLE": st.floats(allow_nan=False),
    "VECTOR3D": st.tuples(*[st.floats(allow_nan=False)] * 3),
    "VECTOR6D": st.tuples(*[st.floats(allow_nan=False)] * 6),
    "VECTOR6INT32": st.tuples(*[st.integers(-(2**31), 2**31 - 1)] * 6),
    "VECTOR6UINT32": st.tuples(*[st.integers(0, 2**32 - 1)] * 6),
}


@st.composite
def _recipe_and_values(draw: st.DrawFn) -> tuple[rp.Recipe, list[object]]:
    types = draw(st.lists(st.sampled_from(sorted(_SCALARS)), min_size=1, max_size=12))
    names = [f"f{i}" for i in range(len(types))]
    with_id = draw(st.booleans())
    rid = draw(st.integers(1, 255)) if with_id else 0
    values = [draw(_SCALARS[t]) for t in types]
    return rp.Recipe(names, types, rid, with_id), values


@settings(max_examples=150, deadline=None)
@given(_recipe_and_values())
def test_data_package_round_trip(rv: tuple[rp.Recipe, list[object]]) -> None:
    recipe, values = rv
    decoded = recipe.unpack(recipe.pack(values))
    assert [decoded[n] for n in recipe.names] == values


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=80), st.text(max_size=30), st.integers(0, 3))
def test_text_message_round_trip(msg: str, src: str, level: int) -> None:
    m = msg.encode()[:255].decode(errors="ignore")
    s = src.encode()[:255].decode(errors="ignore")
    out = rp.decode_text_message(rp.encode_text_message(m, s, level, 2), 2)
    assert out[2] == level
    assert out[0].startswith(m[:10]) or not m


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=300), min_size=1, max_size=8), st.integers(1, 17))
def test_framing_round_trip(payloads: list[bytes], chunk: int) -> None:
    stream = b"".join(rp.pack_package(rp.DATA_PACKAGE, p) for p in payloads)
    reader = rp.PackageReader()
    got = []
    for i in range(0, len(stream), chunk):
        reader.feed(stream[i : i + chunk])
        while (pkg := reader.next_package()) is not None:
            got.append(pkg[1])
    assert got == payloads
