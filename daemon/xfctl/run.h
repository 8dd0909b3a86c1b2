/* run.h — the commands that do more than one request and a display. Each returns an
 * xfctl exit status, having reported any failure itself. */
#ifndef XF_RUN_H
#define XF_RUN_H

#include "grammar.h"

/* keygen.c: writes dir/node.key (0600, never overwritten) and dir/node.pub. */
int xf_run_keygen (const char *dir);

/* config_check.c: `config check FILE`, without a daemon. */
int xf_run_config_check (const char *path);

/* import.c: `case import FILE.jsonl` against the daemon at socket. */
int xf_run_import (const char *socket, const char *file);
/* backup.c: `backup FILE`, a copy of the store written by the daemon into a pipe. */
int xf_run_backup (const char *socket, const char *file);

/* stats.c: `stats` with --format and --out. */
int xf_run_stats (const char *socket, const xf_parsed_t *p);

/* cert.c: `cert root|request|issue|show`; socket NULL for the ones xf_cert_is_local names. */
int  xf_run_cert (const char *socket, const xf_parsed_t *p);
bool xf_cert_is_local (const xf_parsed_t *p);

#endif
