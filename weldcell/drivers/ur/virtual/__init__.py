"""The virtual UR controller: a real implementation of the controller side of the UR protocols.

- ``core``: the controller state machine (modes, safety state, I/O, registers, program runtime);
  ``builtins``: the URScript functions it provides to programs; ``urscript``: parser and interpreter.
- ``motion``: the arm's motion model (movej/movel/movec/servoj); ``safety``: the safety configuration.
- ``rtde_server``, ``dashboard_server``, ``script_server``: the three socket servers (``net``: their
  shared socket plumbing); ``controller``: the control cycle, the servers around it and the child
  process (:func:`~weldcell.drivers.ur.virtual.controller.start_virtual_controller`).
"""
