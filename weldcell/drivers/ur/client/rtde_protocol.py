"""RTDE wire format: package framing, field/type tables and recipe (de)serialisation.

Shared by our RTDE client (:mod:`weldcell.drivers.ur.client.rtde_client`) and the virtual controller's RTDE
server. Facts from UR's RTDE guide
(https://docs.universal-robots.com/tutorials/communication-protocol-tutorials/rtde-guide.html) and
the field/type table of UR's client library (``Universal_Robots_Client_Library``,
``src/rtde/data_package.cpp``); see ``shared/reference/controller-protocols.md`` section 1.1.

Every package is ``uint16 BE size`` (header included) + ``uint8 type`` + payload; all values are
big-endian. Output data packages carry a leading ``uint8 recipe_id`` only in protocol version 2.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from weldcell.errors import InvalidValueError, ProtocolError

HEADER = struct.Struct(">HB")
HEADER_SIZE = 3
MAX_PACKAGE_SIZE = 0xFFFF

# Package types (ASCII letters).
REQUEST_PROTOCOL_VERSION = ord("V")
GET_URCONTROL_VERSION = ord("v")
TEXT_MESSAGE = ord("M")
DATA_PACKAGE = ord("U")
CONTROL_PACKAGE_SETUP_OUTPUTS = ord("O")
CONTROL_PACKAGE_SETUP_INPUTS = ord("I")
CONTROL_PACKAGE_START = ord("S")
CONTROL_PACKAGE_PAUSE = ord("P")

# Text message levels (RTDE guide, "RTDE_TEXT_MESSAGE").
MESSAGE_EXCEPTION = 0
MESSAGE_ERROR = 1
MESSAGE_WARNING = 2
MESSAGE_INFO = 3

NOT_FOUND = "NOT_FOUND"
IN_USE = "IN_USE"

#: struct format per RTDE type name.
TYPE_FORMATS: dict[str, str] = {
    "BOOL": "?",
    "UINT8": "B",
    "UINT32": "I",
    "UINT64": "Q",
    "INT32": "i",
    "DOUBLE": "d",
    "VECTOR3D": "3d",
    "VECTOR6D": "6d",
    "VECTOR6INT32": "6i",
    "VECTOR6UINT32": "6I",
}
#: number of scalar values per RTDE type.
TYPE_WIDTH: dict[str, int] = {
    "BOOL": 1,
    "UINT8": 1,
    "UINT32": 1,
    "UINT64": 1,
    "INT32": 1,
    "DOUBLE": 1,
    "VECTOR3D": 3,
    "VECTOR6D": 6,
    "VECTOR6INT32": 6,
    "VECTOR6UINT32": 6,
}

Version = tuple[int, int]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One RTDE field: its type and the controller versions that have it.

    Attributes:
        type: RTDE type name (key of :data:`TYPE_FORMATS`).
        since_cb3: First CB3 (major 3) version with the field, None if CB3 lacks it.
        since_e: First e-Series (major 5) version with the field, None if e-Series lacks it.
    """

    type: str
    since_cb3: Version | None = (3, 0)
    since_e: Version | None = (5, 0)

    def available(self, version: Version) -> bool:
        """True if a controller of ``version`` (major, minor) knows this field."""
        since = self.since_cb3 if version[0] < 5 else self.since_e
        return since is not None and version >= since


_E = FieldSpec  # short alias for the table below


def _e_only(t: str, since: Version = (5, 0)) -> FieldSpec:
    return FieldSpec(t, None, since)


def _both(t: str, cb3: Version, e: Version) -> FieldSpec:
    return FieldSpec(t, cb3, e)


