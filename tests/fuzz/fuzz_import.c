/* fuzz_import.c — `case import` lines: each line a case object read as the daemon reads a
 * registration (xf_case_from_json), checked as one about to be registered, and written back
 * as `case show` does. */
#include <jansson.h>
#include "xf_case.h"
#include "xf_case_json.h"
#include "xf_fuzz.h"
#include "xf_time.h"

int LLVMFuzzerInitialize (int *argc, char ***argv)
{
    (void) argc, (void) argv;
    return 0;
}

static void one_line (const char *line, size_t len, xf_day_t today)
{
    json_error_t jerr;
    json_t *obj = json_loadb (line, len, JSON_REJECT_DUPLICATES, &jerr);
    xf_case_t *c = obj ? xf_case_new () : NULL;
    xf_err_t err = {0};
    if (c && xf_case_from_json (obj, c, today, &err) == XF_OK
        && xf_case_check_new (c, today, &err) == XF_OK) {
        json_t *back = xf_case_to_json (c, today);
        json_decref (back);
    }
    xf_case_destroy (&c);
    json_decref (obj);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    xf_day_t today = xf_day_of_time (XF_FUZZ_NOW);
    const char *s = (const char *) data, *end = s + size;
    while (s < end) {
        const char *nl = memchr (s, '\n', (size_t) (end - s));
        size_t len = nl ? (size_t) (nl - s) : (size_t) (end - s);
        one_line (s, len, today);
        s += len + 1;
    }
    return 0;
}
