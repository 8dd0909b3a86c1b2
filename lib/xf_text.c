/* xf_text.c — strict UTF-8 and trimming (xf_text.h). */
#include "xf_text.h"

#include <ctype.h>
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

bool xf_utf8_valid (const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t k = lead_length (s[i]);
        if (s[i] == 0 || k == 0 || k > n - i || xf_utf8_seq (s + i) != k)
            return false;
        i += k;
    }
    return true;
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
