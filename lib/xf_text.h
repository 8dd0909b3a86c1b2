/* xf_text.h — the text checks every parser shares: strict UTF-8 (what protobuf-c, jansson and
 * inih do not check, or check without saying where) and trimming a configuration item. */
#ifndef XF_TEXT_H
#define XF_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the well-formed UTF-8 sequence at p (Unicode table 3-7: no overlongs, no
 * surrogates, nothing above U+10FFFF), 0 if there is none. Stops at a NUL. */
size_t xf_utf8_seq (const unsigned char *p);
/* Whether s[0..n) is well-formed UTF-8 without NUL bytes (s need not be NUL-terminated). */
bool   xf_utf8_valid (const unsigned char *s, size_t n);
/* s without leading and trailing white space (the end is cut in place). */
char  *xf_trim (char *s);

#endif
