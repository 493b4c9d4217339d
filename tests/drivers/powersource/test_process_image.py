"""Process-image encoding: round trips (hypothesis), bit packing, configuration from YAML."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weldcell.drivers.powersource.base import (
    MAX_ARC_LENGTH_CORRECTION,
    MAX_CURRENT,
    MAX_JOB,
    MAX_VOLTAGE,
    MAX_WIRE_FEED,
    PowerSourceStatus,
    PowerSourceValueError,
    WeldParams,
)
from weldcell.drivers.powersource.image import (
    ProcessImage,
    RegisterSignal,
    RobotOutputs,
    decode_coils,
    decode_commands,
    decode_status,
    decode_status_registers,
    encode_coils,
    encode_commands,
    encode_status,
    load_process_image,
    pack_bits,
    saturate_word,
    unpack_bits,
)

IMG = ProcessImage()

weld_params = st.builds(
    WeldParams,
    wire_feed=st.floats(0, MAX_WIRE_FEED),
    voltage=st.floats(0, MAX_VOLTAGE),
    current=st.floats(0, MAX_CURRENT),
    arc_length_correction=st.floats(-MAX_ARC_LENGTH_CORRECTION, MAX_ARC_LENGTH_CORRECTION),
    job=st.integers(0, MAX_JOB),
)

statuses = st.builds(
    PowerSourceStatus,
    ready=st.booleans(),
    process_active=st.booleans(),
    current_flow=st.booleans(),
    arc_stable=st.booleans(),
    motion_release=st.booleans(),
    wire_stick=st.booleans(),
    warning=st.booleans(),
    error_code=st.integers(0, 7),
    current=st.floats(0, MAX_CURRENT),
    voltage=st.floats(0, MAX_VOLTAGE),
    wire_feed=st.floats(0, MAX_WIRE_FEED),
    heartbeat=st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 0xFFFF), st.floats(1e-4, 10.0), st.booleans())
def test_register_word_round_trip(word: int, scale: float, signed: bool) -> None:
    sig = RegisterSignal(5, scale, signed)
    assert sig.encode(sig.decode(word)) == word


@settings(max_examples=150, deadline=None)
@given(weld_params)
def test_commands_round_trip_within_one_count(p: WeldParams) -> None:
    start, words = encode_commands(IMG, p)
    assert all(0 <= w <= 0xFFFF for w in words)
    q = decode_commands(IMG, start, words)
    assert q.job == p.job
    assert abs(q.wire_feed - p.wire_feed) <= IMG.wire_feed_command.scale / 2 + 1e-12
    assert abs(q.voltage - p.voltage) <= IMG.voltage_command.scale / 2 + 1e-12
    assert abs(q.current - p.current) <= IMG.current_command.scale / 2 + 1e-12
    assert (
        abs(q.arc_length_correction - p.arc_length_correction) <= IMG.arc_length_correction.scale / 2 + 1e-12
    )


@settings(max_examples=150, deadline=None)
@given(statuses)
def test_status_round_trip(s: PowerSourceStatus) -> None:
    bits, regs = encode_status(IMG, s)
    d = decode_status(IMG, bits, regs)
    for name in (
        "ready",
        "process_active",
        "current_flow",
        "arc_stable",
        "motion_release",
        "wire_stick",
        "warning",
    ):
        assert getattr(d, name) == getattr(s, name), name
    assert d.error_code == s.error_code
    assert abs(d.current - s.current) <= 0.05 + 1e-9
    assert abs(d.voltage - s.voltage) <= 0.005 + 1e-9
    assert abs(d.wire_feed - s.wire_feed) <= IMG.wire_feed.scale / 2 + 1e-12
    # the status word mirrors the discrete inputs bit by bit
    word = regs[IMG.status_word.address - IMG.input_span()[0]]
    assert unpack_bits([word], len(bits)) == bits
    assert bits[IMG.error] == (s.error_code != 0)
    # the client's one-request path (status word + values) gives the same status
    assert decode_status_registers(IMG, regs) == d


@settings(max_examples=100, deadline=None)
@given(st.lists(st.booleans(), min_size=0, max_size=70))
def test_pack_bits_lsb_first(bits: list[bool]) -> None:
    words = pack_bits(bits)
    assert unpack_bits(words, len(bits)) == bits
    assert all(0 <= w <= 0xFFFF for w in words)
    if bits:
        assert (words[0] & 1) == int(bits[0])


@settings(max_examples=60, deadline=None)
@given(st.builds(RobotOutputs, *(st.booleans() for _ in range(7))))
def test_coils_round_trip(o: RobotOutputs) -> None:
    start, values = encode_coils(IMG, o)
    assert decode_coils(IMG, start, values) == o


def test_signed_register_two_complement() -> None:
    sig = RegisterSignal(4, 0.1, signed=True)
    assert sig.encode(-1.0) == 0xFFF6
    assert sig.decode(0xFFF6) == pytest.approx(-1.0)
    with pytest.raises(PowerSourceValueError, match="does not fit"):
        sig.encode(4000.0)
    with pytest.raises(PowerSourceValueError, match="not finite"):
        sig.encode(float("nan"))


def test_weld_params_reject_out_of_range() -> None:
    with pytest.raises(PowerSourceValueError, match="current"):
        WeldParams(current=900.0)
    with pytest.raises(PowerSourceValueError, match="job"):
        WeldParams(job=1000)


def test_image_yaml_round_trip_and_errors(tmp_path: Path) -> None:
    import yaml

    custom = ProcessImage.from_mapping({"welding_start": 9, "current": {"address": 7, "scale": 1.0}})
    assert custom.welding_start == 9 and custom.current == RegisterSignal(7, 1.0)
    path = tmp_path / "image.yaml"
    path.write_text(yaml.safe_dump(custom.to_mapping()))
    assert load_process_image(path) == custom
    with pytest.raises(PowerSourceValueError, match="unknown signal"):
        ProcessImage.from_mapping({"weld_strat": 3})
    with pytest.raises(PowerSourceValueError, match="share an address"):
        ProcessImage(welding_start=1)
    with pytest.raises(PowerSourceValueError, match="0 … 15"):
        ProcessImage(error=20)


@settings(max_examples=300, deadline=None)
@given(
    value=st.floats(allow_nan=True, allow_infinity=True),
    scale=st.floats(1e-4, 1e3),
    signed=st.booleans(),
)
def test_measurement_saturates_at_the_register_range(value: float, scale: float, signed: bool) -> None:
    """Any float, however large, encodes to the nearest representable word (NaN: 0), never raises."""
    sig = RegisterSignal(1, scale, signed)
    word = saturate_word(sig, value)
    assert 0 <= word <= 0xFFFF
    back = sig.decode(word)
    if math.isnan(value):
        assert word == 0
        return
    lo, hi = sig.raw_min * scale, sig.raw_max * scale
    expected = min(max(value, lo), hi)
    assert abs(back - expected) <= scale / 2 + 1e-9 * max(abs(lo), abs(hi))


huge_statuses = st.builds(
    PowerSourceStatus,
    error_code=st.integers(-(2**80), 2**80),
    current=st.floats(allow_nan=True, allow_infinity=True),
    voltage=st.floats(allow_nan=True, allow_infinity=True),
    wire_feed=st.floats(allow_nan=True, allow_infinity=True),
    process_active=st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(huge_statuses)
def test_status_encoder_never_overflows(s: PowerSourceStatus) -> None:
    """Huge but finite actual values (and error numbers) encode saturated and decode in range."""
    bits, regs = encode_status(IMG, s)
    assert all(0 <= w <= 0xFFFF for w in regs)
    d = decode_status_registers(IMG, regs)
    assert d.process_active == s.process_active
    assert d.error_code == (s.error_code if 0 <= s.error_code <= 0xFFFF else 0xFFFF)
    assert (d.error_code != 0) == bits[IMG.error]
    for name in ("current", "voltage", "wire_feed"):
        v = getattr(s, name)
        sig = getattr(IMG, name)
        top = sig.raw_max * sig.scale
        if math.isnan(v):
            assert getattr(d, name) == 0.0
        elif v >= top:
            assert getattr(d, name) == pytest.approx(top)
        elif v <= 0:
            assert getattr(d, name) == 0.0
        else:
            assert getattr(d, name) == pytest.approx(v, abs=sig.scale / 2 + 1e-12)
