/* xf_text.h — the text checks every parser shares: strict UTF-8 (what protobuf-c, jansson and
 * inih do not check, or check without saying where), trimming a configuration item, and the
 * decimal digits of a number for text built without printf (on paths run for every message). */
#ifndef XF_TEXT_H
#define XF_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Length of the well-formed UTF-8 sequence at p (Unicode table 3-7: no overlongs, no
 * surrogates, nothing above U+10FFFF), 0 if there is none. Stops at a NUL. */
size_t xf_utf8_seq (const unsigned char *p);
/* Whether s[0..n) is well-formed UTF-8 without NUL bytes (s need not be NUL-terminated). */
bool   xf_utf8_valid (const unsigned char *s, size_t n);
/* How many bytes from s's start are well-formed UTF-8 without NUL (n when all of s[0..n) is):
 * the offset of the first bad byte. ASCII is taken eight bytes at a time. */
size_t xf_utf8_valid_prefix (const unsigned char *s, size_t n);
/* The decimal digits of v into out, no NUL; returns how many (1 to 20). */
size_t xf_text_uint (char out[20], uint64_t v);
/* The strings given, up to a NULL, end to end into out, cut to cap - 1 bytes and
 * NUL-terminated (cap > 0); returns the bytes written. snprintf ("%s%s") without the parsing
 * of a format, for store keys built for every case moved or received. */
size_t xf_text_join (char *out, size_t cap, ...);
/* s without leading and trailing white space (the end is cut in place). */
char  *xf_trim (char *s);

#endif
