"""ABB robots over EGM (Externally Guided Motion): sensor-side driver, virtual controller, RAPID export.

- :class:`~weldcell.drivers.abb.driver.EgmDriver` (``abb-egm://BIND:PORT``): streams a validated
  trajectory as EGM joint targets, protobuf over UDP at 4 ms.
- :mod:`weldcell.drivers.abb.virtual_egm`: the robot side of EGM for tests and demos.
- :mod:`weldcell.drivers.abb.egm_messages`: the EGM protobuf classes, built at run time from our schema.

Nothing here is imported by ``weldcell.drivers``; the registry loads it when an ``abb-egm://`` URL is used.
"""
