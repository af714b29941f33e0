"""Deterministic synthetic C functions with and without memory-safety flaws.

Why: ``moekd demo`` and the unit tests need a labelled corpus that ships with the package, needs
no download and cannot be solved from surface cues. So every vulnerable function has a *safe
twin* that differs only by the fix (a bounds check, ``<`` for ``<=``, a NULL check, ...); both
twins share the function name, the identifiers and the filler statements, and the filler
sprinkles the same tokens the fixes use (``NULL``, ``sizeof``, ``SIZE_MAX``, ``< 0 ||``) over
both labels. A model has to read the code to tell the twins apart.

Every function is a complete definition that compiles with ``gcc -fsyntax-only`` after
:data:`C_PRELUDE`. Each fake project has its own coding style (naming, indentation, braces,
function prefix), so partitioning by ``project`` has something real to split on.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from moekd.data.samples import CodeSample

__all__ = ["C_PRELUDE", "FLAW_FAMILIES", "PROJECTS", "generate_corpus"]

C_PRELUDE = """\
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct packet { int len; unsigned int flags; char *data; struct packet *next; };
struct context { int state; size_t size; char *buf; unsigned int refs; };
struct node { int key; int value; struct node *next; };
struct table { int count; int slots[64]; };

void log_debug(const char *fmt, ...);
int read_input(char *buf, size_t len);
int send_packet(struct packet *pkt);
int lock_context(struct context *ctx);
void unlock_context(struct context *ctx);
unsigned int hash_bytes(const void *data, size_t len);
void update_stats(int code);
int check_flags(unsigned int flags);
size_t align_size(size_t n);
int get_config_int(const char *key);
int find_slot(const struct table *tbl, int key);
void release_node(struct node *node);
"""

# Short functions make the fix too large a share of the text; ``max_lines`` trades that realism
# for speed (the demo's models read 128 tokens).
_MIN_LINES, _MAX_LINES = 12, 60
_SHORTEST_MAX_LINES = 20  # the longest flaw families (integer overflow) need this many
_TABLE_SLOTS = 64  # size of struct table.slots in C_PRELUDE


@dataclass(frozen=True)
class _Style:
    """A fake project's house style: what a per-project expert could pick up on."""

    camel: bool  # camelCase identifiers instead of snake_case
    indent: str
    allman: bool  # opening braces of blocks on their own line
    prefix: str  # function-name prefix
    brace_single: bool  # braces around single-statement if bodies
    fn_brace_newline: bool  # opening brace of the function on its own line


PROJECTS: dict[str, _Style] = {
    "libfoo": _Style(False, "    ", False, "foo_", True, True),
    "netd": _Style(False, "\t", False, "netd_", False, True),
    "imgtool": _Style(True, "    ", True, "img", True, True),
    "kvstore": _Style(False, "  ", False, "kv_", True, False),
    "mediacore": _Style(True, "    ", False, "mc", False, False),
    "fwupdate": _Style(False, "\t", True, "fw_", False, True),
}

_C_KEYWORDS = (
    "auto break case char const continue default do double else enum extern float for goto if "
    "inline int long register restrict return short signed sizeof static struct switch typedef "
    "union unsigned void volatile while bool true false"
)
_LIBC = (
    "NULL free malloc calloc realloc memcpy memset strcpy strncpy strlen printf fprintf snprintf "
    "puts stderr stdin stdout index rindex abs div exit time log errno"
)
_HELPERS = (
    "log_debug read_input send_packet lock_context unlock_context hash_bytes update_stats "
    "check_flags align_size get_config_int find_slot release_node"
)
_RESERVED = frozenset(f"{_C_KEYWORDS} {_LIBC} {_HELPERS}".split())

# Identifier vocabulary by role; flaw sites and filler draw from the same lists.
_ROLE_WORDS: dict[str, tuple[str, ...]] = {
    "buf": ("buf", "tmp", "out", "scratch", "line", "name", "label", "work", "staging", "dst"),
    "len": ("len", "size", "n", "count", "total", "nbytes", "length", "remaining", "avail"),
    "idx": ("idx", "pos", "slot", "off", "offset", "which", "id", "pick", "sel"),
    "i": ("i", "j", "k", "pos", "cur", "step", "iter"),
    "ptr": ("p", "data", "mem", "block", "entry", "item", "res", "obj", "chunk", "raw"),
    "str": ("src", "input", "str", "name", "msg", "text", "arg", "key", "path", "spec"),
    "pkt": ("pkt", "packet", "msg", "frame", "req", "resp", "m"),
    "ctx": ("ctx", "state", "sess", "conn", "dev", "priv", "sc", "s"),
    "node": ("node", "entry", "elem", "item", "head", "cur", "link", "nd"),
    "num": ("ret", "rc", "err", "status", "flags", "mode", "val", "value", "result", "sum",
            "acc", "hash", "crc", "delta", "level", "code", "key", "x", "tmp"),
    "tbl": ("tbl", "table", "map", "lut", "slots", "vec", "arr", "list", "cells"),
}
_QUALIFIERS = ("hdr", "pkt", "msg", "req", "resp", "key", "val", "name", "path", "tmp", "out",
               "in", "max", "cur", "new", "old", "data", "body", "src", "dst", "local", "user",
               "net", "raw")
_VERBS = ("parse", "read", "write", "handle", "process", "update", "init", "load", "store",
          "copy", "build", "decode", "encode", "format", "append", "insert", "lookup", "fetch",
          "flush", "reset", "apply", "send", "recv", "emit", "scan", "fill", "merge", "split",
          "resolve", "register", "release", "prepare", "commit", "refresh")
_NOUNS = ("header", "packet", "buffer", "record", "entry", "node", "frame", "chunk", "block",
          "message", "request", "response", "token", "field", "option", "table", "slot", "cache",
          "session", "config", "path", "name", "key", "value", "attr", "segment", "payload",
          "descriptor", "string", "line", "queue", "list")
_PHRASES = ("processing", "got value", "state changed", "entry", "result", "done", "retrying",
            "skipping", "new item", "flushing", "updated", "read", "queued", "using default",
            "ready", "resetting", "loaded")
_COMMENTS = ("fast path", "keep in sync with the wire format", "TODO: handle partial reads",
             "XXX: legacy behaviour, see changelog", "update counters", "nothing to do here",
             "callers hold the context lock", "mirror the userspace layout",
             "defaults come from the config file", "see protocol spec section 4",
             "this mirrors the old API", "values are host byte order",
             "retry once before giving up", "cheap sanity check", "fold in the new state")
