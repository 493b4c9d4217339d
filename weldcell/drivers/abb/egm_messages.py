"""ABB EGM (Externally Guided Motion) messages: protobuf classes built at run time from our own schema.

Where the descriptor comes from: no ``.proto`` file of ABB's is copied, vendored or compiled here, and
the peer package's generated module is not used. The schema table below is written from the facts of
ABB's ``egm.proto`` (proto2, package ``abb.egm``: message names, field names, numbers, labels and
types) as published with RobotWare's EGM option and in ros-industrial/abb_libegm's README, and as
collected in the project's protocol notes (controller-protocols.md §4, docs/drivers.md ABB
section). :func:`_file_descriptor` turns the table into a ``FileDescriptorProto`` with protobuf's
runtime descriptor API, and ``google.protobuf.message_factory.GetMessageClass`` makes the message
classes in a descriptor pool of our own (so they never clash with another package's ``abb.egm``
classes in protobuf's default pool). No protoc step, no generated file to keep in sync.

Wire compatibility with ABB's definition is tested against the ``egm_pb2`` that abb-robot-client
ships (tests/drivers/abb/test_egm_messages.py): the same bytes decode to the same values both ways.

Units on the wire (ABB's): joints in degrees, positions in mm, speeds in deg/s or mm/s, header
``tm`` in ms.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto
_OPT, _REQ, _REP = _F.LABEL_OPTIONAL, _F.LABEL_REQUIRED, _F.LABEL_REPEATED
_DOUBLE, _UINT32, _UINT64, _BOOL = _F.TYPE_DOUBLE, _F.TYPE_UINT32, _F.TYPE_UINT64, _F.TYPE_BOOL
_MSG, _ENUM = _F.TYPE_MESSAGE, _F.TYPE_ENUM

PACKAGE = "abb.egm"

# message -> [(number, name, label, type, type name or None)]; nested enums in _ENUMS
_MESSAGES: dict[str, list[tuple[int, str, int, int, str | None]]] = {
    "EgmHeader": [
        (1, "seqno", _OPT, _UINT32, None),
        (2, "tm", _OPT, _UINT32, None),
        (3, "mtype", _OPT, _ENUM, "EgmHeader.MessageType"),
    ],
    "EgmCartesian": [
        (1, "x", _REQ, _DOUBLE, None),
        (2, "y", _REQ, _DOUBLE, None),
        (3, "z", _REQ, _DOUBLE, None),
    ],
    "EgmQuaternion": [(i + 1, f"u{i}", _REQ, _DOUBLE, None) for i in range(4)],
    "EgmEuler": [(1, "x", _REQ, _DOUBLE, None), (2, "y", _REQ, _DOUBLE, None), (3, "z", _REQ, _DOUBLE, None)],
    "EgmClock": [(1, "sec", _REQ, _UINT64, None), (2, "usec", _REQ, _UINT64, None)],
    "EgmPose": [
        (1, "pos", _OPT, _MSG, "EgmCartesian"),
        (2, "orient", _OPT, _MSG, "EgmQuaternion"),
        (3, "euler", _OPT, _MSG, "EgmEuler"),
    ],
    "EgmCartesianSpeed": [(1, "value", _REP, _DOUBLE, None)],
    "EgmJoints": [(1, "joints", _REP, _DOUBLE, None)],
    "EgmExternalJoints": [(1, "joints", _REP, _DOUBLE, None)],
    "EgmPlanned": [
        (1, "joints", _OPT, _MSG, "EgmJoints"),
        (2, "cartesian", _OPT, _MSG, "EgmPose"),
        (3, "externalJoints", _OPT, _MSG, "EgmJoints"),
        (4, "time", _OPT, _MSG, "EgmClock"),
    ],
    "EgmSpeedRef": [
        (1, "joints", _OPT, _MSG, "EgmJoints"),
        (2, "cartesians", _OPT, _MSG, "EgmCartesianSpeed"),
        (3, "externalJoints", _OPT, _MSG, "EgmJoints"),
    ],
    "EgmPathCorr": [(1, "pos", _REQ, _MSG, "EgmCartesian"), (2, "age", _REQ, _UINT32, None)],
    "EgmFeedBack": [
        (1, "joints", _OPT, _MSG, "EgmJoints"),
        (2, "cartesian", _OPT, _MSG, "EgmPose"),
        (3, "externalJoints", _OPT, _MSG, "EgmJoints"),
        (4, "time", _OPT, _MSG, "EgmClock"),
    ],
    "EgmMotorState": [(1, "state", _REQ, _ENUM, "EgmMotorState.MotorStateType")],
    "EgmMCIState": [(1, "state", _REQ, _ENUM, "EgmMCIState.MCIStateType")],
    "EgmRapidCtrlExecState": [(1, "state", _REQ, _ENUM, "EgmRapidCtrlExecState.RapidCtrlExecStateType")],
    "EgmTestSignals": [(1, "signals", _REP, _DOUBLE, None)],
    "EgmMeasuredForce": [(1, "fcActive", _OPT, _BOOL, None), (2, "force", _REP, _DOUBLE, None)],
    "EgmCollisionInfo": [
        (1, "collsionTriggered", _OPT, _BOOL, None),
        (2, "collDetQuota", _REP, _DOUBLE, None),
    ],
    "EgmRAPIDdata": [(1, "digVal", _OPT, _BOOL, None), (2, "dnum", _REP, _DOUBLE, None)],
    "EgmRobot": [
        (1, "header", _OPT, _MSG, "EgmHeader"),
        (2, "feedBack", _OPT, _MSG, "EgmFeedBack"),
        (3, "planned", _OPT, _MSG, "EgmPlanned"),
        (4, "motorState", _OPT, _MSG, "EgmMotorState"),
        (5, "mciState", _OPT, _MSG, "EgmMCIState"),
        (6, "mciConvergenceMet", _OPT, _BOOL, None),
        (7, "testSignals", _OPT, _MSG, "EgmTestSignals"),
        (8, "rapidExecState", _OPT, _MSG, "EgmRapidCtrlExecState"),
        (9, "measuredForce", _OPT, _MSG, "EgmMeasuredForce"),
        (10, "utilizationRate", _OPT, _DOUBLE, None),
        (11, "moveIndex", _OPT, _UINT32, None),
        (12, "CollisionInfo", _OPT, _MSG, "EgmCollisionInfo"),
        (13, "RAPIDfromRobot", _OPT, _MSG, "EgmRAPIDdata"),
    ],
    "EgmSensor": [
        (1, "header", _OPT, _MSG, "EgmHeader"),
        (2, "planned", _OPT, _MSG, "EgmPlanned"),
        (3, "speedRef", _OPT, _MSG, "EgmSpeedRef"),
        (4, "RAPIDtoRobot", _OPT, _MSG, "EgmRAPIDdata"),
    ],
    "EgmSensorPathCorr": [(1, "header", _OPT, _MSG, "EgmHeader"), (2, "pathCorr", _OPT, _MSG, "EgmPathCorr")],
}

_ENUMS: dict[str, tuple[str, list[tuple[str, int]]]] = {
    "EgmHeader": (
        "MessageType",
        [
            ("MSGTYPE_UNDEFINED", 0),
            ("MSGTYPE_COMMAND", 1),
            ("MSGTYPE_DATA", 2),
            ("MSGTYPE_CORRECTION", 3),
            ("MSGTYPE_PATH_CORRECTION", 4),
        ],
    ),
    "EgmMotorState": ("MotorStateType", [("MOTORS_UNDEFINED", 0), ("MOTORS_ON", 1), ("MOTORS_OFF", 2)]),
    "EgmMCIState": (
        "MCIStateType",
        [("MCI_UNDEFINED", 0), ("MCI_ERROR", 1), ("MCI_STOPPED", 2), ("MCI_RUNNING", 3)],
    ),
    "EgmRapidCtrlExecState": (
        "RapidCtrlExecStateType",
        [("RAPID_UNDEFINED", 0), ("RAPID_STOPPED", 1), ("RAPID_RUNNING", 2)],
    ),
}

# message type values used by weldcell (EgmHeader.MessageType)
MSGTYPE_DATA = 2
MSGTYPE_CORRECTION = 3
MOTORS_ON, MOTORS_OFF = 1, 2
MCI_ERROR, MCI_STOPPED, MCI_RUNNING = 1, 2, 3
RAPID_STOPPED, RAPID_RUNNING = 1, 2


def _file_descriptor() -> descriptor_pb2.FileDescriptorProto:
    fdp = descriptor_pb2.FileDescriptorProto(name="weldcell_egm.proto", package=PACKAGE, syntax="proto2")
    for name, fields in _MESSAGES.items():
        msg = fdp.message_type.add(name=name)
        if name in _ENUMS:
            ename, values = _ENUMS[name]
            enum = msg.enum_type.add(name=ename)
            for vname, number in values:
                enum.value.add(name=vname, number=number)
        for number, fname, label, ftype, tname in fields:
            f = msg.field.add(name=fname, number=number, label=label, type=ftype)
            if tname is not None:
                f.type_name = f".{PACKAGE}.{tname}"
    return fdp


_POOL = descriptor_pool.DescriptorPool()
_POOL.Add(_file_descriptor())


def _cls(name: str) -> Any:
    return message_factory.GetMessageClass(_POOL.FindMessageTypeByName(f"{PACKAGE}.{name}"))


#: Robot -> sensor message class (one per EGM cycle).
EgmRobot: Any = _cls("EgmRobot")
#: Sensor -> robot message class (the reply carrying the planned joints).
EgmSensor: Any = _cls("EgmSensor")
#: Sensor -> robot path correction message class.
EgmSensorPathCorr: Any = _cls("EgmSensorPathCorr")
