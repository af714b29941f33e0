"""moekd.cparse on hand-written tricky C: what is renamable, exact renames, and the checks."""

from __future__ import annotations

import pytest

from moekd.cparse import (
    RenameError,
    bind,
    check_preserved,
    code_tokens,
    computed_from_edges,
    dataflow_edges,
    extract_functions,
    preservation_problem,
    renamable_identifiers,
    rename,
    validate_new_name,
)


def names(code: str) -> set[str]:
    return {ident.name for ident in renamable_identifiers(code)}


def rename_checked(code: str, mapping: dict[str, str]) -> str:
    renamed = rename(code, mapping)
    assert preservation_problem(code, renamed) is None
    return renamed


def rename_all(code: str) -> str:
    """Rename every renamable name to a fresh one and insist the result is preserved."""
    mapping = {ident.name: f"zz_{ident.name}_q" for ident in renamable_identifiers(code)}
    return rename_checked(code, mapping)


# -- what is renamable ---------------------------------------------------------------------------


def test_struct_field_with_a_locals_name_is_untouched() -> None:
    code = "int f(struct buf *s) {\n  int len = s->len;\n  s->len = len + 1;\n  return len;\n}"
    assert names(code) == {"s", "len"}
    assert rename_checked(code, {"len": "n"}) == (
        "int f(struct buf *s) {\n  int n = s->len;\n  s->len = n + 1;\n  return n;\n}"
    )


def test_struct_tag_and_designator_with_a_locals_name_are_untouched() -> None:
    code = "void f(int x) { struct x *p = 0; struct pt q = { .x = x }; g(p, q); }"
    assert rename_checked(code, {"x": "v"}) == (
        "void f(int v) { struct x *p = 0; struct pt q = { .x = v }; g(p, q); }"
    )


def test_shadowing_in_nested_blocks_binds_each_use_to_its_declaration() -> None:
    code = "int f(int x) {\n  int y = x;\n  {\n    int x = 2;\n    y += x;\n  }\n  return x + y;\n}"
    result = bind(code)
    xs = [b for b in result.bindings if b.name == "x"]
    assert [b.kind for b in xs] == ["param", "local"]
    data = code.encode()
    param, local = xs
    assert [data[s - 4 : e] for s, e in param.occurrences] == [b"int x", b"y = x", b"urn x"]
    assert [data[s - 4 : e] for s, e in local.occurrences] == [b"int x", b" += x"]
    # grouped by name: renaming `x` renames the parameter and the inner local
    (ident,) = [i for i in renamable_identifiers(code) if i.name == "x"]
    assert [d.kind for d in ident.declarations] == ["param", "local"]
    assert len(ident.occurrences) == 5


def test_a_global_of_the_same_name_outside_the_locals_scope_is_not_renamed() -> None:
    code = (
        "int f(void) {\n  int a = counter;\n  {\n    int counter = 1;\n    a += counter;\n  }\n"
        "  return a + counter;\n}"
    )
    assert rename_checked(code, {"counter": "c2"}) == (
        "int f(void) {\n  int a = counter;\n  {\n    int c2 = 1;\n    a += c2;\n  }\n"
        "  return a + counter;\n}"
    )


def test_use_before_the_declaration_refers_to_the_outer_name() -> None:
    code = "void f(void) { g = n; int n = 1; h(n); }"
    assert rename_checked(code, {"n": "m"}) == "void f(void) { g = n; int m = 1; h(m); }"


def test_macro_arguments_are_renamed_macro_names_are_not() -> None:
    code = "void f(int x) { FOO(x); CHECK(x > 0, BAR); }"
    assert names(code) == {"x"}
    assert rename_checked(code, {"x": "y"}) == "void f(int y) { FOO(y); CHECK(y > 0, BAR); }"


def test_a_local_named_in_a_define_inside_the_function_is_not_offered() -> None:
    code = "int f(int a, int b) {\n#define TWICE(v) ((v) + (v) + a)\n  return TWICE(b);\n}"
    assert names(code) == {"b"}


def test_kr_parameters() -> None:
    code = "int f(a, b)\n    int a;\n    char *b;\n{\n    return a + b[0];\n}"
    assert names(code) == {"a", "b"}
    assert all(i.is_parameter for i in renamable_identifiers(code))
    assert rename_checked(code, {"a": "p", "b": "q"}) == (
        "int f(p, q)\n    int p;\n    char *q;\n{\n    return p + q[0];\n}"
    )


