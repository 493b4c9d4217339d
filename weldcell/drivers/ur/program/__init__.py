"""Program mode of the UR driver: the URScript exporter (``export`` with ``export_motion`` and
``export_params``, the CLI adapter ``export_cli``), the replay check of an exported program on the virtual
controller (``replay``) and the progress of a program run (``progress``). The driver's execution of a
program is :class:`weldcell.drivers.ur.program_mode.ProgramMode`.
"""
