"""Robot-side RSI files for :class:`~weldcell.drivers.kuka.driver.RsiDriver` (one source: :class:`RsiConfig`).

* ``<name>_eth.xml``: the Ethernet configuration
  (``C:\\KRC\\ROBOTER\\Config\\User\\Common\\SensorInterface``): the sensor's IP_NUMBER/PORT, SENTYPE, and
  the SEND/RECEIVE elements the driver reads and writes. The same file
  configures the test peers (rsipi's EchoServer, our virtual KRC).

Element layout (wire facts: KUKA RSI 3.x/4.x manuals, as summarised in docs/drivers.md):

* SEND (robot -> sensor): ``DEF_RIst``, ``DEF_AIPos``, ``DEF_ASPos``, ``DEF_Delay``, ``DiL`` (digital
  inputs from the DIGIN object, channel 1) and ``DoutW`` (read-back of the outputs, channel 2).
* RECEIVE (sensor -> robot): ``AKorr.A1`` … ``AKorr.A6`` (channels 1-6, into AXISCORR) and ``DiO``
  (channel 7, into MAP2DIGOUT). HOLDON is 1 in absolute mode (a late packet keeps the last offset)
  and 0 in relative mode (a late packet adds nothing instead of repeating an increment).
"""

from __future__ import annotations

from weldcell.drivers.kuka.config import RsiConfig
from weldcell.drivers.kuka.rsi_xml import AXES


def ethernet_config_xml(config: RsiConfig) -> str:
    """The RSI Ethernet configuration XML for ``config`` (text, UTF-8)."""
    hold = "1" if config.mode == "absolute" else "0"
    recv = [
        f'         <ELEMENT TAG="AKorr.{a}" TYPE="DOUBLE" INDX="{i}" HOLDON="{hold}" />'
        for i, a in enumerate(AXES, start=1)
    ]
    recv.append('         <ELEMENT TAG="DiO" TYPE="LONG" INDX="7" HOLDON="1" />')
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