#: Output fields (controller -> client). Version boundaries follow the RTDE guide's "introduced in"
#: column where we know it; fields whose origin we could not pin are given the oldest version.
OUTPUT_FIELDS: dict[str, FieldSpec] = {
    "timestamp": _E("DOUBLE"),
    "target_q": _E("VECTOR6D"),
    "target_qd": _E("VECTOR6D"),
    "target_qdd": _E("VECTOR6D"),
    "target_current": _E("VECTOR6D"),
    "target_moment": _E("VECTOR6D"),
    "actual_q": _E("VECTOR6D"),
    "actual_qd": _E("VECTOR6D"),
    "actual_current": _E("VECTOR6D"),
    "actual_current_window": _e_only("VECTOR6D", (5, 23)),
    "actual_current_as_torque": _e_only("VECTOR6D", (5, 23)),
    "joint_control_output": _E("VECTOR6D"),
    "actual_TCP_pose": _E("VECTOR6D"),
    "actual_TCP_speed": _E("VECTOR6D"),
    "actual_TCP_force": _E("VECTOR6D"),
    "target_TCP_pose": _E("VECTOR6D"),
    "target_TCP_speed": _E("VECTOR6D"),
    "actual_digital_input_bits": _E("UINT64"),
    "joint_temperatures": _E("VECTOR6D"),
    "actual_execution_time": _E("DOUBLE"),
    "robot_mode": _E("INT32"),
    "joint_mode": _E("VECTOR6INT32"),
    "safety_mode": _E("INT32"),
    "safety_status": _e_only("INT32", (5, 4)),
    "actual_tool_accelerometer": _E("VECTOR3D"),
    "speed_scaling": _E("DOUBLE"),
    "target_speed_fraction": _E("DOUBLE"),
    "actual_momentum": _E("DOUBLE"),
    "actual_main_voltage": _E("DOUBLE"),
    "actual_robot_voltage": _E("DOUBLE"),
    "actual_robot_current": _E("DOUBLE"),
    "actual_joint_voltage": _E("VECTOR6D"),
    "actual_digital_output_bits": _E("UINT64"),
    "runtime_state": _E("UINT32"),
    "elbow_position": _both("VECTOR3D", (3, 5), (5, 0)),
    "elbow_velocity": _both("VECTOR3D", (3, 5), (5, 0)),
    "robot_status_bits": _E("UINT32"),
    "safety_status_bits": _E("UINT32"),
    "analog_io_types": _E("UINT32"),
    "standard_analog_input0": _E("DOUBLE"),
    "standard_analog_input1": _E("DOUBLE"),
    "standard_analog_output0": _E("DOUBLE"),
    "standard_analog_output1": _E("DOUBLE"),
    "io_current": _E("DOUBLE"),
    "euromap67_input_bits": _E("UINT32"),
    "euromap67_output_bits": _E("UINT32"),
    "euromap67_24V_voltage": _E("DOUBLE"),
    "euromap67_24V_current": _E("DOUBLE"),
    "tool_mode": _E("UINT32"),
    "tool_analog_input_types": _E("UINT32"),
    "tool_analog_input0": _E("DOUBLE"),
    "tool_analog_input1": _E("DOUBLE"),
    "tool_output_voltage": _E("INT32"),
    "tool_output_current": _E("DOUBLE"),
    "tool_temperature": _E("DOUBLE"),
    "tcp_force_scalar": _E("DOUBLE"),
    "output_bit_registers0_to_31": _E("UINT32"),
    "output_bit_registers32_to_63": _E("UINT32"),
    "payload": _both("DOUBLE", (3, 11), (5, 5)),
    "payload_cog": _both("VECTOR3D", (3, 11), (5, 5)),
    "payload_inertia": _both("VECTOR6D", (3, 15), (5, 11)),
    "script_control_line": _both("UINT32", (3, 14), (5, 9)),
    "ft_raw_wrench": _e_only("VECTOR6D", (5, 9)),
    "joint_position_deviation_ratio": _e_only("DOUBLE", (5, 11)),
    "collision_detection_ratio": _e_only("DOUBLE", (5, 11)),
    "time_scale_source": _e_only("INT32", (5, 11)),
    "tcp_offset": _e_only("VECTOR6D", (5, 6)),
}

#: Input fields (client -> controller).
INPUT_FIELDS: dict[str, FieldSpec] = {
    "speed_slider_mask": _E("UINT32"),
    "speed_slider_fraction": _E("DOUBLE"),
    "standard_digital_output_mask": _E("UINT8"),
    "standard_digital_output": _E("UINT8"),
    "configurable_digital_output_mask": _E("UINT8"),
    "configurable_digital_output": _E("UINT8"),
    "tool_digital_output_mask": _E("UINT8"),
    "tool_digital_output": _E("UINT8"),
    "standard_analog_output_mask": _E("UINT8"),
    "standard_analog_output_type": _E("UINT8"),
    "standard_analog_output_0": _E("DOUBLE"),
    "standard_analog_output_1": _E("DOUBLE"),
    "input_bit_registers0_to_31": _E("UINT32"),
    "input_bit_registers32_to_63": _E("UINT32"),
    "external_force_torque": _both("VECTOR6D", (3, 3), (5, 0)),
    "ft_rtde_input_enable": _e_only("BOOL", (5, 9)),
}