_CONFIG_KEYS = ("max_conn", "timeout", "retries", "queue_depth", "log_level", "window",
                "batch_size")
_NUM_TYPES = ("int", "int", "int", "int", "size_t", "size_t", "unsigned int", "unsigned int",
              "long", "uint32_t")
_SIGNED = frozenset({"int", "long"})
_MAX = {"int": "INT_MAX", "long": "LONG_MAX", "size_t": "SIZE_MAX", "unsigned int": "UINT_MAX",
        "uint32_t": "UINT32_MAX"}
_FMT = {"int": "%d", "long": "%ld", "size_t": "%zu", "unsigned int": "%u", "uint32_t": "%u"}
_RETURN_TYPES = ("int", "int", "int", "int", "int", "void", "void", "long", "size_t",
                 "unsigned int")


def _ind(lines: Sequence[str], levels: int = 1) -> list[str]:
    """Indent template lines by ``levels`` (4-space units, re-styled at render time)."""
    return ["    " * levels + line for line in lines]


class _Namer:
    """Hands out identifiers unique within one function, styled like the project."""

    def __init__(self, rng: random.Random, style: _Style) -> None:
        self.rng = rng
        self.style = style
        self.used: set[str] = set()

    def _compose(self, words: Sequence[str]) -> str:
        if not self.style.camel:
            return "_".join(words)
        return words[0] + "".join(w[:1].upper() + w[1:] for w in words[1:])

    def _claim(self, name: str) -> bool:
        if name in self.used or name in _RESERVED:
            return False
        self.used.add(name)
        return True

    def var(self, role: str) -> str:
        """A fresh local/parameter name for ``role`` (buf, len, idx, ...)."""
        words = _ROLE_WORDS[role]
        for _ in range(30):
            base = self.rng.choice(words)
            parts = [self.rng.choice(_QUALIFIERS), base] if self.rng.random() < 0.35 else [base]
            name = self._compose(parts)
            if self._claim(name):
                return name
        n = 2
        while not self._claim(f"{words[0]}{n}"):
            n += 1
        return f"{words[0]}{n}"

    def function(self) -> str:
        """A verb-noun function name, with the project prefix more often than not."""
        while True:
            words = [self.rng.choice(_VERBS), self.rng.choice(_NOUNS)]
            if self.rng.random() < 0.3:
                words.insert(1, self.rng.choice(_QUALIFIERS))
            prefix = self.style.prefix if self.rng.random() < 0.6 else ""
            if self.style.camel and prefix:
                name = prefix + "".join(w.capitalize() for w in words)
            else:
                name = prefix + self._compose(words)
            if self._claim(name):
                return name


class _Builder:
    """What a flaw family needs: randomness, names and the function's failure statement."""

    def __init__(self, rng: random.Random, namer: _Namer, style: _Style, fail: str) -> None:
        self.rng = rng
        self.namer = namer
        self.style = style
        self.fail = fail

    def var(self, role: str) -> str:
        return self.namer.var(role)

    def pick(self, options: Sequence[str]) -> str:
        return self.rng.choice(options)

    def size(self) -> int:
        return self.rng.choice((16, 32, 48, 64, 128, 256, 512))

    def phrase(self) -> str:
        return self.rng.choice(_PHRASES)

    def is_null(self, ptr: str) -> str:
        return f"{ptr} == NULL" if self.rng.random() < 0.65 else f"!{ptr}"

    def guard(self, cond: str, body: Sequence[str] | None = None) -> list[str]:
        """``if (cond) body`` in the project's brace style; the body defaults to failing."""
        body = [self.fail] if body is None else list(body)
        if len(body) == 1 and not self.style.brace_single:
            return [f"if ({cond})", *_ind(body)]
        return [f"if ({cond}) {{", *_ind(body), "}"]

    def check(self, weak: str, full: str) -> tuple[list[str], list[str]]:
        """(vulnerable, safe) guards: none vs ``full``, or sometimes an incomplete ``weak``
        check vs ``weak || full`` so the twins have the same shape and line count."""
        if self.rng.random() < 0.35:
            joined = f"({full})" if "&&" in full else full
            return self.guard(weak), self.guard(f"{weak} || {joined}")
        return [], self.guard(full)


@dataclass
class _Site:
    """A flaw and its fix: parallel segments, filler may go between segments (same in both)."""

    params: list[str]
    vuln: list[list[str]]
    safe: list[list[str]]
    decls: list[str] = field(default_factory=list)
    safe_decls: list[str] | None = None  # when the fix is in a declaration
    tail: list[str] = field(default_factory=list)  # shared cleanup before the final return


def _same(*segments: list[str]) -> list[list[str]]:
    return [list(s) for s in segments]


# ---------------------------------------------------------------------------------------------
# Flaw families: each returns the vulnerable and the fixed version of one flaw site.
# ---------------------------------------------------------------------------------------------


def _unchecked_copy(b: _Builder) -> _Site:
    """CWE-120/121: copy of caller-controlled length into a fixed stack buffer."""
    buf, size = b.var("buf"), b.size()
    variant = b.rng.randrange(3)
    if variant == 0:
        src = b.var("str")
        params = [f"const char *{src}"]
        copy = [f"strcpy({buf}, {src});"]
        weak, full = b.is_null(src), f"strlen({src}) >= sizeof({buf})"
        use = [f'log_debug("{b.phrase()}: %s", {buf});']
    elif variant == 1:
        src, n = b.var("ptr"), b.var("len")
        params = [f"const {b.pick(('void', 'char', 'unsigned char'))} *{src}", f"size_t {n}"]
        copy = [f"memcpy({buf}, {src}, {n});"]
        weak, full = f"{n} == 0", f"{n} > sizeof({buf})"
        use = [f"{buf}[sizeof({buf}) - 1] = '\\0';"]
    else:
        pkt = b.var("pkt")
        params = [f"struct packet *{pkt}"]
        copy = [f"memcpy({buf}, {pkt}->data, {pkt}->len);"]
        weak = f"{pkt}->data == NULL"
        full = f"{pkt}->len < 0 || (size_t){pkt}->len > sizeof({buf})"
        use = [f"{pkt}->flags |= 0x{b.rng.randrange(1, 16):x};"]
    vuln_check, safe_check = b.check(weak, full)
    return _Site(params, [vuln_check + copy + use], [safe_check + copy + use],
                 decls=[f"char {buf}[{size}];"])


