/* replay_main.c — runs a fuzz harness (LLVMFuzzerTestOneInput) over every file of the
 * directories (or files) given, once each, without libFuzzer: ctest replays the committed
 * corpus and the regressions this way under the sanitizers of the normal build. Exit 0 when
 * every input ran (a crash aborts with the sanitizer's report, naming the input first). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
int LLVMFuzzerInitialize (int *argc, char ***argv) __attribute__ ((weak));

static int run_file (const char *path)
{
    FILE *f = fopen (path, "rb");
    if (!f) {
        fprintf (stderr, "replay: cannot open %s\n", path);
        return -1;
    }
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0, n;
    do {
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            uint8_t *grown = realloc (buf, cap);
            if (!grown) {
                free (buf);
                fclose (f);
                return -1;
            }
            buf = grown;
        }
        n = fread (buf + len, 1, cap - len, f);
        len += n;
    } while (n > 0);
    fclose (f);
    fprintf (stderr, "replay: %s (%zu bytes)\n", path, len);
    LLVMFuzzerTestOneInput (buf, len);
    free (buf);
    return 0;
}

static int run_path (const char *path, size_t *count)
{
    struct stat st;
    if (stat (path, &st) != 0)
        return 0;   /* no regressions yet: an absent directory is fine */
    if (!S_ISDIR (st.st_mode)) {
        (*count)++;
        return run_file (path);
    }
    struct dirent **names = NULL;
    int n = scandir (path, &names, NULL, alphasort), rc = 0;
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.' && rc == 0) {
            char full[4096];
            snprintf (full, sizeof full, "%s/%s", path, names[i]->d_name);
            rc = run_path (full, count);
        }
        free (names[i]);
    }
    free (names);
    return rc;
}

int main (int argc, char **argv)
{
    size_t count = 0;
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize (&argc, &argv);
    for (int i = 1; i < argc; i++)
        if (run_path (argv[i], &count) != 0)
            return 1;
    printf ("replayed %zu input(s)\n", count);
    return 0;
}
