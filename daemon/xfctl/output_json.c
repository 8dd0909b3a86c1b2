/* output_json.c — the --json face of xfctl: one JSON document on stdout, for results and
 * for refusals alike. UTF-8 stays UTF-8 (Chinese names are readable in the output). */
#include <errno.h>
#include "output.h"
#include "xfctl.h"

int xf_out_json (const json_t *v, FILE *out)
{
    errno = 0;
    if (json_dumpf (v, out, JSON_INDENT (2)) != 0 || putc ('\n', out) == EOF) {
        if (!errno)
            errno = EIO;
        return -1;
    }
    return 0;
}

int xf_out_json_error (const char *code, const char *message, json_t *extra, FILE *out)
{
    json_t *err = json_pack ("{s:s,s:s}", "code", code, "message", message);
    if (err && extra)
        json_object_update (err, extra);
    json_decref (extra);
    json_t *doc = err ? json_pack ("{s:o}", "error", err) : NULL;
    int rc = doc ? xf_out_json (doc, out) : -1;
    json_decref (doc);
    return rc;
}
