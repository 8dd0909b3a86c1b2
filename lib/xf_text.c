/* xf_text.c — strict UTF-8 and trimming (xf_text.h). */
#include "xf_text.h"

#include <ctype.h>
#include <stdarg.h>
#include <string.h>

size_t xf_utf8_seq (const unsigned char *p)
{
    unsigned char c = p[0], lo = 0x80, hi = 0xbf;
    size_t n;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        lo = c == 0xe0 ? 0xa0 : 0x80;
        hi = c == 0xed ? 0x9f : 0xbf;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        lo = c == 0xf0 ? 0x90 : 0x80;
        hi = c == 0xf4 ? 0x8f : 0xbf;
    } else
        return 0;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return n;
}

/* How long the sequence that lead byte c starts says it is (0: c starts none). */
static size_t lead_length (unsigned char c)
{
    return c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
         : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
}

size_t xf_utf8_valid_prefix (const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint64_t w;
        if (i + 8 <= n && (memcpy (&w, s + i, 8), !(w & 0x8080808080808080ull)
                           && !((w - 0x0101010101010101ull) & ~w & 0x8080808080808080ull))) {
            i += 8;   /* eight ASCII bytes, none of them NUL */
            continue;
        }
        size_t k = lead_length (s[i]);
        if (s[i] == 0 || k == 0 || k > n - i || xf_utf8_seq (s + i) != k)
            break;
        i += k;
    }
    return i;
}

bool xf_utf8_valid (const unsigned char *s, size_t n)
{
    return xf_utf8_valid_prefix (s, n) == n;
}

size_t xf_text_uint (char out[20], uint64_t v)
{
    char digits[20];
    size_t n = 0;
    do
        digits[n++] = (char) ('0' + v % 10);
    while ((v /= 10));
    for (size_t i = 0; i < n; i++)
        out[i] = digits[n - 1 - i];
    return n;
}

size_t xf_text_join (char *out, size_t cap, ...)
{
    va_list ap;
    size_t n = 0;
    va_start (ap, cap);
    for (const char *s; (s = va_arg (ap, const char *)) != NULL;) {
        size_t k = strlen (s);
        if (k > cap - 1 - n)
            k = cap - 1 - n;
        memcpy (out + n, s, k);
        n += k;
    }
    va_end (ap);
    out[n] = '\0';
    return n;
}

char *xf_trim (char *s)
{
    while (isspace ((unsigned char) *s))
        s++;
    char *e = s + strlen (s);
    while (e > s && isspace ((unsigned char) e[-1]))
        *--e = '\0';
    return s;
}
