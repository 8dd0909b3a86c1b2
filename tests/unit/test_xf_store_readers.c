/* test_xf_store_readers.c — the store's reader slots (xf_store.h): a process that exits while
 * reading a store leaves its slots taken, LMDB does not free them by itself, and a node must
 * neither stop reading nor let its file grow for that. Another process (a fork, opening the
 * store with LMDB directly, as mdb_dump would) takes every slot; while it runs, a read is
 * refused saying who holds the slots; once it is killed, the node's next read clears them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <lmdb.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "xf_store.h"
#include "xf_test.h"

typedef struct {
    char dir[4096];
    xf_store_t *store;
    pid_t holder;   /* the process holding reader slots (0: none) */
    pid_t keeper;   /* a process that only keeps the store open (0: none) */
} fx_t;

static int setup (void **state)
{
    fx_t *x = calloc (1, sizeof *x);
    xf_err_t err = {0};
    assert_non_null (x);
    if (xf_test_mkdtemp (x->dir, sizeof x->dir, "test_xf_store_readers") != 0)
        fail_msg ("no temp directory");
    if (!(x->store = xf_store_open (x->dir, NULL, &err)))
        fail_msg ("open %s: %s", x->dir, err.msg);
    *state = x;
    return 0;
}

static void stop (pid_t *pid)
{
    if (*pid > 0) {
        kill (*pid, SIGKILL);
        waitpid (*pid, NULL, 0);
        *pid = 0;
    }
}

static void stop_holder (fx_t *x)
{
    stop (&x->holder);
}

static int teardown (void **state)
{
    fx_t *x = *state;
    stop_holder (x);
    stop (&x->keeper);
    xf_store_close (&x->store);
    xf_test_rmtree (x->dir);
    free (x);
    return 0;
}

/* In the child: open the store as another program would, begin read transactions until LMDB
 * has no slot left (none when !take), write how many to the pipe, and wait to be killed.
 * Never returns. */
static void hold_slots (const char *dir, bool take, int out)
{
    MDB_env *env;
    MDB_txn *txn;
    unsigned n = 0;
    if (mdb_env_create (&env) != 0 || mdb_env_set_maxdbs (env, XF_DB_COUNT) != 0
        || mdb_env_open (env, dir, MDB_NOTLS | MDB_RDONLY, 0600) != 0)
        _exit (2);
    while (take && n < 100000 && mdb_txn_begin (env, NULL, MDB_RDONLY, &txn) == 0)
        n++;
    if (write (out, &n, sizeof n) != sizeof n)
        _exit (3);
    for (;;)
        pause ();
}

/* Starts a process with the store open, holding every free reader slot (take) or none, into
 * *pid; returns how many slots it holds. */
static unsigned start_reader (const char *dir, bool take, pid_t *pid)
{
    int p[2];
    unsigned n = 0;
    assert_int_equal (pipe (p), 0);
    *pid = fork ();
    assert_true (*pid >= 0);
    if (*pid == 0) {
        close (p[0]);
        hold_slots (dir, take, p[1]);
    }
    close (p[1]);
    assert_int_equal (read (p[0], &n, sizeof n), (ssize_t) sizeof n);
    close (p[0]);
    return n;
}

static unsigned start_holder (fx_t *x)
{
    unsigned n = start_reader (x->dir, true, &x->holder);
    assert_true (n > 0);
    return n;
}

static int read_nothing (xf_txn_t *txn, void *arg, xf_err_t *err)
{
    (void) txn;
    (void) err;
    ++*(int *) arg;
    return XF_OK;
}

/* A read while a live process holds every slot: refused, and the message says what to do;
 * nothing is cleared, since nothing is stale. */
static void test_every_slot_held_is_refused (void **state)
{
    fx_t *x = *state;
    xf_err_t err = {0};
    int ran = 0;
    start_holder (x);
    assert_int_equal (xf_store_read (x->store, read_nothing, &ran, &err), XF_ESTORE);
    assert_int_equal (ran, 0);
    assert_non_null (strstr (err.msg, x->dir));
    if (!strstr (err.msg, "every reader slot is held by a running process")
        || !strstr (err.msg, "mdb_stat -r"))
        fail_msg ("message \"%s\" does not say who holds the slots", err.msg);
    assert_int_equal (xf_store_stale_readers_cleared (x->store), 0);
}

