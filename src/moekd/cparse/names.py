"""Which strings may serve as a new variable name in C code.

A substitute name from a masked LM or a random vocabulary must stay an ordinary identifier for
both the compiler and tree-sitter: not a keyword of any C standard, not a name tree-sitter parses
as something else (`size_t`, `NULL`, `__attribute__`), and not a standard macro or object whose
use as a local would change meaning (`errno`, `stdin`, `assert`).
"""

from __future__ import annotations

import re
from functools import lru_cache

from moekd.cparse.parser import parse, walk

IDENTIFIER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


C_KEYWORDS = _words(
    # C89
    "auto break case char const continue default do double else enum extern float for goto if "
    "int long register return short signed sizeof static struct switch typedef union unsigned "
    "void volatile while "
    # C99
    "inline restrict _Bool _Complex _Imaginary "
    # C11
    "_Alignas _Alignof _Atomic _Generic _Noreturn _Static_assert _Thread_local "
    # C23
    "alignas alignof bool constexpr false nullptr static_assert thread_local true typeof "
    "typeof_unqual _BitInt _Decimal32 _Decimal64 _Decimal128 "
    # GNU / MSVC extensions common in real code
    "asm __asm __asm__ __attribute __attribute__ __extension__ __inline __inline__ "
    "__restrict __restrict__ __volatile__ __thread __typeof __typeof__ __alignof __alignof__ "
    "__builtin_va_arg __builtin_offsetof __declspec __cdecl __stdcall __fastcall __int128 "
    "__label__ __auto_type __real__ __imag__"
)

# Standard names that are macros or special objects: a local of that name is not a plain variable.
STANDARD_RESERVED = _words(
    "NULL EOF errno stdin stdout stderr assert offsetof va_arg va_start va_end va_copy "
    "setjmp longjmp main bool true false static_assert alignas alignof noreturn complex "
    "imaginary I SIZE_MAX INT_MAX INT_MIN UINT_MAX LONG_MAX LONG_MIN CHAR_BIT FILE "
    "EXIT_SUCCESS EXIT_FAILURE RAND_MAX BUFSIZ SEEK_SET SEEK_CUR SEEK_END"
)

_PROBE = "void probe(void) {{ int {0}; {0} = {0} + 1; }}"


def _shape(code: str) -> list[str]:
    return [node.type for node in walk(parse(code).root_node)]


@lru_cache(maxsize=1)
def _reference_shape() -> tuple[str, ...]:
    return tuple(_shape(_PROBE.format("x")))


@lru_cache(maxsize=4096)
def parses_as_identifier(name: str) -> bool:
    """Whether tree-sitter reads `name` as a plain identifier both in a declaration and a use."""
    return tuple(_shape(_PROBE.format(name))) == _reference_shape()


def name_problem(name: str) -> str | None:
    """Why `name` can never be a variable name (None when it can), independent of any code."""
    if not IDENTIFIER_RE.fullmatch(name):
        return f"{name!r} is not a C identifier"
    if name in C_KEYWORDS:
        return f"{name!r} is a C keyword"
    if name in STANDARD_RESERVED:
        return f"{name!r} is a standard macro or reserved name"
    if not parses_as_identifier(name):
        return f"{name!r} is not parsed as an identifier by tree-sitter (a type or keyword)"
    return None
