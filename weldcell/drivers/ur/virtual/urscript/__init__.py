"""URScript for the virtual UR controller: a grammar-based parser and a tree-walking interpreter.

The virtual controller runs the programs clients send to its script ports (30001-30003) or load
through the Dashboard: the driver's streaming servo program, the programs ``weldcell export
--format urscript`` writes, and anything else a client sends. Program text is never evaluated as
Python: :mod:`.syntax` parses it with a lark LALR grammar (:mod:`.grammar`) into plain nodes
(:mod:`.nodes`), :mod:`.interpreter` walks them, and the only functions a program can call are
the built-ins the host registers by name. Every failure is a :class:`URScriptError` naming the line, and the
resource limits of :mod:`.values` bound what a hostile program can use. The supported language and
what is rejected are listed in ``docs/drivers.md`` ("URScript in the virtual controller").

- :class:`Program` (``program.py``): compile text (outside any lock: it touches no controller state).
- :class:`Interpreter` (``interpreter.py``): run it one controller cycle per ``next()``.
"""

from weldcell.drivers.ur.virtual.urscript.interpreter import Builtin, Halt, Interpreter
from weldcell.drivers.ur.virtual.urscript.program import TIMED_BUILTINS, Program
from weldcell.drivers.ur.virtual.urscript.values import Pose, URScriptError

__all__ = ["TIMED_BUILTINS", "Builtin", "Halt", "Interpreter", "Pose", "Program", "URScriptError"]