def _off_by_one(b: _Builder) -> _Site:
    """CWE-193: ``<=`` for ``<``, ``>`` for ``>=``, or writing the terminator one past the end."""
    variant = b.rng.randrange(4)
    if variant == 0:
        tbl, i, size = b.var("tbl"), b.var("i"), b.rng.choice((8, 16, 32, 64))
        elem = b.pick(("int", "char", "unsigned char", "long"))
        bound = b.pick((str(size), f"(int)(sizeof({tbl}) / sizeof({tbl}[0]))"))
        value = b.pick(("0", i, f"{i} * 2", f"{i} + 1"))

        def loop(op: str) -> list[str]:
            return [f"for ({i} = 0; {i} {op} {bound}; {i}++)"
                    + (" {" if b.style.brace_single else ""),
                    f"    {tbl}[{i}] = {value};"] + (["}"] if b.style.brace_single else [])

        use = [f"update_stats((int){tbl}[{b.rng.randrange(size)}]);"]
        return _Site([], [loop("<=") + use], [loop("<") + use],
                     decls=[f"{elem} {tbl}[{size}];", f"int {i};"])
    if variant == 1:
        arr, count, i, total = b.var("tbl"), b.var("len"), b.var("i"), b.var("num")

        def loop(op: str) -> list[str]:
            return [f"for ({i} = 0; {i} {op} {count}; {i}++) {{",
                    f"    {total} += {arr}[{i}];", "}"]

        use = [f'log_debug("{b.phrase()} %ld", {total});']
        return _Site([f"const int *{arr}", f"size_t {count}"], [loop("<=") + use],
                     [loop("<") + use], decls=[f"size_t {i};", f"long {total} = 0;"])
    if variant == 2:
        tbl, idx, val = b.var("tbl"), b.var("idx"), b.var("num")
        bound = b.pick((str(_TABLE_SLOTS),
                        f"(int)(sizeof({tbl}->slots) / sizeof({tbl}->slots[0]))"))
        store = [f"{tbl}->slots[{idx}] = {val};", f"{tbl}->count++;"]
        return _Site([f"struct table *{tbl}", f"int {idx}", f"int {val}"],
                     [b.guard(f"{idx} < 0 || {idx} > {bound}") + store],
                     [b.guard(f"{idx} < 0 || {idx} >= {bound}") + store])
    buf, src, size = b.var("buf"), b.var("str"), b.size()
    end = b.pick((f"sizeof({buf})", str(size)))
    copy = [f"strncpy({buf}, {src}, sizeof({buf}));"]
    use = [f'log_debug("{b.phrase()}: %s", {buf});']
    return _Site([f"const char *{src}"],
                 [copy + [f"{buf}[{end}] = '\\0';"] + use],
                 [copy + [f"{buf}[{end} - 1] = '\\0';"] + use],
                 decls=[f"char {buf}[{size}];"])


def _missing_null_check(b: _Builder) -> _Site:
    """CWE-476/690: the result of malloc/calloc/realloc is used without a NULL check."""
    variant = b.rng.randrange(4)
    if variant == 0:
        head, node, key = b.var("node"), b.var("node"), b.var("num")
        alloc = b.pick((f"{node} = malloc(sizeof(*{node}));",
                        f"{node} = calloc(1, sizeof(struct node));"))
        init = [f"{node}->key = {key};", f"{node}->value = 0;",
                f"{node}->next = {head}->next;", f"{head}->next = {node};"]
        return _Site([f"struct node *{head}", f"int {key}"],
                     [[alloc], init], [[alloc, *b.guard(b.is_null(node))], init],
                     decls=[f"struct node *{node};"])
    if variant == 1:
        arr, count, i = b.var("tbl"), b.var("len"), b.var("i")
        alloc = f"{arr} = calloc({count}, sizeof(*{arr}));"
        fill = [f"for ({i} = 0; {i} < {count}; {i}++)" + (" {" if b.style.brace_single else ""),
                f"    {arr}[{i}] = (int){i};"] + (["}"] if b.style.brace_single else [])
        return _Site([f"size_t {count}"], [[alloc], fill],
                     [[alloc, *b.guard(b.is_null(arr))], fill],
                     decls=[f"int *{arr};", f"size_t {i};"], tail=[f"free({arr});"])
    if variant == 2:
        ctx, n, tmp = b.var("ctx"), b.var("len"), b.var("ptr")
        alloc = f"{tmp} = realloc({ctx}->buf, {n});"
        rest = [f"memset({tmp}, 0, {n});", f"{ctx}->buf = {tmp};", f"{ctx}->size = {n};"]
        return _Site([f"struct context *{ctx}", f"size_t {n}"], [[alloc], rest],
                     [[alloc, *b.guard(b.is_null(tmp))], rest], decls=[f"char *{tmp};"])
    src, pkt, dup = b.var("str"), b.var("pkt"), b.var("ptr")
    alloc = f"{dup} = malloc(strlen({src}) + 1);"
    rest = [f"strcpy({dup}, {src});", f"{pkt}->data = {dup};", f"{pkt}->len = (int)strlen({dup});"]
    return _Site([f"const char *{src}", f"struct packet *{pkt}"], [[alloc], rest],
                 [[alloc, *b.guard(b.is_null(dup))], rest], decls=[f"char *{dup};"])


def _use_after_free(b: _Builder) -> _Site:
    """CWE-416: memory is read or written after it was freed."""
    variant = b.rng.randrange(3)
    if variant == 0:
        node, key = b.var("node"), b.var("num")
        release = b.pick((f"free({node});", f"release_node({node});"))
        read = f"{key} = {node}->{b.pick(('key', 'value'))};"
        use = f"update_stats({key});"
        return _Site([f"struct node *{node}"], [[release], [read, use]],
                     [[read], [release, use]], decls=[f"int {key};"])
    if variant == 1:
        ctx = b.var("ctx")
        touch = [f"{ctx}->buf[0] = '\\0';"]
        return _Site([f"struct context *{ctx}"],
                     [[f"free({ctx}->buf);"], b.guard(f"{ctx}->size > 0", touch)],
                     [[f"free({ctx}->buf);", f"{ctx}->buf = NULL;"],
                      b.guard(f"{ctx}->buf != NULL && {ctx}->size > 0", touch)])
    src, dup = b.var("str"), b.var("ptr")
    setup = [f"{dup} = malloc(strlen({src}) + 1);", *b.guard(b.is_null(dup)),
             f"strcpy({dup}, {src});"]
    report = f'log_debug("{b.phrase()} %s", {dup});'
    return _Site([f"const char *{src}"], [setup, [f"free({dup});"], [report]],
                 [setup, [report], [f"free({dup});"]], decls=[f"char *{dup};"])


