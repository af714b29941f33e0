/* Hand-written C whose output must not change under any metamorphic transformation. */
#include <stdio.h>
#include <string.h>

#define SQUARE(x) ((x) * (x))
#define SHOW(e) printf("%s = %d\n", #e, (e))
#define LIMIT 7

static int counter = 0;

static int next(void) { return ++counter; }

static int side(int *log, int v) { *log = *log * 10 + v; return v; }

int kr_sub(a, b)
int a;
int b;
{
    int d = a - b, e = b - a;
    return d * 3 + e;
}

static int loops(int n) {
    int total = 0, i;
    for (i = 0; i < n; i++) {
        if (i % 3 == 0)
            continue;
        total += i * 2;
    }
    for (int j = n; j > 0; j -= 2) {
        total = total + j;
        if (total > 50) break;
    }
    int k = 0;
    while (k < n) {
        k++;
        total ^= k;
    }
    do { total -= 1; } while (total > 40);
    for (;;) { if (++k > 12) break; }
    return total + k;
}

static int shadowing(int x) {
    int y = x;
    {
        int x = y * 2, z = 1;
        y += x + z;
    }
    for (int x = 0; x < 2; x++) y = y + x;
    return y - x;
}

static int fallthrough(int c) {
    int acc = 0;
    switch (c) {
    case 0: acc += 1;
    case 1: acc += 10; break;
    case 2: acc = acc * 3 + 2;
    default: acc -= 5;
    }
    return acc;
}

static int jumps(int n) {
    int i = 0, s = 0;
again:
    s = s + i * i;
    if (++i < n) goto again;
    if (s > 20) goto out; else s += 100;
out:
    return s;
}

static int comma_and_short_circuit(void) {
    int log = 0, a, b;
    a = (b = 2, b + 3);
    if (side(&log, 1) && side(&log, 0) && side(&log, 9)) log += 1000;
    if (side(&log, 0) || side(&log, 4)) log += 7;
    int r = next() - next();  /* calls: never reordered */
    int q = side(&log, 2) + side(&log, 3);  /* calls: never reordered */
    return a * 100 + b + log + r + q;
}

static unsigned mixed(unsigned char c, unsigned short w, const char *s) {
    unsigned v = c, len = (unsigned)strlen(s);
    v <<= 2;
    v = v | w;
    v *= len + 1;
    v = v - (v >> 3);
    if (v == w || c < LIMIT) v += SQUARE(c + 1);
    else v = v & 0xfff;
    return v;
}

int main(void) {
    int i;
    for (i = 0; i < 4; i++) {
        printf("%d %d %d %d\n", loops(i * 4), shadowing(i), fallthrough(i), jumps(i + 2));
    }
    printf("%d %d\n", kr_sub(9, 4), comma_and_short_circuit());
    printf("%u %u\n", mixed(3, 17, "abc"), mixed(200, 5, ""));
    SHOW(SQUARE(3) + 1);
    return 0;
}
