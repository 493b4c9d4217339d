"""FANUC robots over Stream Motion (option J519): driver, virtual controller, TP (``.LS``) export.

- :class:`~weldcell.drivers.fanuc.driver.FanucDriver` (``fanuc://HOST[:PORT]``): streams a validated
  trajectory as joint set-points, one command per 8 ms (or 4 ms) status packet.
- :mod:`weldcell.drivers.fanuc.packets`: the J519 version 3/4 packet codec.
- :mod:`weldcell.drivers.fanuc.joints`: model joints <-> controller joint angles (J2/J3 interaction).

Nothing here is imported by ``weldcell.drivers``; the registry loads it when a ``fanuc://`` URL is used.
"""
