/* xf_it_readers.c — for test_store_readers.sh: a program that holds reader slots of a store,
 * as a stuck or killed mdb_dump holds one. Opens DIR with LMDB (read only), begins N read
 * transactions (default: until LMDB has no slot left), prints how many it holds, and waits to
 * be killed: killed, it leaves the slots taken until a node clears them (xf_store.h). */
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_DBS 64   /* at least the store's named databases */

int main (int argc, char **argv)
{
    MDB_env *env;
    MDB_txn *txn;
    unsigned n = 0, want = argc == 3 ? (unsigned) strtoul (argv[2], NULL, 10) : 0;
    int rc = 0;
    if (argc != 2 && argc != 3) {
        fprintf (stderr, "usage: xf_it_readers STORE_DIR [SLOTS]\n");
        return 2;
    }
    if ((rc = mdb_env_create (&env)) != 0 || (rc = mdb_env_set_maxdbs (env, MAX_DBS)) != 0
        || (rc = mdb_env_open (env, argv[1], MDB_NOTLS | MDB_RDONLY, 0600)) != 0) {
        fprintf (stderr, "xf_it_readers: %s: %s\n", argv[1], mdb_strerror (rc));
        return 1;
    }
    while ((!want || n < want) && (rc = mdb_txn_begin (env, NULL, MDB_RDONLY, &txn)) == 0)
        n++;
    if (want ? n < want : rc != MDB_READERS_FULL) {
        fprintf (stderr, "xf_it_readers: after %u slots: %s\n", n, mdb_strerror (rc));
        return 1;
    }
    printf ("%u\n", n);
    fflush (stdout);
    for (;;)
        pause ();
}