def _add_registers() -> None:
    for i in range(64, 128):
        OUTPUT_FIELDS[f"output_bit_register_{i}"] = _both("BOOL", (3, 9), (5, 3))
        INPUT_FIELDS[f"input_bit_register_{i}"] = _both("BOOL", (3, 9), (5, 3))
    for i in range(48):
        upper = i >= 24
        since_cb3, since_e = ((3, 9), (5, 3)) if upper else ((3, 4), (5, 0))
        OUTPUT_FIELDS[f"output_int_register_{i}"] = _both("INT32", since_cb3, since_e)
        OUTPUT_FIELDS[f"output_double_register_{i}"] = _both("DOUBLE", since_cb3, since_e)
        INPUT_FIELDS[f"input_int_register_{i}"] = _both("INT32", since_cb3, since_e)
        INPUT_FIELDS[f"input_double_register_{i}"] = _both("DOUBLE", since_cb3, since_e)
    # Input registers and bits can be read back as outputs (RTDE guide, "input ... as output").
    for name, spec in list(INPUT_FIELDS.items()):
        if name.startswith(("input_int_register_", "input_double_register_", "input_bit_register")):
            OUTPUT_FIELDS[name] = spec


_add_registers()


def split_names(csv: str) -> list[str]:
    """Split a recipe's comma separated names, tolerating a trailing comma (ur_rtde sends one)."""
    return [n.strip() for n in csv.split(",") if n.strip()]


# --- framing -------------------------------------------------------------------------------------


def pack_package(ptype: int, payload: bytes = b"") -> bytes:
    """One RTDE package: header (size, type) + payload."""
    size = HEADER_SIZE + len(payload)
    if size > MAX_PACKAGE_SIZE:
        raise ProtocolError(f"RTDE package of {size} bytes exceeds the 65535-byte limit")
    return HEADER.pack(size, ptype) + payload


class PackageReader:
    """Re-assembles RTDE packages from a TCP byte stream.

    Feed bytes with :meth:`feed`; :meth:`next_package` returns ``(type, payload)`` or None when a
    complete package has not arrived yet. Popping a package costs O(its size) (bytearray removes a
    prefix in place), so a stream of tiny packages is not rescanned.

    Args:
        max_size: Largest package [bytes, header included] accepted; a header announcing more
            raises :class:`ProtocolError` (the caller closes the connection). At most 65535, the
            largest value of the 16-bit size field.
    """

    def __init__(self, max_size: int = MAX_PACKAGE_SIZE) -> None:
        if not HEADER_SIZE <= max_size <= MAX_PACKAGE_SIZE:
            raise InvalidValueError(
                f"max_size must be {HEADER_SIZE} ... {MAX_PACKAGE_SIZE} bytes, got {max_size}"
            )
        self.max_size = max_size
        self._buf = bytearray()

    def feed(self, data: bytes) -> None:
        """Append received bytes."""
        self._buf += data

    def next_package(self) -> tuple[int, bytes] | None:
        """Pop the next complete package or return None."""
        if len(self._buf) < HEADER_SIZE:
            return None
        size, ptype = HEADER.unpack_from(self._buf)
        if size < HEADER_SIZE:
            raise ProtocolError(f"RTDE package header with size {size} < 3 bytes")
        if size > self.max_size:
            raise ProtocolError(
                f"RTDE package header announces {size} bytes; at most {self.max_size} accepted"
            )
        if len(self._buf) < size:
            return None
        payload = bytes(self._buf[HEADER_SIZE:size])
        del self._buf[:size]
        return ptype, payload

    @property
    def pending(self) -> int:
        """Number of buffered bytes not yet returned as packages."""
        return len(self._buf)


# --- control payloads ----------------------------------------------------------------------------


def encode_text_message(message: str, source: str, level: int, protocol: int = 2) -> bytes:
    """Payload of a TEXT_MESSAGE: v2 ``len,msg,len,source,level``; v1 ``level`` + message."""
    if protocol == 1:
        return struct.pack(">B", level) + message.encode()
    m = message.encode()[:255]
    s = source.encode()[:255]
    return struct.pack(">B", len(m)) + m + struct.pack(">B", len(s)) + s + struct.pack(">B", level)


def decode_text_message(payload: bytes, protocol: int = 2) -> tuple[str, str, int]:
    """Inverse of :func:`encode_text_message`: ``(message, source, level)``."""
    try:
        if protocol == 1:
            return payload[1:].decode(errors="replace"), "", payload[0]
        n = payload[0]
        msg = payload[1 : 1 + n].decode(errors="replace")
        k = payload[1 + n]
        src = payload[2 + n : 2 + n + k].decode(errors="replace")
        level = payload[2 + n + k]
    except IndexError as err:
        raise ProtocolError(f"truncated RTDE text message payload {payload!r}") from err
    return msg, src, level


