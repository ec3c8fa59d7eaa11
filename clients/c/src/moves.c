/*
 * An explicit move: the installation of a previous data directory on this computer adopted by this
 * handle's (empty) one, as the Python SDK's move_from does. A new version that keeps its state
 * elsewhere calls licentia_move_from once. POST /v1/move carries the old state's credential and
 * token with this directory's fingerprint (its data path hash is where the installation moves to);
 * the server records the move, rotates the token and names the new data path in the document, so
 * the state left in the old directory is a copy from then on. A state copied into another directory
 * any other way stays a copy (state_copied): only this call moves an installation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escrow.h"
#include "handle.h"

/* Refused before anything is sent: the word in licentia_last_refusal(), nothing changed. */
static licentia_error refuse(call *c, const char *word) {
    lc_refusal_word(&c->h->refusal, word);
    return LICENTIA_E_ARGUMENT;
}

/*
 * The server took the move and the new directory holds the state: the kept credential follows the
 * installation to this data path, and the old directory keeps nothing that would run as it. Failures
 * here are ignored: a stale entry or state.json left behind is only a copy the server refuses.
 */
static void leave_old(call *c, const char *old_dir) {
    char old_path[LC_HASH_HEX];
    lc_escrow here = {c->h->server_url, c->h->product, c->fp->data_path};
    lc_escrow_save(&here, c->state->device, c->state->secret);
    lc_component_hash(c->h->product, "data_path", old_dir, strlen(old_dir), old_path);
    lc_escrow old = {c->h->server_url, c->h->product, old_path};
    lc_escrow_forget(&old);
    size_t n = strlen(old_dir) + sizeof "/state.json";
    char *state_file = malloc(n);
    if (state_file) {
        snprintf(state_file, n, "%s/state.json", old_dir); /* where lc_state_load reads it */
        lc_remove_file(state_file);
    }
    free(state_file);
}

static licentia_error move(call *c, const char *old_dir, licentia_status **out) {
    lc_state *here = c->state, old;
    if (strcmp(old_dir, c->h->data_dir) == 0) return refuse(c, LICENTIA_MOVE_SAME_FOLDER);
    lc_state_load(old_dir, &old);
    licentia_error rc;
    if (!old.device || !old.secret) {
        rc = refuse(c, LICENTIA_MOVE_NO_INSTALLATION);
    } else if (here->device) {
        rc = refuse(c, LICENTIA_MOVE_ALREADY_INSTALLED);
    } else {
        /* The old state asks (its credential, token and last document, which the answer must follow);
         * this directory's fingerprint says where to. The answer is a check's: bound to this request's
         * nonce, the same device and machine, the new data path; taken by the same rules, it is saved
         * here with the old state's other fields (the install already reported, the usage period). */
        json_t *answer;
        lc_asked asked;
        c->state = &old;
        rc = lc_post(c, "/v1/move", NULL, &asked, &answer);
        /* A refusal (other_machine, stale_token, invalid_credential) is final: unlike a check, a move
         * never re-identifies, so nothing changes in either directory. */
        if (rc == LICENTIA_OK) {
            rc = lc_take_answer(c, &asked, answer, out);
            json_decref(answer);
        }
        if (rc == LICENTIA_OK) leave_old(c, old_dir);
        c->state = here;
    }
    lc_state_clear(&old);
    return rc;
}

licentia_error licentia_move_from(licentia *h, const char *old_data_dir, licentia_status **out) {
    if (out) *out = NULL;
    if (!h || !old_data_dir || !*old_data_dir || !out) return LICENTIA_E_ARGUMENT;
    char *old_dir = lc_absolute_path(old_data_dir); /* the form the data path hash was made of */
    if (!old_dir) return LICENTIA_E_NOMEM;
    lc_state state;
    lc_fingerprint fp;
    call c;
    lc_call_begin(h, &c, &state, &fp);
    licentia_error rc = move(&c, old_dir, out);
    lc_call_end(&c);
    free(old_dir);
    return rc;
}
