"""The C declarations every synthetic function compiles against.

Why: the corpus is checked with ``gcc -fsyntax-only`` after this text, and the flaw families and
the filler may only use the structs and helpers declared here.
"""

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

TABLE_SLOTS = 64  # size of struct table.slots in C_PRELUDE
