"""Flaw families of bounds and arithmetic: copies, indices, lengths, sizes, formats."""

from __future__ import annotations

from moekd.data.synthetic.builder import Builder, Site
from moekd.data.synthetic.prelude import TABLE_SLOTS


def unchecked_copy(b: Builder) -> Site:
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
    return Site(
        params, [vuln_check + copy + use], [safe_check + copy + use], decls=[f"char {buf}[{size}];"]
    )


def off_by_one(b: Builder) -> Site:
    """CWE-193: ``<=`` for ``<``, ``>`` for ``>=``, or writing the terminator one past the end."""
    variant = b.rng.randrange(4)
    if variant == 0:
        tbl, i, size = b.var("tbl"), b.var("i"), b.rng.choice((8, 16, 32, 64))
        elem = b.pick(("int", "char", "unsigned char", "long"))
        bound = b.pick((str(size), f"(int)(sizeof({tbl}) / sizeof({tbl}[0]))"))
        value = b.pick(("0", i, f"{i} * 2", f"{i} + 1"))

        def loop(op: str) -> list[str]:
            return [
                f"for ({i} = 0; {i} {op} {bound}; {i}++)" + (" {" if b.style.brace_single else ""),
                f"    {tbl}[{i}] = {value};",
            ] + (["}"] if b.style.brace_single else [])

        use = [f"update_stats((int){tbl}[{b.rng.randrange(size)}]);"]
        return Site(
            [], [loop("<=") + use], [loop("<") + use], decls=[f"{elem} {tbl}[{size}];", f"int {i};"]
        )
    if variant == 1:
        arr, count, i, total = b.var("tbl"), b.var("len"), b.var("i"), b.var("num")

        def loop(op: str) -> list[str]:
            return [
                f"for ({i} = 0; {i} {op} {count}; {i}++) {{",
                f"    {total} += {arr}[{i}];",
                "}",
            ]

        use = [f'log_debug("{b.phrase()} %ld", {total});']
        return Site(
            [f"const int *{arr}", f"size_t {count}"],
            [loop("<=") + use],
            [loop("<") + use],
            decls=[f"size_t {i};", f"long {total} = 0;"],
        )
    if variant == 2:
        tbl, idx, val = b.var("tbl"), b.var("idx"), b.var("num")
        bound = b.pick((str(TABLE_SLOTS), f"(int)(sizeof({tbl}->slots) / sizeof({tbl}->slots[0]))"))
        store = [f"{tbl}->slots[{idx}] = {val};", f"{tbl}->count++;"]
        return Site(
            [f"struct table *{tbl}", f"int {idx}", f"int {val}"],
            [b.guard(f"{idx} < 0 || {idx} > {bound}") + store],
            [b.guard(f"{idx} < 0 || {idx} >= {bound}") + store],
        )
    buf, src, size = b.var("buf"), b.var("str"), b.size()
    end = b.pick((f"sizeof({buf})", str(size)))
    copy = [f"strncpy({buf}, {src}, sizeof({buf}));"]
    use = [f'log_debug("{b.phrase()}: %s", {buf});']
    return Site(
        [f"const char *{src}"],
        [copy + [f"{buf}[{end}] = '\\0';"] + use],
        [copy + [f"{buf}[{end} - 1] = '\\0';"] + use],
        decls=[f"char {buf}[{size}];"],
    )


def integer_overflow(b: Builder) -> Site:
    """CWE-190/680: an allocation size wraps around, then the full amount is written."""
    variant = b.rng.randrange(3)
    if variant == 0:
        count, val, arr, i = b.var("len"), b.var("num"), b.var("tbl"), b.var("i")
        alloc = [f"{arr} = malloc({count} * sizeof(*{arr}));"]
        vuln_check, safe_check = b.check(f"{count} == 0", f"{count} > SIZE_MAX / sizeof(*{arr})")
        rest = [
            *b.guard(b.is_null(arr)),
            f"for ({i} = 0; {i} < {count}; {i}++) {{",
            f"    {arr}[{i}] = {val};",
            "}",
        ]
        return Site(
            [f"size_t {count}", f"int {val}"],
            [vuln_check + alloc + rest],
            [safe_check + alloc + rest],
            decls=[f"int *{arr};", f"size_t {i};"],
            tail=[f"free({arr});"],
        )
    if variant == 1:
        w, h, pix, total, row = (b.var("len"), b.var("len"), b.var("ptr"), b.var("len"), b.var("i"))
        vuln_check, safe_check = b.check(
            f"{w} <= 0 || {h} <= 0", f"{w} <= 0 || {h} <= 0 || {w} > INT_MAX / {h}"
        )
        if vuln_check:  # the weak check is a prefix of the full one: replace, don't join
            safe_check = b.guard(f"{w} <= 0 || {h} <= 0 || {w} > INT_MAX / {h}")
        rest = [
            f"{total} = {w} * {h};",
            f"{pix} = malloc({total});",
            *b.guard(b.is_null(pix)),
            f"for ({row} = 0; {row} < {h}; {row}++)" + (" {" if b.style.brace_single else ""),
            f"    memset({pix} + (size_t){row} * {w}, 0, {w});",
        ]
        rest += ["}"] if b.style.brace_single else []
        return Site(
            [f"int {w}", f"int {h}"],
            [vuln_check + rest],
            [safe_check + rest],
            decls=[f"unsigned char *{pix};", f"int {total};", f"int {row};"],
            tail=[f"free({pix});"],
        )
    src, n, dup = b.var("str"), b.var("len"), b.var("ptr")
    hdr = b.rng.choice((4, 8, 16, 32))
    vuln_check, safe_check = b.check(f"{n} == 0", f"{n} > SIZE_MAX - {hdr}")
    rest = [
        f"{dup} = malloc({n} + {hdr});",
        *b.guard(b.is_null(dup)),
        f"memset({dup}, 0, {hdr});",
        f"memcpy({dup} + {hdr}, {src}, {n});",
    ]
    return Site(
        [f"const char *{src}", f"size_t {n}"],
        [vuln_check + rest],
        [safe_check + rest],
        decls=[f"char *{dup};"],
        tail=[f"free({dup});"],
    )


