/* keyfiles.h — the secret key files of a node, read the same way by xfsyncd at start and by
 * `xfctl config check`: each readable by its owner only. */
#ifndef XF_KEYFILES_H
#define XF_KEYFILES_H

#include <stddef.h>
#include <stdint.h>

/* The CURVE secret key (xfctl keygen: one Z85 line). -1 with errbuf saying what to fix. */
int keyfile_curve (const char *path, char secret[41], char *errbuf, size_t errlen);
/* The tree's identity key (64 hex digits). -1 with errbuf saying what to fix. */
int keyfile_identity (const char *path, uint8_t key[32], char *errbuf, size_t errlen);

#endif