def test_function_pointers() -> None:
    code = (
        "int f(int v) {\n  int (*cb)(int n) = handler;\n  void (*table[4])(void);\n"
        "  return cb(v);\n}"
    )
    assert names(code) == {"v", "cb", "table"}  # not `handler`, not the prototype's `n`
    assert rename_checked(code, {"cb": "fp"}) == (
        "int f(int v) {\n  int (*fp)(int n) = handler;\n  void (*table[4])(void);\n"
        "  return fp(v);\n}"
    )


def test_goto_labels_are_never_renamed() -> None:
    code = "int f(int out) {\n  if (out) goto out;\n  return 0;\nout:\n  return out;\n}"
    assert rename_checked(code, {"out": "o"}) == (
        "int f(int o) {\n  if (o) goto out;\n  return 0;\nout:\n  return o;\n}"
    )


def test_label_addresses_are_not_variables() -> None:
    code = "void f(int out) { static void *t[] = { &&out }; goto *t[0]; out: g(out); }"
    assert rename_checked(code, {"out": "o"}) == (
        "void f(int o) { static void *t[] = { &&out }; goto *t[0]; out: g(o); }"
    )


def test_for_loop_declarations_are_scoped_to_the_loop() -> None:
    code = (
        "int f(int n) {\n  int s = 0;\n  for (int i = 0; i < n; i++) s += i;\n"
        "  for (int i = n; i > 0; i--) { int j = i; s -= j; }\n  return s;\n}"
    )
    (ident,) = [i for i in renamable_identifiers(code) if i.name == "i"]
    assert len(ident.declarations) == 2 and len(ident.occurrences) == 8
    after = "int g(void) { for (int i = 0; i < 3; i++) {} return i; }"
    assert rename_checked(after, {"i": "k"}) == (
        "int g(void) { for (int k = 0; k < 3; k++) {} return i; }"
    )


def test_all_declarator_kinds() -> None:
    code = (
        "void f(void) {\n  int i = 0, j, *p = &i, arr[10];\n  char *buf[16];\n  char **pp;\n"
        "  int m[2][3];\n  int (paren);\n  static const unsigned long long big = 1;\n"
        "  g(i, j, p, arr, buf, pp, m, paren, big);\n}"
    )
    assert names(code) == {"i", "j", "p", "arr", "buf", "pp", "m", "paren", "big"}
    rename_all(code)


def test_the_functions_own_name_is_not_renamable() -> None:
    code = "int fact(int n) { return n <= 1 ? 1 : n * fact(n - 1); }"
    assert names(code) == {"n"}
    assert rename_checked(code, {"n": "k"}) == (
        "int fact(int k) { return k <= 1 ? 1 : k * fact(k - 1); }"
    )
    with pytest.raises(RenameError):
        rename(code, {"fact": "other"})


def test_globals_callees_and_library_names_are_not_renamable() -> None:
    code = "void f(char *dst, const char *src, size_t n) { memcpy(dst, src, n); g_count++; }"
    assert names(code) == {"dst", "src", "n"}


def test_sizeof_of_a_variable_is_renamed() -> None:
    code = "int f(void) { int buf[8]; return sizeof(buf) + sizeof buf; }"
    assert rename_checked(code, {"buf": "b"}) == (
        "int f(void) { int b[8]; return sizeof(b) + sizeof b; }"
    )


def test_enum_constants_are_not_renamable() -> None:
    code = "int f(int v) {\n  enum { RED, GREEN } c = RED;\n  return v == GREEN ? c : RED;\n}"
    assert names(code) == {"v", "c"}


def test_extern_declarations_and_local_prototypes_are_not_renamable() -> None:
    code = "void f(void) { int n = 1; { extern int n; g(n); } int helper(int); g(n + helper(2)); }"
    assert names(code) == {"n"}
    assert rename_checked(code, {"n": "m"}) == (
        "void f(void) { int m = 1; { extern int n; g(n); } int helper(int); g(m + helper(2)); }"
    )


def test_typedef_names_are_not_renamable() -> None:
    code = "void f(void) { typedef int T; T x = 1; g((T)x); }"
    assert names(code) == {"x"}


def test_a_local_called_like_a_function_is_a_macro_call() -> None:
    code = "int f(int min, int (*cb)(int)) { int a = min(1, 2); return cb(a) + min; }"
    assert names(code) == {"cb", "a"}


def test_member_arguments_of_container_of_and_queue_macros() -> None:
    code = (
        "void f(BusState *qbus) {\n  PCIBus *bus = container_of(qbus, PCIBus, bus);\n"
        "  Node *node = g(bus);\n  QLIST_REMOVE(node, node);\n}"
    )
    assert rename_checked(code, {"bus": "b", "node": "n"}) == (
        "void f(BusState *qbus) {\n  PCIBus *b = container_of(qbus, PCIBus, bus);\n"
        "  Node *n = g(b);\n  QLIST_REMOVE(n, node);\n}"
    )


