"""Robot-side RSI files for :class:`~weldcell.drivers.kuka.driver.RsiDriver` (one source: :class:`RsiConfig`).

* ``<name>_eth.xml``: the Ethernet configuration
  (``C:\\KRC\\ROBOTER\\Config\\User\\Common\\SensorInterface``): the sensor's IP_NUMBER/PORT, SENTYPE, and
  the SEND/RECEIVE elements the driver reads and writes. The same file
  configures the test peers (rsipi's EchoServer, our virtual KRC).

Element layout (wire facts: KUKA RSI 3.x/4.x manuals, as summarised in docs/drivers.md):

* SEND (robot -> sensor): ``DEF_RIst``, ``DEF_AIPos``, ``DEF_ASPos``, ``DEF_Delay``, ``DiL`` (digital
  inputs from the DIGIN object, channel 1) and ``DoutW`` (read-back of the outputs, channel 2).
* RECEIVE (sensor -> robot): ``AKorr.A1`` … ``AKorr.A6`` (channels 1-6, into AXISCORR), ``DiO``
  (channel 7, into MAP2DIGOUT) and, with ``RsiConfig.stop_element``, ``Stop`` (BOOL, channel 8,
  HOLDON=0, into the STOP object STOP1). HOLDON of AKorr is 1 in absolute mode (a late packet keeps
  the last offset) and 0 in relative mode (a late packet adds nothing instead of repeating an
  increment).

Ending the session: STOP1 (ObjType STOP, ObjTypeID 18, parameter ``Mode`` = 4, "ExitMoveCorr" in
RSIVisual; facts from the STOP example context shipped with rsipi 0.3.0, ``contexts/RSIPI_Stop.rsi``
and ``.rsi.xml``) makes ``RSI_MOVECORR()`` return when its input is TRUE; the KRL program then runs
``RSI_OFF()`` and ends normally. The driver sets ``<Stop>1</Stop>`` on close (or
:meth:`~weldcell.drivers.kuka.driver.RsiDriver.end_session`), so the controller does not break off
with RSITimeout (KSS29002) when the sensor goes away. HOLDON=0: a late reply never repeats a Stop.
"""

from __future__ import annotations

from weldcell.drivers.kuka.config import RsiConfig
from weldcell.drivers.kuka.rsi_xml import AXES

#: ETHERNET1 output channel of the ``<Stop>`` RECEIVE element (after AKorr 1-6 and DiO 7).
STOP_CHANNEL = 8


def ethernet_config_xml(config: RsiConfig) -> str:
    """The RSI Ethernet configuration XML for ``config`` (text, UTF-8)."""
    hold = "1" if config.mode == "absolute" else "0"
    recv = [
        f'         <ELEMENT TAG="AKorr.{a}" TYPE="DOUBLE" INDX="{i}" HOLDON="{hold}" />'
        for i, a in enumerate(AXES, start=1)
    ]
    recv.append('         <ELEMENT TAG="DiO" TYPE="LONG" INDX="7" HOLDON="1" />')
    if config.stop_element:
        recv.append(f'         <ELEMENT TAG="Stop" TYPE="BOOL" INDX="{STOP_CHANNEL}" HOLDON="0" />')
    lines = [
        "<ROOT>",
        "   <!-- written by weldcell (export format kuka-rsi) for the weldcell RSI driver -->",
        "   <CONFIG>",
        f"      <IP_NUMBER>{config.host}</IP_NUMBER>",
        f"      <PORT>{config.port}</PORT>",
        f"      <SENTYPE>{config.sentype}</SENTYPE>",
        "      <ONLYSEND>FALSE</ONLYSEND>",
        "   </CONFIG>",
        "   <SEND>",
        "      <ELEMENTS>",
        '         <ELEMENT TAG="DEF_RIst" TYPE="DOUBLE" INDX="INTERNAL" />',
        '         <ELEMENT TAG="DEF_AIPos" TYPE="DOUBLE" INDX="INTERNAL" />',
        '         <ELEMENT TAG="DEF_ASPos" TYPE="DOUBLE" INDX="INTERNAL" />',
        '         <ELEMENT TAG="DEF_Delay" TYPE="LONG" INDX="INTERNAL" />',
        '         <ELEMENT TAG="DiL" TYPE="LONG" INDX="1" />',
        '         <ELEMENT TAG="DoutW" TYPE="LONG" INDX="2" />',
        "      </ELEMENTS>",
        "   </SEND>",
        "   <RECEIVE>",
        "      <ELEMENTS>",
        *recv,
        "      </ELEMENTS>",
        "   </RECEIVE>",
        "</ROOT>",
    ]
    return "\n".join(lines) + "\n"


