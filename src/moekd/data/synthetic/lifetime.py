"""Flaw families of pointer lifetime and checks: NULL, frees, initialisation, return codes."""

from __future__ import annotations

from moekd.data.synthetic.builder import Builder, Site
from moekd.data.synthetic.style import ind


def missing_null_check(b: Builder) -> Site:
    """CWE-476/690: the result of malloc/calloc/realloc is used without a NULL check."""
    variant = b.rng.randrange(4)
    if variant == 0:
        head, node, key = b.var("node"), b.var("node"), b.var("num")
        alloc = b.pick(
            (f"{node} = malloc(sizeof(*{node}));", f"{node} = calloc(1, sizeof(struct node));")
        )
        init = [
            f"{node}->key = {key};",
            f"{node}->value = 0;",
            f"{node}->next = {head}->next;",
            f"{head}->next = {node};",
        ]
        return Site(
            [f"struct node *{head}", f"int {key}"],
            [[alloc], init],
            [[alloc, *b.guard(b.is_null(node))], init],
            decls=[f"struct node *{node};"],
        )
    if variant == 1:
        arr, count, i = b.var("tbl"), b.var("len"), b.var("i")
        alloc = f"{arr} = calloc({count}, sizeof(*{arr}));"
        fill = [
            f"for ({i} = 0; {i} < {count}; {i}++)" + (" {" if b.style.brace_single else ""),
            f"    {arr}[{i}] = (int){i};",
        ] + (["}"] if b.style.brace_single else [])
        return Site(
            [f"size_t {count}"],
            [[alloc], fill],
            [[alloc, *b.guard(b.is_null(arr))], fill],
            decls=[f"int *{arr};", f"size_t {i};"],
            tail=[f"free({arr});"],
        )
    if variant == 2:
        ctx, n, tmp = b.var("ctx"), b.var("len"), b.var("ptr")
        alloc = f"{tmp} = realloc({ctx}->buf, {n});"
        rest = [f"memset({tmp}, 0, {n});", f"{ctx}->buf = {tmp};", f"{ctx}->size = {n};"]
        return Site(
            [f"struct context *{ctx}", f"size_t {n}"],
            [[alloc], rest],
            [[alloc, *b.guard(b.is_null(tmp))], rest],
            decls=[f"char *{tmp};"],
        )
    src, pkt, dup = b.var("str"), b.var("pkt"), b.var("ptr")
    alloc = f"{dup} = malloc(strlen({src}) + 1);"
    rest = [f"strcpy({dup}, {src});", f"{pkt}->data = {dup};", f"{pkt}->len = (int)strlen({dup});"]
    return Site(
        [f"const char *{src}", f"struct packet *{pkt}"],
        [[alloc], rest],
        [[alloc, *b.guard(b.is_null(dup))], rest],
        decls=[f"char *{dup};"],
    )


def use_after_free(b: Builder) -> Site:
    """CWE-416: memory is read or written after it was freed."""
    variant = b.rng.randrange(3)
    if variant == 0:
        node, key = b.var("node"), b.var("num")
        release = b.pick((f"free({node});", f"release_node({node});"))
        read = f"{key} = {node}->{b.pick(('key', 'value'))};"
        use = f"update_stats({key});"
        return Site(
            [f"struct node *{node}"],
            [[release], [read, use]],
            [[read], [release, use]],
            decls=[f"int {key};"],
        )
    if variant == 1:
        ctx = b.var("ctx")
        touch = [f"{ctx}->buf[0] = '\\0';"]
        return Site(
            [f"struct context *{ctx}"],
            [[f"free({ctx}->buf);"], b.guard(f"{ctx}->size > 0", touch)],
            [
                [f"free({ctx}->buf);", f"{ctx}->buf = NULL;"],
                b.guard(f"{ctx}->buf != NULL && {ctx}->size > 0", touch),
            ],
        )
    src, dup = b.var("str"), b.var("ptr")
    setup = [
        f"{dup} = malloc(strlen({src}) + 1);",
        *b.guard(b.is_null(dup)),
        f"strcpy({dup}, {src});",
    ]
    report = f'log_debug("{b.phrase()} %s", {dup});'
    return Site(
        [f"const char *{src}"],
        [setup, [f"free({dup});"], [report]],
        [setup, [report], [f"free({dup});"]],
        decls=[f"char *{dup};"],
    )


