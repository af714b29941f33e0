"""Assembling one vulnerable function and its safe twin from a flaw site and filler.

Why one routine for both: every random draw (name, return type, filler, declaration order,
blank lines) is made once and shared, so the twins differ only by the fix.
"""

from __future__ import annotations

import random
import re

from moekd.data.synthetic.builder import Builder, Namer
from moekd.data.synthetic.filler import Filler
from moekd.data.synthetic.flaws import FAMILY_TABLE
from moekd.data.synthetic.lexicon import NOUNS, RETURN_TYPES, VERBS
from moekd.data.synthetic.style import Style, ind, render


def _fail_statement(rng: random.Random, rtype: str) -> str:
    """The early return every guard uses; it must type-check against ``rtype``."""
    if rtype == "void":
        return "return;"
    if rtype in ("size_t", "unsigned int"):
        return "return 0;"
    return f"return {rng.choice(('-1', '-1', '-EINVAL', '-ENOMEM'))};"


def _mentions(text: str, name: str) -> bool:
    """Whether ``name`` is used as a variable (not as a struct field) in ``text``."""
    code = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)
    return re.search(rf"(?<![\w>.]){re.escape(name)}\b", code) is not None


def build_pair(rng: random.Random, family: str, style: Style) -> tuple[str, str, str]:
    """One vulnerable function and its safe twin: (function name, vulnerable, safe)."""
    namer = Namer(rng, style)
    fname = namer.function()
    rtype = rng.choice(RETURN_TYPES)
    b = Builder(rng, namer, style, _fail_statement(rng, rtype))
    site = FAMILY_TABLE[family](b)
    filler = Filler(b, site.params)
    pre = filler.block(rng.randint(0, 4), allow_return=True)
    gaps = [
        filler.block(rng.choice((0, 1, 1, 2)), allow_return=False)
        for _ in range(len(site.vuln) - 1)
    ]
    post = filler.block(rng.randint(0, 3), allow_return=False)
    result = rng.choice([v.name for v in filler.nums] + ["0"]) if rtype != "void" else ""

    # Real code rarely declares locals it never touches; it does keep some unused parameters.
    used = "\n".join([*pre, *(line for gap in gaps for line in gap), *post, result])
    decls = [text for name, text in filler.decls if _mentions(used, name)]
    params = site.params + [
        text for name, text in filler.params if _mentions(used, name) or rng.random() < 0.25
    ]
    if rng.random() < 0.4:
        rng.shuffle(params)
    sig = ", ".join(params) if params else "void"
    storage = rng.choice(("", "", "", "static "))
    header = f"{storage}{rtype} {fname}({sig})"
    head_lines: list[str] = []
    if rng.random() < 0.3:
        head_lines = ["/*", f" * {fname} - {rng.choice(VERBS)} the {rng.choice(NOUNS)}", " */"]
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
        return render([*head_lines, *ind(body(segments, site_decls)), "}"], style)

    safe_decls = site.decls if site.safe_decls is None else site.safe_decls
    return fname, function(site.vuln, site.decls), function(site.safe, safe_decls)
