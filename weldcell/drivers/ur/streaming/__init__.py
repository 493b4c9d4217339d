"""Streaming protocol of the UR driver: the URScript servo program that runs on the controller
(``servo_program``: register map, ring buffer) and the PC side of its register window (``window``:
the RTDE input package and one slice's set-points). The control loop that feeds it is
:class:`weldcell.drivers.ur.stream_mode.StreamingMode`.
"""