def _double_free(b: _Builder) -> _Site:
    """CWE-415: an error path frees a buffer that the normal path frees again."""
    if b.rng.random() < 0.5:
        n, mode, mem = b.var("len"), b.var("num"), b.var("ptr")
        setup = [f"{mem} = malloc({n});", *b.guard(b.is_null(mem)), f"memset({mem}, 0, {n});"]
        cond = b.pick((f"{mode} < 0", f"({mode} & 0x{b.rng.randrange(1, 16):x}) != 0",
                       f"check_flags((unsigned int){mode}) != 0"))
        fix = f"{mem} = NULL;" if b.rng.random() < 0.6 else b.fail
        vuln_err = [f"if ({cond}) {{", f"    free({mem});", "}"]
        safe_err = [f"if ({cond}) {{", f"    free({mem});", f"    {fix}", "}"]
        return _Site([f"size_t {n}", f"int {mode}"], [setup + vuln_err, [f"free({mem});"]],
                     [setup + safe_err, [f"free({mem});"]], decls=[f"char *{mem};"])
    pkt = b.var("pkt")
    vuln_err = [f"if (send_packet({pkt}) < 0) {{", f"    free({pkt}->data);", "}"]
    safe_err = [f"if (send_packet({pkt}) < 0) {{", f"    free({pkt}->data);",
                f"    {pkt}->data = NULL;", "}"]
    done = [f"free({pkt}->data);", f"{pkt}->data = NULL;", f"{pkt}->len = 0;"]
    return _Site([f"struct packet *{pkt}"], [vuln_err, done], [safe_err, done])


def _integer_overflow(b: _Builder) -> _Site:
    """CWE-190/680: an allocation size wraps around, then the full amount is written."""
    variant = b.rng.randrange(3)
    if variant == 0:
        count, val, arr, i = b.var("len"), b.var("num"), b.var("tbl"), b.var("i")
        alloc = [f"{arr} = malloc({count} * sizeof(*{arr}));"]
        vuln_check, safe_check = b.check(f"{count} == 0", f"{count} > SIZE_MAX / sizeof(*{arr})")
        rest = [*b.guard(b.is_null(arr)), f"for ({i} = 0; {i} < {count}; {i}++) {{",
                f"    {arr}[{i}] = {val};", "}"]
        return _Site([f"size_t {count}", f"int {val}"], [vuln_check + alloc + rest],
                     [safe_check + alloc + rest], decls=[f"int *{arr};", f"size_t {i};"],
                     tail=[f"free({arr});"])
    if variant == 1:
        w, h, pix, total, row = (b.var("len"), b.var("len"), b.var("ptr"), b.var("len"),
                                 b.var("i"))
        vuln_check, safe_check = b.check(f"{w} <= 0 || {h} <= 0",
                                         f"{w} <= 0 || {h} <= 0 || {w} > INT_MAX / {h}")
        if vuln_check:  # the weak check is a prefix of the full one: replace, don't join
            safe_check = b.guard(f"{w} <= 0 || {h} <= 0 || {w} > INT_MAX / {h}")
        rest = [f"{total} = {w} * {h};", f"{pix} = malloc({total});",
                *b.guard(b.is_null(pix)), f"for ({row} = 0; {row} < {h}; {row}++)"
                + (" {" if b.style.brace_single else ""),
                f"    memset({pix} + (size_t){row} * {w}, 0, {w});"]
        rest += ["}"] if b.style.brace_single else []
        return _Site([f"int {w}", f"int {h}"], [vuln_check + rest], [safe_check + rest],
                     decls=[f"unsigned char *{pix};", f"int {total};", f"int {row};"],
                     tail=[f"free({pix});"])
    src, n, dup = b.var("str"), b.var("len"), b.var("ptr")
    hdr = b.rng.choice((4, 8, 16, 32))
    vuln_check, safe_check = b.check(f"{n} == 0", f"{n} > SIZE_MAX - {hdr}")
    rest = [f"{dup} = malloc({n} + {hdr});", *b.guard(b.is_null(dup)),
            f"memset({dup}, 0, {hdr});", f"memcpy({dup} + {hdr}, {src}, {n});"]
    return _Site([f"const char *{src}", f"size_t {n}"], [vuln_check + rest],
                 [safe_check + rest], decls=[f"char *{dup};"], tail=[f"free({dup});"])


def _format_string(b: _Builder) -> _Site:
    """CWE-134: caller-controlled text is used as a printf format."""
    decls: list[str] = []
    setup: list[str] = []
    source = b.rng.randrange(3)
    if source == 0:
        msg = b.var("str")
        params = [f"const char *{msg}"]
    elif source == 1:
        pkt = b.var("pkt")
        params, msg = [f"struct packet *{pkt}"], f"{pkt}->data"
    else:
        msg, got = b.var("buf"), b.var("len")
        params = []
        decls = [f"char {msg}[{b.size()}];", f"int {got};"]
        setup = [f"{got} = read_input({msg}, sizeof({msg}) - 1);", *b.guard(f"{got} < 0"),
                 f"{msg}[{got}] = '\\0';"]
    sink = b.rng.randrange(4)
    if sink == 0:
        vuln, safe = f"printf({msg});", f'printf("%s", {msg});'
    elif sink == 1:
        vuln, safe = f"fprintf(stderr, {msg});", f'fprintf(stderr, "%s", {msg});'
    elif sink == 2:
        vuln, safe = f"log_debug({msg});", f'log_debug("%s", {msg});'
    else:
        out = b.var("buf")
        decls.append(f"char {out}[{b.size()}];")
        vuln = f"snprintf({out}, sizeof({out}), {msg});"
        safe = f'snprintf({out}, sizeof({out}), "%s", {msg});'
        setup_tail = [f"update_stats((int)strlen({out}));"]
        return _Site(params, [setup + [vuln] + setup_tail], [setup + [safe] + setup_tail],
                     decls=decls)
    return _Site(params, [setup + [vuln]], [setup + [safe]], decls=decls)


