/* fuzz_config.c — the configuration file (xfsyncd.conf): parsed as the daemon does at start,
 * and a parsed one's [roles] and [recusal] built as the control socket uses them. */
#include "xf_access.h"
#include "xf_conf.h"
#include "xf_fuzz.h"

int LLVMFuzzerInitialize (int *argc, char ***argv)
{
    (void) argc, (void) argv;
    return 0;
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char *text = xf_fuzz_text (data, size);
    xf_err_t err = {0};
    xf_conf_t *c = text ? xf_conf_parse (text, "fuzz.conf", &err) : NULL;
    if (c) {
        xf_access_t *a = xf_access_new (c->has_roles, (const char *const *) c->role_members,
                                        c->recusals, &err);
        xf_access_destroy (&a);
    }
    xf_conf_destroy (&c);
    free (text);
    return 0;
}
