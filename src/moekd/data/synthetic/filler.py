"""Filler: harmless statements shared by both twins, so surface and position don't give it away.

Why: the filler sprinkles the tokens the fixes use (``NULL``, ``sizeof``, ``SIZE_MAX``,
``< 0 ||``) over both labels and moves the flaw site around in the function.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from moekd.data.synthetic.builder import Builder
from moekd.data.synthetic.lexicon import (
    COMMENTS,
    CONFIG_KEYS,
    NUM_TYPES,
    SIGNED,
    TYPE_FORMAT,
    TYPE_MAX,
)
from moekd.data.synthetic.style import ind


@dataclass
class _Var:
    """A numeric variable with its C type, which picks its printf format and limit."""

    name: str
    ctype: str


class Filler:
    """Extra locals, parameters and statements. Never indexes arrays, never allocates, always
    initialises, so it cannot add a flaw to a safe twin."""

    def __init__(self, b: Builder, site_params: Sequence[str]) -> None:
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
            ctype = self.rng.choice(NUM_TYPES)
            name = b.var("num" if ctype in SIGNED else b.pick(("num", "len")))
            init = self.rng.choice(("0", "0", "1", "-1") if ctype in SIGNED else ("0", "0", "1"))
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
        role, ctype, bucket = (
            ("str", "const char *", self.strs),
            ("ctx", "struct context *", self.ctxs),
            ("pkt", "struct packet *", self.pkts),
            ("node", "struct node *", self.nodes),
        )[kind - 2]
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
        options = [
            f"{v.name} > {k}",
            f"{v.name} == {k}",
            f"{v.name} != 0",
            f"({v.name} & 0x{self.rng.randrange(1, 256):x}) != 0",
            f"{v.name} < {self._operand(v.name)}",
            f"check_flags((unsigned int){v.name}) == 0",
            f"{v.name} >= {k}",
            f"{v.name} <= {k}",
            f"{v.name} > 0 && {v.name} < {k + 8}",
            f"{v.name} != 0 && check_flags((unsigned int){v.name}) != 0",
        ]
        if v.ctype in SIGNED:
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
            forms += [
                f"{t} = {a} + {k};",
                f"{t} = ({a} * {k}) % {m};",
                f"{t} = {a} >> {k % 8};",
                f"{t} ^= {a};",
                f"{t} = {a} & 0x{m:x};",
            ]
        return [self.rng.choice(forms)]

    def _call(self) -> list[str]:
        t = self.rng.choice(self.nums)
        v = self.rng.choice(self._readable())
        options = [
            [f'log_debug("{self.b.phrase()} {TYPE_FORMAT[v.ctype]}", {v.name});'],
            [f"update_stats((int){v.name});"],
            [f"{t.name} = check_flags((unsigned int){v.name});"],
            [f"{t.name} = align_size({v.name});"],
            [f'{t.name} = get_config_int("{self.rng.choice(CONFIG_KEYS)}");'],
            [f'printf("{self.b.phrase()}: {TYPE_FORMAT[v.ctype]}\\n", {v.name});'],
            [f'fprintf(stderr, "{self.b.phrase()}\\n");'],
        ]
        if self.strs:
            s = self.rng.choice(self.strs)
            options += [
                [f"{t.name} = hash_bytes({s}, strlen({s}));"],
                [f"{t.name} = strlen({s});"],
                [f'log_debug("{self.b.phrase()} %s", {s});'],
            ]
        if self.scratch:
            sc = self.scratch
            options += [
                [f'snprintf({sc}, sizeof({sc}), "{TYPE_FORMAT[v.ctype]}", {v.name});'],
                [f"memset({sc}, 0, sizeof({sc}));"],
                [f"{t.name} = strlen({sc});"],
                [f'printf("%s\\n", {sc});'],
            ]
        if self.ctxs:
            c = self.rng.choice(self.ctxs)
            options += [
                [
                    f"if (lock_context({c}) == 0) {{",
                    f"    {c}->refs++;",
                    f"    unlock_context({c});",
                    "}",
                ],
                [f"{c}->state = {v.name};"],
                [f"{t.name} += {c}->size;"],
            ]
        if self.pkts:
            p = self.rng.choice(self.pkts)
            options += [
                self.b.guard(f"send_packet({p}) < 0", [f'log_debug("{self.b.phrase()}");']),
                [f"{t.name} = {p}->len;"],
                [f"{p}->flags |= 0x{self.rng.randrange(1, 99):x};"],
            ]
        if self.nodes:
            n = self.rng.choice(self.nodes)
            options += [[f"{t.name} = {n}->value;"], [f"{n}->value = {v.name};"]]
        return self.rng.choice(options)

    def _clamp(self) -> list[str]:
        t = self.rng.choice(self.nums)
        limit = f"{TYPE_MAX[t.ctype]} / {self.rng.choice((2, 4, 8, 16))}"
        if self.rng.random() < 0.5:
            return self.b.guard(f"{t.name} > {limit}", [f"{t.name} = {limit};"])
        k = self.rng.randrange(8, 4096)
        return [f"{t.name} = {t.name} < {k} ? {t.name} : {k};"]

    def _if(self, depth: int, in_loop: bool) -> list[str]:
        lines = [
            f"if ({self._cond()}) {{",
            *ind(self.block(self.rng.randint(1, 2), False, depth + 1, in_loop)),
        ]
        if self.rng.random() < 0.3:
            lines += ["} else {", *ind(self.block(1, False, depth + 1, in_loop))]
        return [*lines, "}"]

    def _for(self, depth: int) -> list[str]:
        if self.nodes and (self.loop_var is None or self.rng.random() < 0.4):
            if self.cursor is None:
                self.cursor = self.b.var("node")
                self.decls.append((self.cursor, f"struct node *{self.cursor};"))
            cur, t = self.cursor, self.rng.choice(self.nums).name
            head = self.rng.choice(self.nodes)
            return [
                f"for ({cur} = {head}; {cur} != NULL; {cur} = {cur}->next) {{",
                f"    {t} += {cur}->value;",
                "}",
            ]
        i = self.loop_var
        bound = self._operand()
        op = self.rng.choice(("<", "<", "<="))
        return [
            f"for ({i} = 0; {i} {op} {bound}; {i}++) {{",
            *ind(self.block(self.rng.randint(1, 2), False, depth + 1, True)),
            "}",
        ]

    def _while(self) -> list[str]:
        v = self.rng.choice(self.nums).name
        body = [self.rng.choice((f"{v} >>= 1;", f"{v} /= 2;"))]
        others = [x for x in self.nums if x.name != v]
        if others and self.rng.random() < 0.6:
            body.insert(0, f"{self.rng.choice(others).name}++;")
        return [f"while ({v} > {self.rng.randrange(1, 16)}) {{", *ind(body), "}"]

    def _switch(self, depth: int) -> list[str]:
        v = self.rng.choice(self._readable()).name
        lines = [f"switch ({v}) {{"]
        for k in sorted(self.rng.sample(range(0, 8), self.rng.randint(1, 3))):
            lines += ind([f"case {k}:", *ind(self.block(1, False, 2, False)), "    break;"])
        lines += ind(["default:", "    break;"])
        return [*lines, "}"]

    def _early_return(self) -> list[str]:
        unchecked = [p for p in self.checkable if p not in self.checked]
        if unchecked and self.rng.random() < 0.6:
            p = self.rng.choice(unchecked)
            self.checked.add(p)
            return self.b.guard(self.b.is_null(p))
        return self.b.guard(self._cond())

    def _comment(self, depth: int, allow_return: bool, in_loop: bool) -> list[str]:
        text = self.rng.choice(COMMENTS)
        line = f"/* {text} */" if self.rng.random() < 0.6 else f"// {text}"
        return [line, *self.stmt(depth, allow_return, in_loop)]

    def stmt(self, depth: int = 0, allow_return: bool = False, in_loop: bool = False) -> list[str]:
        """One filler statement (possibly compound)."""
        kinds: list[tuple[float, Callable[[], list[str]]]] = [
            (3.0, self._arith),
            (3.5, self._call),
            (0.8, self._clamp),
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

    def block(self, n: int, allow_return: bool, depth: int = 0, in_loop: bool = False) -> list[str]:
        """``n`` filler statements."""
        out: list[str] = []
        for _ in range(n):
            out += self.stmt(depth, allow_return, in_loop)
        return out