def rsi_context_xml(config: RsiConfig, eth_file: str) -> str:
    """The RSI signal flow (``.rsi.xml``): DIGIN/DIGOUT -> ETHERNET1 -> AXISCORR1, MAP2DIGOUT1 and STOP1.

    Object types, ids and parameter ids as in KUKA RSIVisual runtime contexts (RSI 3.x/4.x).
    AXISCORR's limits are ``±max_correction_deg`` on every axis; ETHERNET's ``Timeout`` is
    ``timeout_packets``. STOP1 (``Mode`` 4, ExitMoveCorr) ends ``RSI_MOVECORR()`` when the sensor's
    ``<Stop>`` (ETHERNET1 output :data:`STOP_CHANNEL`) is TRUE; only with ``config.stop_element``.
    """
    stop_obj = ""
    if config.stop_element:
        stop_obj = f"""
  <RSIObject ObjType="STOP" ObjTypeID="18" ObjID="STOP1">
    <Inputs>
      <Input InIdx="1" OutObjID="ETHERNET1" OutIdx="{STOP_CHANNEL}" />
    </Inputs>
    <Parameters>
      <Parameter Name="Mode" ParamID="1" ParamValue="4" />
    </Parameters>
  </RSIObject>"""
    lim = f"{config.max_correction_deg:g}"
    axis_in = "\n".join(f'      <Input InIdx="{i}" OutObjID="ETHERNET1" OutIdx="{i}" />' for i in range(1, 7))
    lows = "\n".join(
        f'      <Parameter Name="LowerLimA{i}" ParamID="{i}" ParamValue="-{lim}" />' for i in range(1, 7)
    )
    highs = "\n".join(
        f'      <Parameter Name="UpperLimA{i}" ParamID="{i + 12}" ParamValue="{lim}" />' for i in range(1, 7)
    )
    return f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<RSIObjects xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <RSIObject ObjType="DIGIN" ObjTypeID="29" ObjID="DIGIN1">
    <Parameters>
      <Parameter Name="Index" ParamID="1" ParamValue="{config.first_input}" />
      <Parameter Name="DataSize" ParamID="2" ParamValue="2" />
    </Parameters>
  </RSIObject>
  <RSIObject ObjType="DIGOUT" ObjTypeID="43" ObjID="DIGOUT1">
    <Parameters>
      <Parameter Name="Index" ParamID="1" ParamValue="{config.first_output}" />
      <Parameter Name="DataSize" ParamID="2" ParamValue="2" />
    </Parameters>
  </RSIObject>
  <RSIObject ObjType="ETHERNET" ObjTypeID="64" ObjID="ETHERNET1">
    <Inputs>
      <Input InIdx="1" OutObjID="DIGIN1" OutIdx="1" />
      <Input InIdx="2" OutObjID="DIGOUT1" OutIdx="1" />
    </Inputs>
    <Parameters>
      <Parameter Name="ConfigFile" ParamID="1" ParamValue="{eth_file}" IsRuntime="false" />
      <Parameter Name="Timeout" ParamID="1" ParamValue="{config.timeout_packets}" />
      <Parameter Name="Flag" ParamID="4" ParamValue="1" />
      <Parameter Name="Precision" ParamID="8" ParamValue="4" />
    </Parameters>
  </RSIObject>
  <RSIObject ObjType="AXISCORR" ObjTypeID="33" ObjID="AXISCORR1">
    <Inputs>
{axis_in}
    </Inputs>
    <Parameters>
{lows}
{highs}
    </Parameters>
  </RSIObject>
  <RSIObject ObjType="MAP2DIGOUT" ObjTypeID="14" ObjID="MAP2DIGOUT1">
    <Inputs>
      <Input InIdx="1" OutObjID="ETHERNET1" OutIdx="7" />
    </Inputs>
    <Parameters>
      <Parameter Name="Index" ParamID="1" ParamValue="{config.first_output}" />
      <Parameter Name="DataSize" ParamID="2" ParamValue="2" />
    </Parameters>
  </RSIObject>{stop_obj}
</RSIObjects>
"""


def krl_rsi_program(name: str, context: str, config: RsiConfig, q_start_deg: list[float]) -> tuple[str, str]:
    """The KRL program (``.src``, ``.dat``) that moves to the trajectory start and runs RSI axis correction.

    ``RSI_ON(#ABSOLUTE|#RELATIVE, #IPO_FAST|#IPO)`` picks the correction mode and the 4/12 ms cycle;
    ``RSI_MOVECORR()`` hands the motion to the sensor until the driver ends the session with
    ``<Stop>1</Stop>`` (the context's STOP object; then ``RSI_OFF()`` and a normal end) or RSI
    breaks off (RSITimeout, KSS29002).
    """
    if config.stop_element:
        handover = "; the sensor ends RSI_MOVECORR() with <Stop>1</Stop> (STOP1 object), then RSI_OFF"
    else:
        handover = "; no STOP object: RSI_MOVECORR() ends only when RSI breaks off (RSITimeout)"
    mode = "#ABSOLUTE" if config.mode == "absolute" else "#RELATIVE"
    ipo = "#IPO_FAST" if config.cycle_ms == 4 else "#IPO"
    axes = ",".join(f"A{i + 1} {v + 0.0:.5f}" for i, v in enumerate(q_start_deg))
    src = f"""&ACCESS RVP
&REL 1
DEF {name}( )
; weldcell RSI session: sensor {config.host}:{config.port}, {config.cycle_ms} ms, {config.mode} AKorr
DECL INT RET
DECL INT CONTID
BAS(#INITMOV,0)
PTP XSTART
RET=RSI_CREATE("{context}",CONTID,TRUE)
IF (RET<>RSIOK) THEN
   HALT
ENDIF
RET=RSI_ON({mode},{ipo})
IF (RET<>RSIOK) THEN
   HALT
ENDIF
{handover}
RSI_MOVECORR()
RET=RSI_OFF()
IF (RET<>RSIOK) THEN
   HALT
ENDIF
END
"""
    dat = f"""&ACCESS RVP
&REL 1
DEFDAT {name} PUBLIC
DECL E6AXIS XSTART={{{axes},E1 0.0,E2 0.0,E3 0.0,E4 0.0,E5 0.0,E6 0.0}}
ENDDAT
"""
    return src, dat
