"""The URScript grammar (lark, LALR(1)), after UR's "The URScript Programming Language".

Statements end at a newline; blocks (``def``/``sec``/``thread``, ``if``/``elif``/``else``,
``while``, ``for``) end with ``end``; indentation carries no meaning; ``#`` starts a comment.
Assignment targets and ``local``/``global`` declarations are parsed as expressions and checked by
the tree builder (LALR cannot tell ``a[i] = x`` from the expression ``a[i]`` before the ``=``).
``p[`` opens a pose literal; ``p[i]`` with one element is an index into a variable named ``p``.
Lists are left-recursive so their length is checked while they are parsed.

Speed: an expression is a flat ``operand (operator operand)*`` sequence that the tree builder
orders by precedence (no chain of one-child reductions per operand), and a list of plain numbers
(``[0.1, -2, 3e-3]``, ``p[...]`` with six numbers: servo tables, poses) is a single token. Long
exported programs parse several times faster that way.
"""

GRAMMAR = r"""
start: _NL? _stmt*

_stmt: _simple _NL
     | _compound _NL

_simple: assign
       | expr_stmt
       | scoped
       | return_stmt
       | break_stmt
       | continue_stmt
       | halt_stmt
       | join_stmt
       | kill_stmt
       | critical_stmt

assign: expr "=" expr
scoped: (GLOBAL | LOCAL) expr ("=" expr)?
expr_stmt: expr
return_stmt: RETURN expr?
break_stmt: BREAK
continue_stmt: CONTINUE
halt_stmt: HALT
join_stmt: JOIN expr
kill_stmt: KILL expr
critical_stmt: ENTER_CRITICAL | EXIT_CRITICAL

_compound: funcdef
         | threaddef
         | if_stmt
         | while_stmt
         | for_stmt

funcdef: (DEF | SEC) NAME "(" [params] ")" ":" _NL block END
params: param
      | params "," param
param: NAME ("=" expr)?
threaddef: THREAD NAME "(" ")" ":" _NL block END
if_stmt: IF expr ":" _NL block elifs [ELSE ":" _NL block] END
elifs: elif_clause*
elif_clause: ELIF expr ":" _NL block
while_stmt: WHILE expr ":" _NL block END
for_stmt: FOR NAME IN expr ":" _NL block END
block: _stmt*

expr: operand (_binop operand)*
_binop: OR | XOR | AND | COMP_OP | ADD_OP | MUL_OP
?operand: prefix* postfix
prefix: NOT | ADD_OP
?postfix: atom
        | postfix "[" expr "]" -> index
?atom: NUMBER -> number
     | NUMLIST -> numlist
     | POSE_NUMS -> pose_nums
     | STRING -> str_lit
     | TRUE -> true_lit
     | FALSE -> false_lit
     | NAME -> name
     | NAME "(" [args] ")" -> call
     | RUN NAME "(" ")" -> run_expr
     | "(" expr ")"
     | "[" [items] "]" -> list_lit
     | POSE_OPEN items "]" -> pose_lit
args: arg
    | args "," arg
arg: expr
   | NAME "=" expr -> kwarg
items: expr
     | items "," expr

DEF: "def"
SEC: "sec"
THREAD: "thread"
IF: "if"
ELIF: "elif"
ELSE: "else"
WHILE: "while"
FOR: "for"
IN: "in"
END: "end"
RETURN: "return"
BREAK: "break"
CONTINUE: "continue"
HALT: "halt"
GLOBAL: "global"
LOCAL: "local"
RUN: "run"
JOIN: "join"
KILL: "kill"
ENTER_CRITICAL: "enter_critical"
EXIT_CRITICAL: "exit_critical"
OR: "or"
XOR: "xor"
AND: "and"
NOT: "not"
TRUE: "True"
FALSE: "False"
COMP_OP: "==" | "!=" | "<=" | ">=" | "<" | ">"
ADD_OP: "+" | "-"
MUL_OP: "*" | "/" | "%"
POSE_OPEN.2: "p["
_NUM: /[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?/
NUMLIST.3: "[" /[ \t]*/ _NUM (/[ \t]*,[ \t]*/ _NUM)* /[ \t]*/ "]"
POSE_NUMS.4: "p[" /[ \t]*/ _NUM (/[ \t]*,[ \t]*/ _NUM)~5 /[ \t]*/ "]"
NAME: /[A-Za-z_][A-Za-z0-9_]*/
NUMBER: /(\d+\.\d*|\.\d+)([eE][+-]?\d+)?|\d+([eE][+-]?\d+)?/
STRING: /"[^"\n]*"/ | /'[^'\n]*'/
COMMENT: /#[^\n]*/
_NL: (/\r?\n[ \t\f\r]*/ | COMMENT)+

%ignore /[ \t\f\r]+/
"""
