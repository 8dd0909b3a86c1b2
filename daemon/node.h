/* node.h — the state one xfsyncd process holds, shared by the loop, the control socket and
 * the command handlers. */
#ifndef XF_NODE_H
#define XF_NODE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "control.h"
#include "xf_conf.h"
#include "xf_office.h"
#include "xf_store.h"

typedef struct xf_node {
    xf_conf_t *conf;
    xf_store_t *store;
    xf_office_t *office;
    xf_control_t *control;
    char public_key[41];      /* Z85 CURVE public key derived from key_file */
    int64_t clock_offset;     /* node clock = system clock + offset ([debug] clock_control) */
    int64_t started;
    bool stopping;
    bool deadlines_dirty;     /* run the deadline scan at the next loop turn */
} xf_node_t;

/* The node clock, unix seconds. */
int64_t node_now (const xf_node_t *node);

/* Executes one control request from operator uid; returns the response object. */
json_t *commands_execute (xf_node_t *node, uid_t uid, const json_t *request);

/* Runs the event loop until SIGTERM/SIGINT. Returns the exit status. */
int loop_run (xf_node_t *node);

#endif