def _unchecked_index(b: _Builder) -> _Site:
    """CWE-129: an index from the caller is used without a range check."""
    variant = b.rng.randrange(3)
    if variant == 0:
        tbl, idx, val = b.var("tbl"), b.var("idx"), b.var("num")
        bound = b.pick((str(_TABLE_SLOTS),
                        f"(int)(sizeof({tbl}->slots) / sizeof({tbl}->slots[0]))"))
        vuln_check, safe_check = b.check(f"{val} < 0", f"{idx} < 0 || {idx} >= {bound}")
        store = [f"{tbl}->slots[{idx}] = {val};"]
        return _Site([f"struct table *{tbl}", f"int {idx}", f"int {val}"],
                     [vuln_check + store], [safe_check + store])
    if variant == 1:
        lut, idx, res = b.var("tbl"), b.var("idx"), b.var("num")
        values = ", ".join(str(b.rng.randrange(0, 200)) for _ in range(b.rng.randrange(4, 9)))
        n = values.count(",") + 1
        bound = b.pick((str(n), f"sizeof({lut}) / sizeof({lut}[0])"))
        lookup = [f"{res} = {lut}[{idx}];", f"update_stats({res});"]
        return _Site([f"{b.pick(('unsigned int', 'size_t'))} {idx}"], [lookup],
                     [b.guard(f"{idx} >= {bound}") + lookup],
                     decls=[f"static const int {lut}[{n}] = {{{values}}};", f"int {res};"])
    pkt, off, ch = b.var("pkt"), b.var("idx"), b.var("num")
    read = [f"{ch} = {pkt}->data[{off}];", f'log_debug("{b.phrase()} %d", {ch});']
    vuln_check, safe_check = b.check(f"{pkt}->data == NULL", f"{off} < 0 || {off} >= {pkt}->len")
    return _Site([f"const struct packet *{pkt}", f"int {off}"], [vuln_check + read],
                 [safe_check + read], decls=[f"int {ch};"])


def _signed_length(b: _Builder) -> _Site:
    """CWE-195: a signed length passes an upper-bound check when negative."""
    buf, size = b.var("buf"), b.size()
    bound = b.pick((str(size), f"(int)sizeof({buf})"))
    if b.rng.random() < 0.5:
        src, n = b.var("str"), b.var("len")
        params, data, length = [f"const char *{src}", f"int {n}"], src, n
    else:
        pkt = b.var("pkt")
        params, data, length = [f"struct packet *{pkt}"], f"{pkt}->data", f"{pkt}->len"
    copy = [f"memcpy({buf}, {data}, {length});",
            f"update_stats((int)hash_bytes({buf}, (size_t){length}));"]
    return _Site(params, [b.guard(f"{length} > {bound}") + copy],
                 [b.guard(f"{length} < 0 || {length} > {bound}") + copy],
                 decls=[f"char {buf}[{size}];"])


def _uninitialized_use(b: _Builder) -> _Site:
    """CWE-457: a variable is read on a path where nothing assigned it."""
    variant = b.rng.randrange(3)
    if variant == 2:
        src, flags, name = b.var("str"), b.var("num"), b.var("str")
        pick = b.guard(f"{flags} & 0x{b.rng.randrange(1, 16):x}", [f"{name} = {src};"])
        report = b.guard(f"{name} != NULL", [f'log_debug("{b.phrase()} %s", {name});'])
        return _Site([f"const char *{src}", f"unsigned int {flags}"], [pick, report],
                     [pick, report], decls=[f"const char *{name};"],
                     safe_decls=[f"const char *{name} = NULL;"])
    mode, x = b.var("num"), b.var("num")
    a, c = b.rng.sample(range(0, 8), 2)
    use = b.pick((f"update_stats({x});", f'log_debug("{b.phrase()} %d", {x});'))
    decl, init = [f"int {x};"], [f"int {x} = {b.pick(('0', '-1'))};"]
    if variant == 0:
        branch = [f"if ({mode} == {a}) {{", f"    {x} = {b.rng.randrange(1, 100)};",
                  f"}} else if ({mode} == {c}) {{", f"    {x} = {b.rng.randrange(1, 100)};",
                  "}"]
        return _Site([f"int {mode}"], [branch, [use]], [branch, [use]], decls=decl,
                     safe_decls=init)
    cases = ["switch (" + mode + ") {"]
    for k in (a, c):
        cases += _ind([f"case {k}:", f"    {x} = {b.rng.randrange(1, 100)};", "    break;"])
    if b.rng.random() < 0.5:  # fix by initialising
        return _Site([f"int {mode}"], [cases + ["}"], [use]], [cases + ["}"], [use]],
                     decls=decl, safe_decls=init)
    fixed = [*cases, *_ind(["default:", f"    {x} = 0;", "    break;"]), "}"]
    return _Site([f"int {mode}"], [cases + ["}"], [use]], [fixed, [use]], decls=decl)


def _unchecked_return(b: _Builder) -> _Site:
    """CWE-252: an error return value is used as if the call had succeeded."""
    variant = b.rng.randrange(3)
    if variant == 0:
        buf, n = b.var("buf"), b.var("len")
        call = [f"{n} = read_input({buf}, sizeof({buf}) - 1);"]
        rest = [f"{buf}[{n}] = '\\0';", f'log_debug("{b.phrase()} %s", {buf});']
        return _Site([], [call + rest], [call + b.guard(f"{n} < 0") + rest],
                     decls=[f"char {buf}[{b.size()}];", f"int {n};"])
    if variant == 1:
        tbl, key, val, slot = b.var("tbl"), b.var("num"), b.var("num"), b.var("idx")
        call = [f"{slot} = find_slot({tbl}, {key});"]
        store = [f"{tbl}->slots[{slot}] = {val};"]
        return _Site([f"struct table *{tbl}", f"int {key}", f"int {val}"], [call, store],
                     [call + b.guard(f"{slot} < 0"), store], decls=[f"int {slot};"])
    ctx = b.var("ctx")
    work = [f"{ctx}->refs++;", f"{ctx}->state = {b.rng.randrange(0, 5)};",
            f"unlock_context({ctx});"]
    return _Site([f"struct context *{ctx}"], [[f"lock_context({ctx});"], work],
                 [b.guard(f"lock_context({ctx}) != 0"), work])