def double_free(b: Builder) -> Site:
    """CWE-415: an error path frees a buffer that the normal path frees again."""
    if b.rng.random() < 0.5:
        n, mode, mem = b.var("len"), b.var("num"), b.var("ptr")
        setup = [f"{mem} = malloc({n});", *b.guard(b.is_null(mem)), f"memset({mem}, 0, {n});"]
        cond = b.pick(
            (
                f"{mode} < 0",
                f"({mode} & 0x{b.rng.randrange(1, 16):x}) != 0",
                f"check_flags((unsigned int){mode}) != 0",
            )
        )
        fix = f"{mem} = NULL;" if b.rng.random() < 0.6 else b.fail
        vuln_err = [f"if ({cond}) {{", f"    free({mem});", "}"]
        safe_err = [f"if ({cond}) {{", f"    free({mem});", f"    {fix}", "}"]
        return Site(
            [f"size_t {n}", f"int {mode}"],
            [setup + vuln_err, [f"free({mem});"]],
            [setup + safe_err, [f"free({mem});"]],
            decls=[f"char *{mem};"],
        )
    pkt = b.var("pkt")
    vuln_err = [f"if (send_packet({pkt}) < 0) {{", f"    free({pkt}->data);", "}"]
    safe_err = [
        f"if (send_packet({pkt}) < 0) {{",
        f"    free({pkt}->data);",
        f"    {pkt}->data = NULL;",
        "}",
    ]
    done = [f"free({pkt}->data);", f"{pkt}->data = NULL;", f"{pkt}->len = 0;"]
    return Site([f"struct packet *{pkt}"], [vuln_err, done], [safe_err, done])


def uninitialized_use(b: Builder) -> Site:
    """CWE-457: a variable is read on a path where nothing assigned it."""
    variant = b.rng.randrange(3)
    if variant == 2:
        src, flags, name = b.var("str"), b.var("num"), b.var("str")
        pick = b.guard(f"{flags} & 0x{b.rng.randrange(1, 16):x}", [f"{name} = {src};"])
        report = b.guard(f"{name} != NULL", [f'log_debug("{b.phrase()} %s", {name});'])
        return Site(
            [f"const char *{src}", f"unsigned int {flags}"],
            [pick, report],
            [pick, report],
            decls=[f"const char *{name};"],
            safe_decls=[f"const char *{name} = NULL;"],
        )
    mode, x = b.var("num"), b.var("num")
    a, c = b.rng.sample(range(0, 8), 2)
    use = b.pick((f"update_stats({x});", f'log_debug("{b.phrase()} %d", {x});'))
    decl, init = [f"int {x};"], [f"int {x} = {b.pick(('0', '-1'))};"]
    if variant == 0:
        branch = [
            f"if ({mode} == {a}) {{",
            f"    {x} = {b.rng.randrange(1, 100)};",
            f"}} else if ({mode} == {c}) {{",
            f"    {x} = {b.rng.randrange(1, 100)};",
            "}",
        ]
        return Site([f"int {mode}"], [branch, [use]], [branch, [use]], decls=decl, safe_decls=init)
    cases = ["switch (" + mode + ") {"]
    for k in (a, c):
        cases += ind([f"case {k}:", f"    {x} = {b.rng.randrange(1, 100)};", "    break;"])
    if b.rng.random() < 0.5:  # fix by initialising
        return Site(
            [f"int {mode}"],
            [cases + ["}"], [use]],
            [cases + ["}"], [use]],
            decls=decl,
            safe_decls=init,
        )
    fixed = [*cases, *ind(["default:", f"    {x} = 0;", "    break;"]), "}"]
    return Site([f"int {mode}"], [cases + ["}"], [use]], [fixed, [use]], decls=decl)


def unchecked_return(b: Builder) -> Site:
    """CWE-252: an error return value is used as if the call had succeeded."""
    variant = b.rng.randrange(3)
    if variant == 0:
        buf, n = b.var("buf"), b.var("len")
        call = [f"{n} = read_input({buf}, sizeof({buf}) - 1);"]
        rest = [f"{buf}[{n}] = '\\0';", f'log_debug("{b.phrase()} %s", {buf});']
        return Site(
            [],
            [call + rest],
            [call + b.guard(f"{n} < 0") + rest],
            decls=[f"char {buf}[{b.size()}];", f"int {n};"],
        )
    if variant == 1:
        tbl, key, val, slot = b.var("tbl"), b.var("num"), b.var("num"), b.var("idx")
        call = [f"{slot} = find_slot({tbl}, {key});"]
        store = [f"{tbl}->slots[{slot}] = {val};"]
        return Site(
            [f"struct table *{tbl}", f"int {key}", f"int {val}"],
            [call, store],
            [call + b.guard(f"{slot} < 0"), store],
            decls=[f"int {slot};"],
        )
    ctx = b.var("ctx")
    work = [
        f"{ctx}->refs++;",
        f"{ctx}->state = {b.rng.randrange(0, 5)};",
        f"unlock_context({ctx});",
    ]
    return Site(
        [f"struct context *{ctx}"],
        [[f"lock_context({ctx});"], work],
        [b.guard(f"lock_context({ctx}) != 0"), work],
    )
