/* text.c — UTF-8 display width, cleaning and clipping, and aligned tables for the
 * human output. No locale is involved: the width rules are a range table, so a table
 * lines up the same under LANG=C as under zh_CN.UTF-8. */
#include "text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "xfctl.h"

/* Decodes one UTF-8 sequence at s (at least one byte, NUL-terminated string). Returns its
 * length and sets *cp, or returns 0 for an invalid sequence. */
static size_t utf8_decode (const unsigned char *s, uint32_t *cp)
{
    size_t n;
    uint32_t c = s[0], min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xE0) == 0xC0) {
        n = 2, c &= 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3, c &= 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4, c &= 0x07, min = 0x10000;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return n;
}

static int cp_width (uint32_t c)
{
    static const struct { uint32_t lo, hi; } wide[] = {
        {0x1100, 0x115F}, {0x2E80, 0x303E}, {0x3041, 0x33FF}, {0x3400, 0x4DBF},
        {0x4E00, 0x9FFF}, {0xA000, 0xA4CF}, {0xAC00, 0xD7A3}, {0xF900, 0xFAFF},
        {0xFE30, 0xFE4F}, {0xFF00, 0xFF60}, {0xFFE0, 0xFFE6}, {0x1F300, 0x1F64F},
        {0x1F900, 0x1F9FF}, {0x20000, 0x3FFFD},
    };
    if ((c >= 0x0300 && c <= 0x036F) || c == 0x200B || (c >= 0xFE00 && c <= 0xFE0F))
        return 0;
    for (size_t i = 0; i < sizeof wide / sizeof wide[0]; i++)
        if (c >= wide[i].lo && c <= wide[i].hi)
            return 2;
    return 1;
}

size_t text_width (const char *s)
{
    const unsigned char *p = (const unsigned char *) s;
    size_t w = 0;
    while (*p) {
        uint32_t c;
        size_t n = utf8_decode (p, &c);
        w += n ? (size_t) cp_width (c) : 1;
        p += n ? n : 1;
    }
    return w;
}

char *text_clean (const char *s)
{
    const unsigned char *p = (const unsigned char *) (s ? s : "");
    size_t len = strlen ((const char *) p);
    char *out = xmalloc (3 * len + 1);   /* a bad byte (1) becomes U+FFFD (3) */
    size_t o = 0;
    while (*p) {
        uint32_t c;
        size_t n = utf8_decode (p, &c);
        if (!n) {
            memcpy (out + o, "\xEF\xBF\xBD", 3), o += 3, p++;
        } else if (c < 0x20 || c == 0x7F || (c >= 0x80 && c < 0xA0)
                   || c == 0x2028 || c == 0x2029) {
            out[o++] = ' ', p += n;
        } else {
            memcpy (out + o, p, n), o += n, p += n;
        }
    }
    out[o] = 0;
    return out;
}

char *text_clip (const char *s, size_t width)
{
    if (text_width (s) <= width)
        return xstrdup (s);
    const unsigned char *p = (const unsigned char *) s;
    size_t w = 0, keep = 0;
    while (*p) {   /* keep whole characters while they leave room for the ellipsis */
        uint32_t c;
        size_t n = utf8_decode (p, &c);
        size_t cw = n ? (size_t) cp_width (c) : 1;
        if (w + cw + 1 > width)
            break;
        w += cw, p += n ? n : 1;
        keep = (size_t) ((const char *) p - s);
    }
    return xasprintf ("%.*s…", (int) keep, s);
}

int text_pad (FILE *out, const char *s, size_t width, bool right)
{
    size_t w = text_width (s);
    size_t pad = w < width ? width - w : 0;
    if (!right && fputs (s, out) == EOF)
        return -1;
    for (size_t i = 0; i < pad; i++)
        if (putc (' ', out) == EOF)
            return -1;
    if (right && fputs (s, out) == EOF)
        return -1;
    return 0;
}

/* ---------------------------------------------------------------- tables */

struct text_table {
    size_t ncols, nrows, cap;   /* rows include the header, row 0 */
    char **cells;               /* nrows * ncols */
    bool *right;
};

text_table_t *text_table_new (size_t ncols, const char *const *headers)
{
    text_table_t *t = xmalloc (sizeof *t);
    *t = (text_table_t) {ncols, 0, 0, NULL, NULL};
    t->right = xmalloc (ncols);
    memset (t->right, 0, ncols);
    if (headers)
        text_table_add (t, headers);
    return t;
}

void text_table_right (text_table_t *t, size_t col)
{
    if (col < t->ncols)
        t->right[col] = true;
}

void text_table_add (text_table_t *t, const char *const *cells)
{
    if (t->nrows == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 16;
        t->cells = xrealloc (t->cells, t->cap * t->ncols * sizeof *t->cells);
    }
    for (size_t c = 0; c < t->ncols; c++)
        t->cells[t->nrows * t->ncols + c] = text_clean (cells[c]);
    t->nrows++;
}

int text_table_print (const text_table_t *t, FILE *out)
{
    size_t *w = xmalloc (t->ncols * sizeof *w);
    int rc = 0;
    for (size_t c = 0; c < t->ncols; c++) {
        w[c] = 0;
        for (size_t r = 0; r < t->nrows; r++) {
            size_t cw = text_width (t->cells[r * t->ncols + c]);
            w[c] = cw > w[c] ? cw : w[c];
        }
    }
    for (size_t r = 0; r < t->nrows && rc == 0; r++) {
        for (size_t c = 0; c < t->ncols && rc == 0; c++) {
            bool last = c + 1 == t->ncols;
            const char *cell = t->cells[r * t->ncols + c];
            /* the last column is not padded, so lines carry no trailing blanks */
            rc = text_pad (out, cell, last && !t->right[c] ? 0 : w[c], t->right[c]);
            if (rc == 0 && !last && fputs ("  ", out) == EOF)
                rc = -1;
        }
        if (rc == 0 && putc ('\n', out) == EOF)
            rc = -1;
    }
    free (w);
    return rc;
}

void text_table_destroy (text_table_t **t_p)
{
    text_table_t *t = t_p ? *t_p : NULL;
    if (!t)
        return;
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free (t->cells[i]);
    free (t->cells);
    free (t->right);
    free (t);
    *t_p = NULL;
}