_FAMILY_TABLE: dict[str, Callable[[_Builder], _Site]] = {
    "unchecked_copy": _unchecked_copy,
    "off_by_one": _off_by_one,
    "missing_null_check": _missing_null_check,
    "use_after_free": _use_after_free,
    "double_free": _double_free,
    "integer_overflow": _integer_overflow,
    "format_string": _format_string,
    "unchecked_index": _unchecked_index,
    "signed_length": _signed_length,
    "uninitialized_use": _uninitialized_use,
    "unchecked_return": _unchecked_return,
}
FLAW_FAMILIES: tuple[str, ...] = tuple(_FAMILY_TABLE)


# ---------------------------------------------------------------------------------------------
# Filler: harmless statements shared by both twins, so surface and position don't give it away.
# ---------------------------------------------------------------------------------------------


@dataclass
class _Var:
    name: str
    ctype: str


class _Filler:
    """Extra locals, parameters and statements. Never indexes arrays, never allocates, always
    initialises, so it cannot add a flaw to a safe twin."""

    def __init__(self, b: _Builder, site_params: Sequence[str]) -> None:
        self.b = b
        self.rng = b.rng
        self.decls: list[tuple[str, str]] = []  # (name, declaration)
        self.params: list[tuple[str, str]] = []  # (name, parameter)
        self.nums: list[_Var] = []  # assignable locals
        self.inputs: list[_Var] = []  # read-only numeric parameters
        self.strs: list[str] = []
        self.ctxs: list[str] = []
        self.pkts: list[str] = []
        self.nodes: list[str] = []
        self.checkable = [p.split("*")[-1] for p in site_params if "*" in p]
        self.checked: set[str] = set()
        self.loop_var: str | None = None
        self.cursor: str | None = None
        self.scratch: str | None = None
        for _ in range(self.rng.randint(1, 3)):
            ctype = self.rng.choice(_NUM_TYPES)
            name = b.var("num" if ctype in _SIGNED else b.pick(("num", "len")))
            init = self.rng.choice(("0", "0", "1", "-1") if ctype in _SIGNED else ("0", "0", "1"))
            self.decls.append((name, f"{ctype} {name} = {init};"))
            self.nums.append(_Var(name, ctype))
        room = max(0, 6 - len(site_params))
        for _ in range(self.rng.randint(0 if site_params else 1, min(3, room))):
            self._add_param()
        if self.rng.random() < 0.5:
            self.loop_var = b.var("i")
            ctype = self.rng.choice(("int", "size_t", "unsigned int"))
            self.decls.append((self.loop_var, f"{ctype} {self.loop_var};"))
        if self.rng.random() < 0.3:
            self.scratch = b.var("buf")
            self.decls.append((self.scratch, f"char {self.scratch}[{b.size()}] = {{0}};"))

    def _add_param(self) -> None:
        kind = self.rng.randrange(6)
        if kind <= 1:
            ctype = self.rng.choice(("int", "unsigned int", "size_t", "int"))
            name = self.b.var(self.rng.choice(("num", "len", "idx")))
            self.params.append((name, f"{ctype} {name}"))
            self.inputs.append(_Var(name, ctype))
            return
        role, ctype, bucket = (("str", "const char *", self.strs), ("ctx", "struct context *",
                               self.ctxs), ("pkt", "struct packet *", self.pkts),
                               ("node", "struct node *", self.nodes))[kind - 2]
        name = self.b.var(role)
        self.params.append((name, f"{ctype}{name}"))
        bucket.append(name)
        self.checkable.append(name)

    # -- expressions -------------------------------------------------------------------------

    def _readable(self) -> list[_Var]:
        return self.nums + self.inputs

    def _operand(self, avoid: str = "") -> str:
        names = [v.name for v in self._readable() if v.name != avoid]
        if not names or self.rng.random() < 0.3:
            return str(self.rng.randrange(1, 64))
        return self.rng.choice(names)

    def _cond(self) -> str:
        v = self.rng.choice(self._readable())
        k = self.rng.randrange(0, 32)
        options = [f"{v.name} > {k}", f"{v.name} == {k}", f"{v.name} != 0",
                   f"({v.name} & 0x{self.rng.randrange(1, 256):x}) != 0",
                   f"{v.name} < {self._operand(v.name)}",
                   f"check_flags((unsigned int){v.name}) == 0", f"{v.name} >= {k}",
                   f"{v.name} <= {k}", f"{v.name} > 0 && {v.name} < {k + 8}",
                   f"{v.name} != 0 && check_flags((unsigned int){v.name}) != 0"]
        if v.ctype in _SIGNED:
            options += [f"{v.name} < 0", f"{v.name} < 0 || {v.name} > {k + 32}"]
        if self.ctxs:
            options.append(f"{self.rng.choice(self.ctxs)}->state == {k % 4}")
        if self.pkts:
            options.append(f"{self.rng.choice(self.pkts)}->len > {k}")
        return self.rng.choice(options)

    # -- statements --------------------------------------------------------------------------

    def _arith(self) -> list[str]:
        t = self.rng.choice(self.nums).name
        a = self._operand(t)
        k, m = self.rng.randrange(2, 16), self.rng.randrange(2, 1000)
        forms = [f"{t} += {a};", f"{t} |= 0x{m:x};", f"{t}++;", f"{t} -= {k};", f"{t} = {a};"]
        if not a.isdigit():  # don't fold constants by hand: nobody writes `x = 3 + 4;`
            forms += [f"{t} = {a} + {k};", f"{t} = ({a} * {k}) % {m};", f"{t} = {a} >> {k % 8};",
                      f"{t} ^= {a};", f"{t} = {a} & 0x{m:x};"]
        return [self.rng.choice(forms)]

    def _call(self) -> list[str]:
        t = self.rng.choice(self.nums)
        v = self.rng.choice(self._readable())
        options = [
            [f'log_debug("{self.b.phrase()} {_FMT[v.ctype]}", {v.name});'],
            [f"update_stats((int){v.name});"],
            [f"{t.name} = check_flags((unsigned int){v.name});"],
            [f"{t.name} = align_size({v.name});"],
            [f'{t.name} = get_config_int("{self.rng.choice(_CONFIG_KEYS)}");'],
            [f'printf("{self.b.phrase()}: {_FMT[v.ctype]}\\n", {v.name});'],
            [f'fprintf(stderr, "{self.b.phrase()}\\n");'],
        ]
        if self.strs:
            s = self.rng.choice(self.strs)
            options += [[f"{t.name} = hash_bytes({s}, strlen({s}));"],
                        [f"{t.name} = strlen({s});"],
                        [f'log_debug("{self.b.phrase()} %s", {s});']]
        if self.scratch:
            sc = self.scratch
            options += [[f'snprintf({sc}, sizeof({sc}), "{_FMT[v.ctype]}", {v.name});'],
                        [f"memset({sc}, 0, sizeof({sc}));"], [f"{t.name} = strlen({sc});"],
                        [f'printf("%s\\n", {sc});']]
        if self.ctxs:
            c = self.rng.choice(self.ctxs)
            options += [[f"if (lock_context({c}) == 0) {{", f"    {c}->refs++;",
                         f"    unlock_context({c});", "}"], [f"{c}->state = {v.name};"],
                        [f"{t.name} += {c}->size;"]]
        if self.pkts:
            p = self.rng.choice(self.pkts)
            options += [self.b.guard(f"send_packet({p}) < 0",
                                     [f'log_debug("{self.b.phrase()}");']),
                        [f"{t.name} = {p}->len;"],
                        [f"{p}->flags |= 0x{self.rng.randrange(1, 99):x};"]]
        if self.nodes:
            n = self.rng.choice(self.nodes)
            options += [[f"{t.name} = {n}->value;"], [f"{n}->value = {v.name};"]]
        return self.rng.choice(options)

    def _clamp(self) -> list[str]:
        t = self.rng.choice(self.nums)
        limit = f"{_MAX[t.ctype]} / {self.rng.choice((2, 4, 8, 16))}"
        if self.rng.random() < 0.5:
            return self.b.guard(f"{t.name} > {limit}", [f"{t.name} = {limit};"])
        k = self.rng.randrange(8, 4096)
        return [f"{t.name} = {t.name} < {k} ? {t.name} : {k};"]

    def _if(self, depth: int, in_loop: bool) -> list[str]:
        lines = [f"if ({self._cond()}) {{",
                 *_ind(self.block(self.rng.randint(1, 2), False, depth + 1, in_loop))]
        if self.rng.random() < 0.3:
            lines += ["} else {", *_ind(self.block(1, False, depth + 1, in_loop))]
        return [*lines, "}"]

    def _for(self, depth: int) -> list[str]:
        if self.nodes and (self.loop_var is None or self.rng.random() < 0.4):
            if self.cursor is None:
                self.cursor = self.b.var("node")
                self.decls.append((self.cursor, f"struct node *{self.cursor};"))
            cur, t = self.cursor, self.rng.choice(self.nums).name
            head = self.rng.choice(self.nodes)
            return [f"for ({cur} = {head}; {cur} != NULL; {cur} = {cur}->next) {{",
                    f"    {t} += {cur}->value;", "}"]
        i = self.loop_var
        bound = self._operand()
        op = self.rng.choice(("<", "<", "<="))
        return [f"for ({i} = 0; {i} {op} {bound}; {i}++) {{",
                *_ind(self.block(self.rng.randint(1, 2), False, depth + 1, True)), "}"]

    def _while(self) -> list[str]:
        v = self.rng.choice(self.nums).name
        body = [self.rng.choice((f"{v} >>= 1;", f"{v} /= 2;"))]
        others = [x for x in self.nums if x.name != v]
        if others and self.rng.random() < 0.6:
            body.insert(0, f"{self.rng.choice(others).name}++;")
        return [f"while ({v} > {self.rng.randrange(1, 16)}) {{", *_ind(body), "}"]

    def _switch(self, depth: int) -> list[str]:
        v = self.rng.choice(self._readable()).name
        lines = [f"switch ({v}) {{"]
        for k in sorted(self.rng.sample(range(0, 8), self.rng.randint(1, 3))):
            lines += _ind([f"case {k}:", *_ind(self.block(1, False, 2, False)), "    break;"])
        lines += _ind(["default:", "    break;"])
        return [*lines, "}"]

    def _early_return(self) -> list[str]:
        unchecked = [p for p in self.checkable if p not in self.checked]
        if unchecked and self.rng.random() < 0.6:
            p = self.rng.choice(unchecked)
            self.checked.add(p)
            return self.b.guard(self.b.is_null(p))
        return self.b.guard(self._cond())

    def _comment(self, depth: int, allow_return: bool, in_loop: bool) -> list[str]:
        text = self.rng.choice(_COMMENTS)
        line = f"/* {text} */" if self.rng.random() < 0.6 else f"// {text}"
        return [line, *self.stmt(depth, allow_return, in_loop)]

    def stmt(self, depth: int = 0, allow_return: bool = False, in_loop: bool = False) -> list[str]:
        """One filler statement (possibly compound)."""
        kinds: list[tuple[float, Callable[[], list[str]]]] = [
            (3.0, self._arith), (3.5, self._call), (0.8, self._clamp),
        ]
        if depth < 2:
            kinds.append((1.5, lambda: self._if(depth, in_loop)))
            kinds.append((0.6, self._while))
            kinds.append((0.8, lambda: self._comment(depth, allow_return, in_loop)))
            if not in_loop and (self.loop_var or self.nodes):
                kinds.append((1.2, lambda: self._for(depth)))
        if depth < 1:
            kinds.append((0.6, lambda: self._switch(depth)))
        if allow_return and depth == 0:
            kinds.append((2.0, self._early_return))
        weights = [w for w, _ in kinds]
        return self.rng.choices(kinds, weights)[0][1]()

    def block(self, n: int, allow_return: bool, depth: int = 0, in_loop: bool = False
              ) -> list[str]:
        """``n`` filler statements."""
        out: list[str] = []
        for _ in range(n):
            out += self.stmt(depth, allow_return, in_loop)
        return out