def test_expression_statement_that_looks_like_a_declaration() -> None:
    code = "void f(int x, int y) { x * y; }"
    assert rename_checked(code, {"x": "a", "y": "b"}) == "void f(int a, int b) { a * b; }"


# -- Devign-style code ---------------------------------------------------------------------------


def test_macro_decorated_head() -> None:
    code = "static av_cold int init(AVCodecContext *avctx)\n{\n    avctx->x = 1;\n    return 0;\n}"
    assert names(code) == {"avctx"}


def test_head_without_return_type_is_repaired() -> None:
    code = "opts_type_size(Visitor *v, const char *name)\n{\n    int x = v->n;\n    return x;\n}"
    assert names(code) == {"v", "name", "x"}
    assert rename_all(code).startswith("opts_type_size(Visitor *zz_v_q, const char *zz_name_q)")


def test_macro_generated_function_name() -> None:
    code = "static void FUNC(put_pixels)(uint8_t *dst, int stride) { dst[0] = stride; }"
    assert names(code) == {"dst", "stride"}


def test_foreach_macro_blocks() -> None:
    code = "void f(void) {\n  CPUState *cs;\n  CPU_FOREACH(cs) {\n    g(cs);\n  }\n}"
    assert rename_checked(code, {"cs": "c"}) == (
        "void f(void) {\n  CPUState *c;\n  CPU_FOREACH(c) {\n    g(c);\n  }\n}"
    )


def test_declaration_split_by_an_attribute_macro() -> None:
    code = "float64 f(int64 a STATUS_PARAM) { return g(a STATUS_VAR); }"
    assert names(code) == {"a"}
    assert rename_checked(code, {"a": "b"}) == (
        "float64 f(int64 b STATUS_PARAM) { return g(b STATUS_VAR); }"
    )


def test_function_with_a_lost_closing_brace_still_renames_faithfully() -> None:
    code = (
        "static int f(int a)\n{\n    int i;\n    for (i = 0; i < a; i++) {\n        g(i);\n"
        "    return a;\n}\n"
    )
    assert {"a", "i"} <= names(code)
    rename_all(code)


def test_damaged_parse_does_not_trust_scope_edges() -> None:
    clean = "void f(void) { { int x = 1; g(x); } h(x); }"
    assert names(clean) == {"x"}  # a clean parse: the outer `x` is some global
    assert names(clean.replace("}", "} @@", 1)) == set()  # damaged: maybe the same variable


def test_error_recovery_that_moves_with_name_length_is_still_preserved() -> None:
    code = (
        "uint64_t float64_to_uint64 (float64 a STATUS_PARAM)\n\n{\n\n    int64_t v;\n\n"
        "    v = int64_to_float64(INT64_MIN STATUS_VAR);\n\n"
        "    v = float64_to_int64((a + v) STATUS_VAR);\n\n    return v - INT64_MIN;\n\n}\n"
    )
    assert names(code) == {"a", "v"}
    for mapping in ({"a": "var_0"}, {"v": "var_1"}, {"a": "q", "v": "w"}):
        assert check_preserved(code, rename(code, mapping))


def test_non_ascii_text_keeps_byte_offsets_right() -> None:
    code = 'int f(int a) { /* héllo ü */ const char *s = "ñ€"; return a + s[0]; }'
    assert rename_checked(code, {"a": "b", "s": "t"}) == (
        'int f(int b) { /* héllo ü */ const char *t = "ñ€"; return b + t[0]; }'
    )


# -- new names and the preservation check ---------------------------------------------------------


@pytest.mark.parametrize(
    "bad", ["int", "while", "_Bool", "restrict", "1abc", "a-b", "", "size_t", "NULL", "errno"]
)
def test_validate_new_name_rejects_keywords_and_invalid_names(bad: str) -> None:
    with pytest.raises(RenameError):
        validate_new_name("int f(int a) { return a; }", bad)


@pytest.mark.parametrize("existing", ["len", "buf", "f", "g", "out", "T"])
def test_validate_new_name_rejects_any_token_of_the_function(existing: str) -> None:
    code = "int f(struct buf *s, T t) { int a = s->len; if (a) goto out; out: return g(a); }"
    with pytest.raises(RenameError, match="already occurs"):
        validate_new_name(code, existing)
    validate_new_name(code, "fresh_name")


