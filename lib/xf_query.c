/* xf_query.c — making and reading 查询码 (see xf_query.h). */
#include "xf_query.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static const char ALPHABET[] = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
#define BASE    31u
#define OFFICES 1000000u                  /* 6-digit office codes */
#define RANDOMS 787662783788ull           /* floor(31^12 / 10^6): N = random * 10^6 + office < 31^12 */

/* "XXXX-XXXX-XXXX" from the 12 characters. */
static void grouped (const char digits[XF_QUERY_LEN], char out[XF_QUERY_SHOWN])
{
    for (int i = 0, j = 0; i < XF_QUERY_LEN; i++) {
        if (i && i % 4 == 0)
            out[j++] = '-';
        out[j++] = digits[i];
        out[j] = 0;
    }
}

int xf_query_make (const char *office, uint64_t random, char out[XF_QUERY_SHOWN], xf_err_t *err)
{
    unsigned code = 0;
    /* a township office (9 or 12 digits) is named by its county's 6 */
    if (strlen (office) < 6 || strspn (office, "0123456789") != strlen (office)
        || sscanf (office, "%6u", &code) != 1)
        return xf_err_set (err, XF_EINVAL, "office code %s is not a GB/T 2260 code: no query code "
                           "for it", office);
    uint64_t n = (random % RANDOMS) * OFFICES + code;
    char digits[XF_QUERY_LEN];
    for (int i = XF_QUERY_LEN - 1; i >= 0; i--, n /= BASE)
        digits[i] = ALPHABET[n % BASE];
    grouped (digits, out);
    return XF_OK;
}

int xf_query_normalize (const char *typed, char out[XF_QUERY_SHOWN], xf_err_t *err)
{
    char digits[XF_QUERY_LEN];
    size_t n = 0;
    for (const char *s = typed; *s; s++) {
        if (*s == '-' || *s == ' ')
            continue;
        char c = (char) toupper ((unsigned char) *s);
        if (!strchr (ALPHABET, c) || n == XF_QUERY_LEN)
            return xf_err_set (err, XF_EINVAL, "\"%s\" is not a query code: 12 letters and digits "
                               "like 7KQ4-M2XD-9PWA, without 0, 1, I, L or O", typed);
        digits[n++] = c;
    }
    if (n != XF_QUERY_LEN)
        return xf_err_set (err, XF_EINVAL, "\"%s\" is not a query code: it has %zu of the 12 "
                           "letters and digits", typed, n);
    grouped (digits, out);
    return XF_OK;
}

void xf_query_office (const char *code, char office[7])
{
    uint64_t n = 0;
    for (const char *s = code; *s; s++)
        if (*s != '-')
            n = n * BASE + (uint64_t) (strchr (ALPHABET, *s) - ALPHABET);
    snprintf (office, 7, "%06u", (unsigned) (n % OFFICES));
}