# ---------------------------------------------------------------------------------------------
# Assembly and rendering.
# ---------------------------------------------------------------------------------------------


def _render(lines: Sequence[str], style: _Style) -> str:
    """Template lines (4-space units) -> the project's indentation and brace style."""
    out: list[str] = []
    for raw in lines:
        text = raw.lstrip(" ")
        lead = len(raw) - len(text)
        pad = style.indent * (lead // 4) + " " * (lead % 4)
        if style.allman and text.endswith(" {") and text != "{":
            head = text[:-2]
            if head.startswith("} "):
                out.append(pad + "}")
                head = head[2:]
            out += [pad + head, pad + "{"]
        else:
            out.append(pad + text if text else "")
    return "\n".join(out) + "\n"


def _fail_statement(rng: random.Random, rtype: str) -> str:
    if rtype == "void":
        return "return;"
    if rtype in ("size_t", "unsigned int"):
        return "return 0;"
    return f"return {rng.choice(('-1', '-1', '-EINVAL', '-ENOMEM'))};"


def _mentions(text: str, name: str) -> bool:
    """Whether ``name`` is used as a variable (not as a struct field) in ``text``."""
    code = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)
    return re.search(rf"(?<![\w>.]){re.escape(name)}\b", code) is not None


def _build_pair(rng: random.Random, family: str, style: _Style) -> tuple[str, str, str]:
    """One vulnerable function and its safe twin: (function name, vulnerable, safe)."""
    namer = _Namer(rng, style)
    fname = namer.function()
    rtype = rng.choice(_RETURN_TYPES)
    b = _Builder(rng, namer, style, _fail_statement(rng, rtype))
    site = _FAMILY_TABLE[family](b)
    filler = _Filler(b, site.params)
    pre = filler.block(rng.randint(0, 4), allow_return=True)
    gaps = [filler.block(rng.choice((0, 1, 1, 2)), allow_return=False)
            for _ in range(len(site.vuln) - 1)]
    post = filler.block(rng.randint(0, 3), allow_return=False)
    result = rng.choice([v.name for v in filler.nums] + ["0"]) if rtype != "void" else ""

    # Real code rarely declares locals it never touches; it does keep some unused parameters.
    used = "\n".join([*pre, *(line for gap in gaps for line in gap), *post, result])
    decls = [text for name, text in filler.decls if _mentions(used, name)]
    params = site.params + [text for name, text in filler.params
                            if _mentions(used, name) or rng.random() < 0.25]
    if rng.random() < 0.4:
        rng.shuffle(params)
    sig = ", ".join(params) if params else "void"
    storage = rng.choice(("", "", "", "static "))
    header = f"{storage}{rtype} {fname}({sig})"
    head_lines: list[str] = []
    if rng.random() < 0.3:
        head_lines = ["/*", f" * {fname} - {rng.choice(_VERBS)} the {rng.choice(_NOUNS)}", " */"]
    head_lines += [header, "{"] if style.fn_brace_newline else [header + " {"]

    decl_order = list(range(len(decls) + len(site.decls)))
    rng.shuffle(decl_order)
    blank_after_decls = rng.random() < 0.7
    blank_before_return = rng.random() < 0.5

    def body(segments: list[list[str]], site_decls: list[str]) -> list[str]:
        all_decls = decls + site_decls
        lines = [all_decls[i] for i in decl_order]
        if blank_after_decls and lines:
            lines.append("")
        lines += pre
        for k, seg in enumerate(segments):
            lines += seg
            if k < len(gaps):
                lines += gaps[k]
        lines += post + site.tail
        if rtype != "void":
            if blank_before_return:
                lines.append("")
            lines.append(f"return {result};")
        return lines

    def function(segments: list[list[str]], site_decls: list[str]) -> str:
        return _render([*head_lines, *_ind(body(segments, site_decls)), "}"], style)

    safe_decls = site.decls if site.safe_decls is None else site.safe_decls
    return fname, function(site.vuln, site.decls), function(site.safe, safe_decls)


