"""What a flaw family builds with: unique styled names, guards, and the flaw site it returns.

Why: both twins of a pair come from one :class:`Builder`, so they share the function name, the
identifiers and the failure statement; only the segments of the :class:`Site` differ.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from moekd.data.synthetic.lexicon import NOUNS, PHRASES, QUALIFIERS, RESERVED, ROLE_WORDS, VERBS
from moekd.data.synthetic.style import Style, ind


class Namer:
    """Hands out identifiers unique within one function, styled like the project."""

    def __init__(self, rng: random.Random, style: Style) -> None:
        self.rng = rng
        self.style = style
        self.used: set[str] = set()

    def _compose(self, words: Sequence[str]) -> str:
        if not self.style.camel:
            return "_".join(words)
        return words[0] + "".join(w[:1].upper() + w[1:] for w in words[1:])

    def _claim(self, name: str) -> bool:
        if name in self.used or name in RESERVED:
            return False
        self.used.add(name)
        return True

    def var(self, role: str) -> str:
        """A fresh local/parameter name for ``role`` (buf, len, idx, ...)."""
        words = ROLE_WORDS[role]
        for _ in range(30):
            base = self.rng.choice(words)
            parts = [self.rng.choice(QUALIFIERS), base] if self.rng.random() < 0.35 else [base]
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
            words = [self.rng.choice(VERBS), self.rng.choice(NOUNS)]
            if self.rng.random() < 0.3:
                words.insert(1, self.rng.choice(QUALIFIERS))
            prefix = self.style.prefix if self.rng.random() < 0.6 else ""
            if self.style.camel and prefix:
                name = prefix + "".join(w.capitalize() for w in words)
            else:
                name = prefix + self._compose(words)
            if self._claim(name):
                return name


class Builder:
    """What a flaw family needs: randomness, names and the function's failure statement."""

    def __init__(self, rng: random.Random, namer: Namer, style: Style, fail: str) -> None:
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
        return self.rng.choice(PHRASES)

    def is_null(self, ptr: str) -> str:
        return f"{ptr} == NULL" if self.rng.random() < 0.65 else f"!{ptr}"

    def guard(self, cond: str, body: Sequence[str] | None = None) -> list[str]:
        """``if (cond) body`` in the project's brace style; the body defaults to failing."""
        body = [self.fail] if body is None else list(body)
        if len(body) == 1 and not self.style.brace_single:
            return [f"if ({cond})", *ind(body)]
        return [f"if ({cond}) {{", *ind(body), "}"]

    def check(self, weak: str, full: str) -> tuple[list[str], list[str]]:
        """(vulnerable, safe) guards: none vs ``full``, or sometimes an incomplete ``weak``
        check vs ``weak || full`` so the twins have the same shape and line count."""
        if self.rng.random() < 0.35:
            joined = f"({full})" if "&&" in full else full
            return self.guard(weak), self.guard(f"{weak} || {joined}")
        return [], self.guard(full)


@dataclass
class Site:
    """A flaw and its fix: parallel segments, filler may go between segments (same in both)."""

    params: list[str]
    vuln: list[list[str]]
    safe: list[list[str]]
    decls: list[str] = field(default_factory=list)
    safe_decls: list[str] | None = None  # when the fix is in a declaration
    tail: list[str] = field(default_factory=list)  # shared cleanup before the final return