def test_rename_errors() -> None:
    code = "int f(int a) { return a + glob; }"
    assert issubclass(RenameError, ValueError)
    with pytest.raises(RenameError):
        rename(code, {"glob": "g2"})  # not a parameter or local
    with pytest.raises(RenameError):
        rename(code, {"a": "glob"})  # capture of a global
    assert rename(code, {}) == code and rename(code, {"a": "a"}) == code


def test_check_preserved_catches_broken_renamings() -> None:
    code = "int f(struct s *p, int b) { int len = p->len; return len + b; }"
    assert check_preserved(code, rename(code, {"len": "n"}))
    assert not check_preserved(code, code.replace("p->len", "p->n"))  # a field renamed
    assert not check_preserved(code, code.replace("return len", "return n"))  # partly renamed
    assert not check_preserved(code, code.replace("len", "b"))  # captured by the parameter
    assert not check_preserved(code, code.replace("int len", "int len,"))  # new syntax error
    assert not check_preserved(code, code.replace("len", "while"))  # a keyword


def test_every_renaming_of_tricky_code_is_preserved() -> None:
    code = (
        "static int *g(int a, int (*cb)(int), struct node *n) {\n"
        "  int i = 0, *p = &i;\n"
        "  for (int j = 0; j < a; j++) { int i = j * 2; p[j] = cb(i) + n->i; }\n"
        "  while (n) { struct node *next = n->next; n = next; }\n"
        "  switch (a) { case 1: { int a = 3; i += a; } break; default: break; }\n"
        "  return sizeof(i) > 4 ? p : (int *)0;\n"
        "}\n"
    )
    assert names(code) == {"a", "cb", "n", "i", "p", "j", "next"}
    renamed = rename_all(code)
    assert "n->i" not in renamed and "zz_n_q->i" in renamed and "->next" in renamed


# -- functions and data flow -----------------------------------------------------------------------

SOURCE = """#include <stdio.h>
#if HAVE_X
static int one(int a) { return a; }
#endif
extern "C" {
int two(void) { return 2; }
}
int kr(a, b)
    int a;
    char *b;
{
    return a;
}
char *ptr(void)
{
    return 0;
}
static av_cold int init(AVCodecContext *avctx)
{
    return 0;
}
int (*getf(void))(int) { return 0; }
static void FUNC(put)(int x) { }
"""


def test_extract_functions_finds_every_definition() -> None:
    found = extract_functions(SOURCE)
    assert [f.name for f in found] == ["one", "two", "kr", "ptr", "init", "getf", "FUNC(put)"]
    kr = found[2]
    assert (kr.start_line, kr.end_line) == (8, 13)
    assert kr.code.startswith("int kr(a, b)") and kr.code.endswith("}")
    data = SOURCE.encode()
    assert all(data[f.start_byte : f.end_byte].decode() == f.code for f in found)


def test_extract_functions_reports_byte_offsets_after_non_ascii() -> None:
    source = "/* ü */\nint f(void) { return 1; }\n"
    (func,) = extract_functions(source)
    assert func.start_byte == len("/* ü */\n".encode()) and func.start_line == 2


def test_dataflow_edges_link_definitions_to_later_uses() -> None:
    code = "int f(int a) { int b = a; b = b + 1; b++; return b; }"
    tokens = code_tokens(code)
    a_decl, b_decl, a_use, b_def, b_old, b_inc, b_ret = [
        i for i, t in enumerate(tokens) if t in ("a", "b")
    ]
    assert tokens[b_decl] == "b" and tokens[a_use] == "a"
    # `b = b + 1` reads the declared b; `b++` reads the assigned one; return reads the increment
    assert set(dataflow_edges(code)) == {
        (a_decl, a_use),
        (b_decl, b_old),
        (b_def, b_inc),
        (b_inc, b_ret),
    }


def test_computed_from_edges_link_the_right_hand_side_to_the_variable_assigned() -> None:
    code = (
        "int f(int a, int c) { int b = a + g(c); b += a; int *p = &b, q[2] = {c}; "
        "*p = a; s.f = c; return b; }"
    )
    at: dict[str, list[int]] = {}
    for i, t in enumerate(code_tokens(code)):
        at.setdefault(t, []).append(i)
    a, b, c, p, q = (at[n] for n in "abcpq")
    # int b = a + g(c): b from a and c (the called name is no variable); b += a: b from a;
    # int *p = &b: p from b (through the pointer declarator); q[2] = {c}: q from c;
    # *p = a and s.f = c assign no variable by name: no edge
    assert set(computed_from_edges(code)) == {
        (a[1], b[0]),
        (c[1], b[0]),
        (a[2], b[1]),
        (b[2], p[0]),
        (c[2], q[0]),
    }
    assert len(a) == 4 and len(c) == 4 and len(p) == 2