def _line_count(code: str) -> int:
    return code.count("\n")


def generate_corpus(
    n: int, seed: int = 0, vulnerable_fraction: float = 0.5, max_lines: int = _MAX_LINES
) -> list[CodeSample]:
    """``n`` labelled synthetic C functions, byte-identical for the same arguments, each of
    ``_MIN_LINES`` to ``max_lines`` lines.

    Functions come in twins (a vulnerable one and its minimal fix) that share the project, the
    function name and everything but the fix; ``extra`` records ``family``, ``pair``,
    ``function`` and ``twin_of`` (the other twin's idx, None when only one twin was kept
    because the fraction is unbalanced). Families cycle so every one appears with both labels
    once ``n >= 2 * len(FLAW_FAMILIES)`` at fraction 0.5. Order is shuffled; idx is
    ``syn-000000`` upwards in output order.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    if not 0.0 <= vulnerable_fraction <= 1.0:
        raise ValueError("vulnerable_fraction must be within [0, 1]")
    if max_lines < _SHORTEST_MAX_LINES:
        raise ValueError(f"max_lines must be at least {_SHORTEST_MAX_LINES}")
    rng = random.Random(seed)
    n_vuln = int(n * vulnerable_fraction + 0.5)
    n_safe = n - n_vuln
    n_pairs = max(n_vuln, n_safe)
    projects = list(PROJECTS)
    families = list(FLAW_FAMILIES)

    rows: list[tuple[int, int, str, str, str, str]] = []  # pair, label, family, project, fn, code
    for pair in range(n_pairs):
        if pair % len(families) == 0:
            rng.shuffle(families)
        family = families[pair % len(families)]
        project = rng.choice(projects)
        pair_rng = random.Random(rng.getrandbits(64))
        for _ in range(1000):
            fname, vuln, safe = _build_pair(pair_rng, family, PROJECTS[project])
            if all(_MIN_LINES <= _line_count(c) <= max_lines for c in (vuln, safe)):
                break
        else:  # pragma: no cover - the filler sizes make this practically unreachable
            raise RuntimeError(f"could not build a {family} function of the wanted length")
        if pair < n_vuln:
            rows.append((pair, 1, family, project, fname, vuln))
        if pair < n_safe:
            rows.append((pair, 0, family, project, fname, safe))

    rng.shuffle(rows)
    idx_of = {(pair, label): f"syn-{i:06d}" for i, (pair, label, *_) in enumerate(rows)}
    return [
        CodeSample(
            idx=idx_of[(pair, label)],
            code=code,
            label=label,
            project=project,
            extra={"family": family, "pair": pair, "function": fname,
                   "twin_of": idx_of.get((pair, 1 - label))},
        )
        for pair, label, family, project, fname, code in rows
    ]