def format_string(b: Builder) -> Site:
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
        setup = [
            f"{got} = read_input({msg}, sizeof({msg}) - 1);",
            *b.guard(f"{got} < 0"),
            f"{msg}[{got}] = '\\0';",
        ]
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
        return Site(
            params, [setup + [vuln] + setup_tail], [setup + [safe] + setup_tail], decls=decls
        )
    return Site(params, [setup + [vuln]], [setup + [safe]], decls=decls)


def unchecked_index(b: Builder) -> Site:
    """CWE-129: an index from the caller is used without a range check."""
    variant = b.rng.randrange(3)
    if variant == 0:
        tbl, idx, val = b.var("tbl"), b.var("idx"), b.var("num")
        bound = b.pick((str(TABLE_SLOTS), f"(int)(sizeof({tbl}->slots) / sizeof({tbl}->slots[0]))"))
        vuln_check, safe_check = b.check(f"{val} < 0", f"{idx} < 0 || {idx} >= {bound}")
        store = [f"{tbl}->slots[{idx}] = {val};"]
        return Site(
            [f"struct table *{tbl}", f"int {idx}", f"int {val}"],
            [vuln_check + store],
            [safe_check + store],
        )
    if variant == 1:
        lut, idx, res = b.var("tbl"), b.var("idx"), b.var("num")
        values = ", ".join(str(b.rng.randrange(0, 200)) for _ in range(b.rng.randrange(4, 9)))
        n = values.count(",") + 1
        bound = b.pick((str(n), f"sizeof({lut}) / sizeof({lut}[0])"))
        lookup = [f"{res} = {lut}[{idx}];", f"update_stats({res});"]
        return Site(
            [f"{b.pick(('unsigned int', 'size_t'))} {idx}"],
            [lookup],
            [b.guard(f"{idx} >= {bound}") + lookup],
            decls=[f"static const int {lut}[{n}] = {{{values}}};", f"int {res};"],
        )
    pkt, off, ch = b.var("pkt"), b.var("idx"), b.var("num")
    read = [f"{ch} = {pkt}->data[{off}];", f'log_debug("{b.phrase()} %d", {ch});']
    vuln_check, safe_check = b.check(f"{pkt}->data == NULL", f"{off} < 0 || {off} >= {pkt}->len")
    return Site(
        [f"const struct packet *{pkt}", f"int {off}"],
        [vuln_check + read],
        [safe_check + read],
        decls=[f"int {ch};"],
    )


def signed_length(b: Builder) -> Site:
    """CWE-195: a signed length passes an upper-bound check when negative."""
    buf, size = b.var("buf"), b.size()
    bound = b.pick((str(size), f"(int)sizeof({buf})"))
    if b.rng.random() < 0.5:
        src, n = b.var("str"), b.var("len")
        params, data, length = [f"const char *{src}", f"int {n}"], src, n
    else:
        pkt = b.var("pkt")
        params, data, length = [f"struct packet *{pkt}"], f"{pkt}->data", f"{pkt}->len"
    copy = [
        f"memcpy({buf}, {data}, {length});",
        f"update_stats((int)hash_bytes({buf}, (size_t){length}));",
    ]
    return Site(
        params,
        [b.guard(f"{length} > {bound}") + copy],
        [b.guard(f"{length} < 0 || {length} > {bound}") + copy],
        decls=[f"char {buf}[{size}];"],
    )
