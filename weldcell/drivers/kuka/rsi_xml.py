"""KUKA RSI telegrams (XML over UDP): the robot's ``<Rob>`` and the sensor's ``<Sen>``, both directions.

Wire facts (KUKA RobotSensorInterface 3.x/4.x, Ethernet object; see docs/drivers.md):

* Each interpolation cycle (4 ms ``#IPO_FAST``, 12 ms ``#IPO``) the controller sends one datagram
  ``<Rob Type="KUKA">`` with the elements its ``<SEND>`` configuration names: ``RIst``/``RSol``
  (Cartesian X Y Z [mm] A B C [deg]), ``AIPos``/``ASPos`` (axes A1 … A6 [deg]), ``Delay D="n"``
  (late packets so far), user channels (``DiL`` digital inputs, ``DoutW`` read-back of the outputs)
  and ``<IPOC>n</IPOC>``, a millisecond time stamp that grows by the cycle time.
* The sensor answers the same cycle with ``<Sen Type="SENTYPE">`` carrying the elements of the
  ``<RECEIVE>`` configuration (``AKorr`` A1 … A6 [deg], ``RKorr``, ``DiO`` ...) and the received
  IPOC **verbatim**; the answer goes to the address the datagram came from.

The encoders write the exact text; the decoders reject anything malformed with
:class:`~weldcell.errors.ProtocolError`. Values stay in the wire units (mm, deg) here: the driver
converts at its edge.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from weldcell.errors import ProtocolError

AXES = ("A1", "A2", "A3", "A4", "A5", "A6")
CART = ("X", "Y", "Z", "A", "B", "C")
#: Text of an RSI BOOL element in a telegram.
_BOOL_TEXT = {"1": True, "0": False, "TRUE": True, "FALSE": False}


@dataclass(frozen=True, slots=True)
class RobTelegram:
    """One decoded ``<Rob>`` telegram (wire units).

    Attributes:
        ipoc_text: The IPOC exactly as received (echoed verbatim).
        ipoc: The IPOC as a number [ms].
        aipos: Actual axis positions A1 … A6 [deg], or None if not sent.
        aspos: Set-point axis positions [deg], or None.
        rist: Actual Cartesian pose X Y Z [mm] A B C [deg], or None.
        delay: Late-packet count ``Delay D``, or None if not configured.
        digin: Digital inputs ``DiL`` as a bit mask, or None.
        dout: Read-back of the digital outputs ``DoutW`` as a bit mask, or None.
        rob_type: The ``Type`` attribute of the root element.
    """

    ipoc_text: str
    ipoc: int
    aipos: tuple[float, ...] | None
    aspos: tuple[float, ...] | None
    rist: tuple[float, ...] | None
    delay: int | None
    digin: int | None
    dout: int | None
    rob_type: str


@dataclass(frozen=True, slots=True)
class SenTelegram:
    """One decoded ``<Sen>`` reply (wire units).

    Attributes:
        sen_type: The ``Type`` attribute (must equal the configured SENTYPE).
        ipoc_text: The echoed IPOC text ("" if missing).
        akorr: Axis corrections A1 … A6 [deg]; axes not present are absent from the dict.
        rkorr: Cartesian corrections X … C [mm, deg]; absent keys not sent.
        dio: Digital outputs ``DiO`` bit mask, or None.
        estr: Message text for the pendant, or None.
        stop: The ``<Stop>`` BOOL (wired to the context's STOP object: True ends RSI_MOVECORR()),
            or None if not sent.
    """

    sen_type: str
    ipoc_text: str
    akorr: dict[str, float]
    rkorr: dict[str, float]
    dio: int | None
    estr: str | None
    stop: bool | None = None


def _root(data: bytes, expected: str) -> ET.Element:
    try:
        root = ET.fromstring(data)
    except ET.ParseError as err:
        raise ProtocolError(f"RSI telegram is not well-formed XML ({err}): {data[:80]!r}") from err
    if root.tag != expected:
        raise ProtocolError(f"RSI telegram root is <{root.tag}>, expected <{expected}>: {data[:80]!r}")
    return root


def _attrs(el: ET.Element | None, keys: tuple[str, ...], what: str) -> tuple[float, ...] | None:
    if el is None:
        return None
    try:
        return tuple(float(el.attrib[k]) for k in keys)
    except KeyError as err:
        raise ProtocolError(f"RSI <{what}> lacks attribute {err.args[0]}") from err
    except ValueError as err:
        raise ProtocolError(f"RSI <{what}> has a non-numeric attribute: {el.attrib}") from err


def _int_text(el: ET.Element | None, what: str) -> int | None:
    if el is None:
        return None
    text = (el.text or "").strip()
    try:
        return int(float(text))
    except ValueError as err:
        raise ProtocolError(f"RSI <{what}> is {text!r}, expected an integer") from err


def decode_rob(data: bytes) -> RobTelegram:
    """Decode a ``<Rob>`` telegram.

    Raises:
        ProtocolError: not XML, not ``<Rob>``, no IPOC, or malformed elements.
    """
    root = _root(data, "Rob")
    ipoc_el = root.find("IPOC")
    if ipoc_el is None or not (ipoc_el.text or "").strip():
        raise ProtocolError(f"RSI <Rob> telegram has no <IPOC>: {data[:80]!r}")
    ipoc_text = (ipoc_el.text or "").strip()
    try:
        ipoc = int(ipoc_text)
    except ValueError as err:
        raise ProtocolError(f"RSI <IPOC> is {ipoc_text!r}, expected an integer") from err
    delay_el = root.find("Delay")
    delay = None
    if delay_el is not None:
        try:
            delay = int(float(delay_el.attrib.get("D", "0")))
        except ValueError as err:
            raise ProtocolError(
                f"RSI <Delay D> is {delay_el.attrib.get('D')!r}, expected an integer"
            ) from err
    return RobTelegram(
        ipoc_text=ipoc_text,
        ipoc=ipoc,
        aipos=_attrs(root.find("AIPos"), AXES, "AIPos"),
        aspos=_attrs(root.find("ASPos"), AXES, "ASPos"),
        rist=_attrs(root.find("RIst"), CART, "RIst"),
        delay=delay,
        digin=_int_text(root.find("DiL"), "DiL"),
        dout=_int_text(root.find("DoutW"), "DoutW"),
        rob_type=root.attrib.get("Type", ""),
    )


def encode_rob(
    ipoc: int,
    *,
    aipos: tuple[float, ...] | list[float],
    aspos: tuple[float, ...] | list[float] | None = None,
    rist: tuple[float, ...] | list[float] | None = None,
    delay: int | None = None,
    digin: int | None = None,
    dout: int | None = None,
) -> bytes:
    """Encode a ``<Rob Type="KUKA">`` telegram (positions in deg / mm, 4 decimals)."""
    parts = ['<Rob Type="KUKA">']
    if rist is not None:
        parts.append("<RIst " + " ".join(f'{k}="{v:.4f}"' for k, v in zip(CART, rist, strict=True)) + "/>")
    parts.append("<AIPos " + " ".join(f'{k}="{v:.4f}"' for k, v in zip(AXES, aipos, strict=True)) + "/>")
    if aspos is not None:
        parts.append("<ASPos " + " ".join(f'{k}="{v:.4f}"' for k, v in zip(AXES, aspos, strict=True)) + "/>")
    if delay is not None:
        parts.append(f'<Delay D="{int(delay)}"/>')
    if digin is not None:
        parts.append(f"<DiL>{int(digin)}</DiL>")
    if dout is not None:
        parts.append(f"<DoutW>{int(dout)}</DoutW>")
    parts.append(f"<IPOC>{int(ipoc)}</IPOC></Rob>")
    return "".join(parts).encode("ascii")


def encode_sen(
    sen_type: str,
    ipoc_text: str,
    akorr_deg: tuple[float, ...] | list[float] | None,
    dio: int | None,
    *,
    stop: bool | None = None,
) -> bytes:
    """Encode a ``<Sen>`` reply: axis corrections [deg] (6 decimals), outputs, ``<Stop>`` (BOOL as
    1/0; None: not sent), the IPOC verbatim."""
    parts = [f'<Sen Type="{sen_type}">']
    if akorr_deg is not None:
        parts.append(
            "<AKorr " + " ".join(f'{k}="{v:.6f}"' for k, v in zip(AXES, akorr_deg, strict=True)) + "/>"
        )
    if dio is not None:
        parts.append(f"<DiO>{int(dio)}</DiO>")
    if stop is not None:
        parts.append(f"<Stop>{int(bool(stop))}</Stop>")
    parts.append(f"<IPOC>{ipoc_text}</IPOC></Sen>")
    return "".join(parts).encode("ascii")


def decode_sen(data: bytes) -> SenTelegram:
    """Decode a ``<Sen>`` reply.

    Raises:
        ProtocolError: not XML, not ``<Sen>``, or non-numeric corrections / outputs.
    """
    root = _root(data, "Sen")
    akorr: dict[str, float] = {}
    rkorr: dict[str, float] = {}
    for tag, keys, out in (("AKorr", AXES, akorr), ("RKorr", CART, rkorr)):
        el = root.find(tag)
        if el is None:
            continue
        for k in keys:
            if k in el.attrib:
                try:
                    out[k] = float(el.attrib[k])
                except ValueError as err:
                    raise ProtocolError(f"RSI <{tag} {k}> is {el.attrib[k]!r}, expected a number") from err
    ipoc_el = root.find("IPOC")
    estr_el = root.find("EStr")
    stop_el = root.find("Stop")
    stop: bool | None = None
    if stop_el is not None:
        text = (stop_el.text or "").strip().upper()
        if text not in _BOOL_TEXT:
            raise ProtocolError(f"RSI <Stop> is {stop_el.text!r}, expected a BOOL (1/0, TRUE/FALSE)")
        stop = _BOOL_TEXT[text]
    return SenTelegram(
        sen_type=root.attrib.get("Type", ""),
        ipoc_text=(ipoc_el.text or "").strip() if ipoc_el is not None else "",
        akorr=akorr,
        rkorr=rkorr,
        dio=_int_text(root.find("DiO"), "DiO"),
        estr=(estr_el.text or "") if estr_el is not None else None,
        stop=stop,
    )
