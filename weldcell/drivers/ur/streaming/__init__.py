"""Streaming mode of the UR driver: the URScript servo program that runs on the controller
(``servo_program``: register map, ring buffer) and the PC side of a streaming session (``session``:
transmit window and the 500 Hz control loop).
"""