/* The holder killed: its slots are stale, and the next read clears them and runs. */
static void test_slots_of_a_killed_reader_are_cleared_by_a_read (void **state)
{
    fx_t *x = *state;
    xf_err_t err = {0};
    int ran = 0;
    unsigned held = start_holder (x);
    stop_holder (x);
    assert_int_equal (xf_store_read (x->store, read_nothing, &ran, &err), XF_OK);
    assert_int_equal (ran, 1);
    assert_int_equal (xf_store_stale_readers_cleared (x->store), held);
    assert_int_equal (xf_store_read (x->store, read_nothing, &ran, &err), XF_OK);
    assert_int_equal (xf_store_stale_readers_cleared (x->store), held);   /* once */
}

/* Asked outright (the node does once a minute), with a free slot left: the stale ones are
 * cleared and counted; asked again, none. */
static void test_clear_on_request (void **state)
{
    fx_t *x = *state;
    xf_err_t err = {0};
    unsigned cleared = 99, held = start_holder (x);
    assert_int_equal (xf_store_clear_stale_readers (x->store, &cleared, &err), XF_OK);
    assert_int_equal (cleared, 0);   /* alive: not stale */
    stop_holder (x);
    assert_int_equal (xf_store_clear_stale_readers (x->store, &cleared, &err), XF_OK);
    assert_int_equal (cleared, held);
    assert_int_equal (xf_store_clear_stale_readers (x->store, &cleared, &err), XF_OK);
    assert_int_equal (cleared, 0);
    assert_int_equal (xf_store_stale_readers_cleared (x->store), held);
}

/* A store opened while stale slots are in its lock file (another process keeps the store
 * open, so LMDB does not reset its table): the opening clears them. */
static void test_open_clears_stale_slots (void **state)
{
    fx_t *x = *state;
    xf_err_t err = {0};
    int ran = 0;
    xf_store_close (&x->store);   /* one process opens a store once (LMDB's rule) */
    start_reader (x->dir, false, &x->keeper);
    unsigned held = start_holder (x);
    stop_holder (x);
    if (!(x->store = xf_store_open (x->dir, NULL, &err)))
        fail_msg ("open again: %s", err.msg);
    assert_int_equal (xf_store_stale_readers_cleared (x->store), held);
    assert_int_equal (xf_store_read (x->store, read_nothing, &ran, &err), XF_OK);
    assert_int_equal (ran, 1);
}

/* A backup copy is a read too: it clears the stale slots it finds, then copies. */
static void test_copy_clears_stale_slots (void **state)
{
    fx_t *x = *state;
    xf_err_t err = {0};
    char path[4200];
    unsigned held = start_holder (x);
    stop_holder (x);
    snprintf (path, sizeof path, "%s/copy.mdb", x->dir);
    FILE *f = fopen (path, "w");
    assert_non_null (f);
    assert_int_equal (xf_store_copy_begin (x->store, &err), XF_OK);
    int rc = xf_store_copy_fd (x->store, fileno (f), &err);
    xf_store_copy_end (x->store);
    fclose (f);
    if (rc != XF_OK)
        fail_msg ("copy: %s", err.msg);
    assert_int_equal (xf_store_stale_readers_cleared (x->store), held);
    xf_store_file_info_t info;
    assert_int_equal (xf_store_file_check (path, &info, &err), XF_OK);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_every_slot_held_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown (test_slots_of_a_killed_reader_are_cleared_by_a_read,
                                         setup, teardown),
        cmocka_unit_test_setup_teardown (test_clear_on_request, setup, teardown),
        cmocka_unit_test_setup_teardown (test_open_clears_stale_slots, setup, teardown),
        cmocka_unit_test_setup_teardown (test_copy_clears_stale_slots, setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
