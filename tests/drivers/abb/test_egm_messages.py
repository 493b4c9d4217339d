"""Our EGM message classes (built from our own schema) against ABB's descriptor as shipped in
abb-robot-client's ``egm_pb2``: same field numbers and types, the same bytes both ways."""

from __future__ import annotations

import numpy as np
import pytest
from google.protobuf import descriptor_pb2
from hypothesis import given, settings
from hypothesis import strategies as st

from weldcell.drivers.abb import egm_messages as ours
from weldcell.drivers.abb.driver import decode_robot, encode_sensor
from weldcell.errors import ProtocolError

egm_pb2 = pytest.importorskip(
    "abb_robot_client._egm_protobuf.egm_pb2", reason="abb-robot-client==0.4.0 (test extra)"
)

finite = st.floats(-1e4, 1e4, allow_nan=False)


def _fields(file_descriptor: object) -> dict[str, set[tuple[int, str, int, int, str]]]:
    p = descriptor_pb2.FileDescriptorProto()
    file_descriptor.CopyToProto(p)  # type: ignore[attr-defined]
    return {
        m.name: {(f.number, f.name, f.label, f.type, f.type_name) for f in m.field} for m in p.message_type
    }


def test_schema_matches_abb_descriptor() -> None:
    mine = _fields(ours.EgmRobot.DESCRIPTOR.file)
    abb = _fields(egm_pb2.DESCRIPTOR)
    assert mine == abb


@settings(max_examples=80, deadline=None)
@given(
    seq=st.integers(0, 2**32 - 1),
    tm=st.integers(0, 2**32 - 1),
    q=st.lists(finite, min_size=6, max_size=6),
    qd=st.lists(finite, min_size=6, max_size=6),
    arc=st.booleans(),
    dout=st.integers(0, 2**16 - 1),
)
def test_sensor_reply_decodes_with_abb_classes(
    seq: int, tm: int, q: list[float], qd: list[float], arc: bool, dout: int
) -> None:
    data = encode_sensor(seq, tm, np.array(q), np.array(qd), arc, dout)
    m = egm_pb2.EgmSensor()
    m.ParseFromString(data)
    assert m.header.seqno == seq and m.header.tm == tm
    assert m.header.mtype == egm_pb2.EgmHeader.MSGTYPE_CORRECTION
    assert list(m.planned.joints.joints) == q and list(m.speedRef.joints.joints) == qd
    assert m.RAPIDtoRobot.digVal == arc and list(m.RAPIDtoRobot.dnum) == [float(dout)]


@settings(max_examples=80, deadline=None)
@given(
    seq=st.integers(0, 2**32 - 1),
    q=st.lists(finite, min_size=6, max_size=6),
    rapid=st.sampled_from([1, 2]),
    dnum=st.lists(st.integers(0, 255), max_size=2),
)
def test_abb_robot_message_decodes(seq: int, q: list[float], rapid: int, dnum: list[int]) -> None:
    m = egm_pb2.EgmRobot()
    m.header.seqno = seq
    m.header.mtype = egm_pb2.EgmHeader.MSGTYPE_DATA
    m.feedBack.joints.joints.extend(q)
    m.rapidExecState.state = rapid
    if dnum:
        m.RAPIDfromRobot.dnum.extend(float(v) for v in dnum)
    r = decode_robot(m.SerializeToString())
    assert r.seqno == seq and r.tm is None and list(r.q_deg) == q
    assert r.rapid_running is (rapid == 2) and r.motors_on is None and r.planned_deg is None
    assert r.dout == (dnum[0] if dnum else None) and r.din == (dnum[1] if len(dnum) > 1 else None)


def test_malformed_robot_messages() -> None:
    with pytest.raises(ProtocolError, match="not an EgmRobot"):
        decode_robot(b"\xff\xff\xff")
    m = egm_pb2.EgmRobot()
    m.header.seqno = 1
    with pytest.raises(ProtocolError, match=r"feedBack\.joints"):
        decode_robot(m.SerializeToString())