def encode_output_setup(names: Sequence[str], frequency: float, protocol: int = 2) -> bytes:
    """Client request payload for CONTROL_PACKAGE_SETUP_OUTPUTS."""
    csv = ",".join(names).encode()
    return (struct.pack(">d", frequency) + csv) if protocol >= 2 else csv


def decode_setup_reply(payload: bytes, with_id: bool = True) -> tuple[int, list[str]]:
    """``(recipe_id, types)`` from a setup reply (v1 output replies have no id: returns 0)."""
    if with_id:
        if not payload:
            raise ProtocolError("empty RTDE setup reply")
        return payload[0], split_names(payload[1:].decode(errors="replace"))
    return 0, split_names(payload.decode(errors="replace"))


# --- recipes -------------------------------------------------------------------------------------


class Recipe:
    """A list of RTDE fields with their types and the struct that packs a data package.

    Args:
        names: Field names in order.
        types: RTDE type per field (same length).
        recipe_id: Recipe id (0 for a v1 output recipe, which carries no id on the wire).
        with_id: Whether data packages of this recipe start with the uint8 recipe id.
    """

    def __init__(self, names: Sequence[str], types: Sequence[str], recipe_id: int, with_id: bool) -> None:
        if len(names) != len(types):
            raise ProtocolError(f"recipe has {len(names)} names but {len(types)} types")
        bad = [t for t in types if t not in TYPE_FORMATS]
        if bad:
            raise ProtocolError(f"recipe has unusable types {bad}; known: {sorted(TYPE_FORMATS)}")
        self.names = tuple(names)
        self.types = tuple(types)
        self.recipe_id = recipe_id
        self.with_id = with_id
        fmt = ">" + ("B" if with_id else "") + "".join(TYPE_FORMATS[t] for t in types)
        self.struct = struct.Struct(fmt)
        self._widths = [TYPE_WIDTH[t] for t in types]

    @property
    def size(self) -> int:
        """Payload size [bytes] of one data package of this recipe."""
        return self.struct.size

    def pack(self, values: Sequence[Any]) -> bytes:
        """Data package payload from one value per field (vectors as sequences)."""
        flat: list[Any] = [self.recipe_id] if self.with_id else []
        for v, w in zip(values, self._widths, strict=True):
            if w == 1:
                flat.append(v)
            else:
                if len(v) != w:
                    raise ProtocolError(f"vector field needs {w} values, got {len(v)}")
                flat.extend(v)
        try:
            return self.struct.pack(*flat)
        except struct.error as err:
            raise ProtocolError(f"cannot pack RTDE data for recipe {self.names}: {err}") from err

    def pack_dict(self, values: dict[str, Any]) -> bytes:
        """Data package payload from a name -> value mapping covering every field."""
        return self.pack([values[n] for n in self.names])

    def unpack(self, payload: bytes) -> dict[str, Any]:
        """Name -> value (vectors as tuples) from a data package payload."""
        if len(payload) != self.struct.size:
            raise ProtocolError(
                f"RTDE data package of {len(payload)} bytes does not match recipe {self.recipe_id} "
                f"({self.struct.size} bytes)"
            )
        flat = self.struct.unpack(payload)
        out: dict[str, Any] = {}
        i = 1 if self.with_id else 0
        if self.with_id and flat[0] != self.recipe_id:
            raise ProtocolError(f"data package for recipe {flat[0]}, expected {self.recipe_id}")
        for name, w in zip(self.names, self._widths, strict=True):
            out[name] = flat[i] if w == 1 else tuple(flat[i : i + w])
            i += w
        return out


def data_package_size(types: Sequence[str], with_id: bool) -> int:
    """Size [bytes, 3-byte header included] of a data package of a recipe with these types.

    Types that are not data types (``NOT_FOUND``, ``IN_USE``) count as 0 bytes.
    """
    body = sum(struct.calcsize(">" + TYPE_FORMATS[t]) for t in types if t in TYPE_FORMATS)
    return HEADER_SIZE + (1 if with_id else 0) + body


def field_types(names: Iterable[str], table: dict[str, FieldSpec], version: Version) -> list[str]:
    """RTDE type per name for a controller of ``version``; NOT_FOUND for unknown fields."""
    out = []
    for n in names:
        spec = table.get(n)
        out.append(spec.type if spec is not None and spec.available(version) else NOT_FOUND)
    return out
