"""The words synthetic code is made of: identifiers by role, names, phrases and C types.

Why here: flaw sites and filler draw from the same lists, so no word tells the labels apart.
"""

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
# Names a generated identifier must never take: C keywords, libc and the prelude's helpers.
RESERVED = frozenset(f"{_C_KEYWORDS} {_LIBC} {_HELPERS}".split())

# Identifier vocabulary by role (buf, len, idx, ...), as asked for by Namer.var.
ROLE_WORDS: dict[str, tuple[str, ...]] = {
    "buf": ("buf", "tmp", "out", "scratch", "line", "name", "label", "work", "staging", "dst"),
    "len": ("len", "size", "n", "count", "total", "nbytes", "length", "remaining", "avail"),
    "idx": ("idx", "pos", "slot", "off", "offset", "which", "id", "pick", "sel"),
    "i": ("i", "j", "k", "pos", "cur", "step", "iter"),
    "ptr": ("p", "data", "mem", "block", "entry", "item", "res", "obj", "chunk", "raw"),
    "str": ("src", "input", "str", "name", "msg", "text", "arg", "key", "path", "spec"),
    "pkt": ("pkt", "packet", "msg", "frame", "req", "resp", "m"),
    "ctx": ("ctx", "state", "sess", "conn", "dev", "priv", "sc", "s"),
    "node": ("node", "entry", "elem", "item", "head", "cur", "link", "nd"),
    "num": (
        "ret",
        "rc",
        "err",
        "status",
        "flags",
        "mode",
        "val",
        "value",
        "result",
        "sum",
        "acc",
        "hash",
        "crc",
        "delta",
        "level",
        "code",
        "key",
        "x",
        "tmp",
    ),
    "tbl": ("tbl", "table", "map", "lut", "slots", "vec", "arr", "list", "cells"),
}
QUALIFIERS = (
    "hdr",
    "pkt",
    "msg",
    "req",
    "resp",
    "key",
    "val",
    "name",
    "path",
    "tmp",
    "out",
    "in",
    "max",
    "cur",
    "new",
    "old",
    "data",
    "body",
    "src",
    "dst",
    "local",
    "user",
    "net",
    "raw",
)
VERBS = (
    "parse",
    "read",
    "write",
    "handle",
    "process",
    "update",
    "init",
    "load",
    "store",
    "copy",
    "build",
    "decode",
    "encode",
    "format",
    "append",
    "insert",
    "lookup",
    "fetch",
    "flush",
    "reset",
    "apply",
    "send",
    "recv",
    "emit",
    "scan",
    "fill",
    "merge",
    "split",
    "resolve",
    "register",
    "release",
    "prepare",
    "commit",
    "refresh",
)
NOUNS = (
    "header",
    "packet",
    "buffer",
    "record",
    "entry",
    "node",
    "frame",
    "chunk",
    "block",
    "message",
    "request",
    "response",
    "token",
    "field",
    "option",
    "table",
    "slot",
    "cache",
    "session",
    "config",
    "path",
    "name",
    "key",
    "value",
    "attr",
    "segment",
    "payload",
    "descriptor",
    "string",
    "line",
    "queue",
    "list",
)
PHRASES = (
    "processing",
    "got value",
    "state changed",
    "entry",
    "result",
    "done",
    "retrying",
    "skipping",
    "new item",
    "flushing",
    "updated",
    "read",
    "queued",
    "using default",
    "ready",
    "resetting",
    "loaded",
)
COMMENTS = (
    "fast path",
    "keep in sync with the wire format",
    "TODO: handle partial reads",
    "XXX: legacy behaviour, see changelog",
    "update counters",
    "nothing to do here",
    "callers hold the context lock",
    "mirror the userspace layout",
    "defaults come from the config file",
    "see protocol spec section 4",
    "this mirrors the old API",
    "values are host byte order",
    "retry once before giving up",
    "cheap sanity check",
    "fold in the new state",
)
CONFIG_KEYS = ("max_conn", "timeout", "retries", "queue_depth", "log_level", "window", "batch_size")
NUM_TYPES = (
    "int",
    "int",
    "int",
    "int",
    "size_t",
    "size_t",
    "unsigned int",
    "unsigned int",
    "long",
    "uint32_t",
)
SIGNED = frozenset({"int", "long"})
TYPE_MAX = {
    "int": "INT_MAX",
    "long": "LONG_MAX",
    "size_t": "SIZE_MAX",
    "unsigned int": "UINT_MAX",
    "uint32_t": "UINT32_MAX",
}
TYPE_FORMAT = {
    "int": "%d",
    "long": "%ld",
    "size_t": "%zu",
    "unsigned int": "%u",
    "uint32_t": "%u",
}  # printf conversion for each numeric type
RETURN_TYPES = ("int", "int", "int", "int", "int", "void", "void", "long", "size_t", "unsigned int")
