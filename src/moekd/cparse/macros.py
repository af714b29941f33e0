"""Macros whose arguments name struct members or types rather than variables.

`container_of(bus, QPCIBusSPAPR, bus)` and `QLIST_REMOVE(node, node)` are real QEMU code: the
first `bus`/`node` is a local, the second a member of the same name. Renaming both breaks the
build, which is exactly the reference attacks' fault. For macros whose signature is well known
the member positions are CERTAIN: those arguments are not uses of any local. For fuzzier
families (Linux-style `list_*`, `FIELD_*`) the names there are tainted instead (never renamed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# BSD / QEMU queue.h macros: QTAILQ_INSERT_TAIL(head, elm, field) and friends.
_QUEUE = re.compile(r"^Q?(TAILQ|LIST|SIMPLEQ|SLIST|STAILQ|CIRCLEQ)_([A-Z_]+)$")
_FUZZY = re.compile(r"^(hlist|list|rb|RB|SPLAY)_|^FIELD_")
# queue.h operations that take no member name
_NO_FIELD = ("FIRST", "EMPTY", "INIT", "HEAD_INITIALIZER", "ENTRY", "HEAD", "MOVETO", "SWAP")


@dataclass(frozen=True)
class MemberArgs:
    """Argument positions that name members/types; `certain` when the signature is known."""

    positions: frozenset[int]
    certain: bool


NONE = MemberArgs(frozenset(), True)


def _queue_positions(op: str, n_args: int) -> set[int]:
    if op.startswith(_NO_FIELD) or n_args < 2:
        return set()
    if op.startswith("FOREACH"):
        # (var, head, field[, next_var]) or REVERSE: (var, head, headname, field[, prev_var])
        return {2, 3} if "REVERSE" in op else {2}
    if op.startswith("LAST"):
        return {1}  # (head, headname)
    if op.startswith("PREV"):
        return {1, 2} if n_args >= 3 else {1}  # (elm, headname, field)
    if op.startswith("CONCAT") and n_args < 3:
        return set()
    return {n_args - 1}  # INSERT_*, REMOVE*, NEXT, IN_USE: the field comes last


def member_arguments(macro: str, n_args: int) -> MemberArgs:
    """Which of the `n_args` arguments of a call to `macro` name a member or a type."""
    if n_args == 0:
        return NONE
    if "offsetof" in macro:
        return MemberArgs(frozenset(range(n_args)), True)  # offsetof(type, member)
    if "container_of" in macro:
        return MemberArgs(frozenset(range(1, n_args)), True)  # container_of(ptr, type, member)
    if macro in ("DO_UPCAST", "UPCAST"):
        return MemberArgs(frozenset({0, 1}), True)  # DO_UPCAST(type, field, dev)
    queue = _QUEUE.match(macro)
    if queue is not None:
        positions = _queue_positions(queue.group(2), n_args)
        return MemberArgs(frozenset(p for p in positions if p < n_args), True)
    if _FUZZY.match(macro):
        # list_entry(ptr, type, member), list_for_each_entry(pos, head, member), FIELD_EX32(...)
        return MemberArgs(frozenset(range(1, n_args)), False)
    return NONE
