/* xf_query.h — 查询码, the tracking code a petitioner is given at registration: 12 characters
 * from an alphabet without look-alikes (no 0/O, 1/I/L), read aloud in groups of four
 * ("7KQ4-M2XD-9PWA"). The code is a base-31 number that holds the registering office's
 * 6-digit code and about 39 random bits (7.9 * 10^11 codes per office, too many to guess),
 * so that any office can tell which office to ask. */
#ifndef XF_QUERY_H
#define XF_QUERY_H

#include <stdbool.h>
#include <stdint.h>
#include "xf_err.h"

#define XF_QUERY_LEN   12   /* characters, without dashes */
#define XF_QUERY_SHOWN 15   /* with the dashes and the NUL */

/* A new code for a case of office from 64 random bits: "XXXX-XXXX-XXXX". A township office
 * (9 or 12 digits) is named by its county's first 6. */
int xf_query_make (const char *office, uint64_t random, char out[XF_QUERY_SHOWN], xf_err_t *err);

/* The code as typed (any case, dashes and spaces anywhere) in its stored form
 * "XXXX-XXXX-XXXX"; XF_EINVAL naming what is wrong. */
int xf_query_normalize (const char *typed, char out[XF_QUERY_SHOWN], xf_err_t *err);

/* The office a normalized code names (7 bytes: 6 digits and NUL). */
void xf_query_office (const char *code, char office[7]);

#endif
