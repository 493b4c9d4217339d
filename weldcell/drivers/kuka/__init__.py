"""KUKA robots over RSI (RobotSensorInterface): sensor-side driver, virtual KRC, KRL and RSI file export.

- :class:`~weldcell.drivers.kuka.driver.RsiDriver` (``kuka-rsi://BIND:PORT``): streams a validated
  trajectory as axis corrections, XML over UDP at 4 or 12 ms.
- :mod:`weldcell.drivers.kuka.virtual_krc`: the robot side of RSI for tests and demos.
- :mod:`weldcell.drivers.kuka.krl_export`: ``.src``/``.dat`` programs with arc control.
- :mod:`weldcell.drivers.kuka.rsi_files`: the RSI context, Ethernet configuration and KRL start program.

Nothing here is imported by ``weldcell.drivers``; the registry loads it when a ``kuka-rsi://`` URL is used.
"""
