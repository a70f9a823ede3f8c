/* The network's content-addressed object store: DIR/objects/<sha256>.<ext>, written atomically
 * (ul_write_file_atomic: temp file, fsync, rename, fsync of the directory) before any registry
 * row names them. Checkpoints are safetensors objects, loaded with the node's architecture; a
 * model's own data is its selector resolved with the selector's exclusion list (an .ids object).
 * Deliberately no garbage collection, no compression and no sharding of objects/ into subfolders.
 * Checkpoints are re-hashed when loaded (ul_net_load_model), so a damaged object is never used.
 */
#include "net/net_internal.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Extensions tried first by ul_net_object_path (a directory scan finds any other). */
static const char *const KNOWN_EXT[] = {"safetensors", "fisher", "ids", "json"};

ul_status ul_net_object_file(const ul_net *n, const char *hex, const char *ext, char *buf, size_t bufsz) {
    int k = snprintf(buf, bufsz, "%s/%s/%s.%s", n->dir, UL_NET_OBJECTS, hex, ext);
    if (k < 0 || (size_t)k >= bufsz)
        return ul_net_fail(n, UL_E_ARG, NULL, "object path", "longer than the %zu-byte buffer", bufsz);
    return UL_OK;
}

ul_status ul_net_verify_object(const ul_net *n, const char *hex, const char *ext, const char *model,
                               const char *field) {
    char path[4096];
    ul_status st = ul_net_object_file(n, hex, ext, path, sizeof path);
    if (st != UL_OK) return st;
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return ul_net_fail(n, UL_E_NOTFOUND, model, field, "object " UL_NET_OBJECTS "/%s.%s does not exist in the store",
                           hex, ext);
    char got[65];
    if ((st = ul_sha256_file(path, got)) != UL_OK) return ul_net_fail(n, st, model, field, "%s", ul_last_error());
    if (strcmp(got, hex) != 0)
        return ul_net_fail(n, UL_E_FORMAT, model, field,
                           "object " UL_NET_OBJECTS "/%s.%s is corrupt: its content hashes to %s", hex, ext, got);
    return UL_OK;
}

ul_status ul_net_put_object(ul_net *n, const void *data, size_t len, const char *ext, char hex[65]) {
    if (!n || (!data && len) || !hex) return ul_fail(UL_E_ARG, "ul_net_put_object: NULL argument");
    if (!ul_net_ext_ok(ext))
        return ul_net_fail(n, UL_E_ARG, NULL, "object extension", "'%s' is not 1..15 of [a-z0-9]", ext ? ext : "(null)");
    if (n->readonly && !n->store_writable)
        return ul_net_fail(n, UL_E_ARG, NULL, "objects", "the network was opened read-only");
    char h[65], path[4096];
    ul_sha256_hex(data, len, h);
    ul_status st = ul_net_object_file(n, h, ext, path, sizeof path);
    if (st != UL_OK) return st;
    struct stat sb;
    bool present = false;
    if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && (uintmax_t)sb.st_size == (uintmax_t)len) {
        char got[65];
        present = ul_sha256_file(path, got) == UL_OK && strcmp(got, h) == 0;
    }
    /* A damaged copy of the object is replaced atomically by the right bytes. */
    if (!present && (st = ul_write_file_atomic(path, data, len)) != UL_OK)
        return ul_fail_ctx(st, "network '%s': storing object %s.%s", n->dir, h, ext);
    memcpy(hex, h, sizeof h);
    return UL_OK;
}

ul_status ul_net_put_model(ul_net *n, const ul_model *m, const ul_ckpt_meta *meta, char hex[65]) {
    if (!n || !m || !hex) return ul_fail(UL_E_ARG, "ul_net_put_model: NULL argument");
    uint8_t *buf = NULL;
    size_t len = 0;
    ul_status st = ul_ckpt_to_buffer(m, meta, &buf, &len);
    if (st != UL_OK) return ul_fail_ctx(st, "network '%s': storing a '%s' checkpoint", n->dir, ul_model_spec(m));
    st = ul_net_put_object(n, buf, len, "safetensors", hex);
    free(buf);
    return st;
}

/* A directory scan for "<hex>.<ext>" with any valid ext (not temporary files). */
static bool scan_for(const ul_net *n, const char *hex, char *ext_out, size_t cap) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", n->dir, UL_NET_OBJECTS);
    DIR *d = opendir(dir);
    if (!d) return false;
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, hex, 64) != 0 || e->d_name[64] != '.') continue;
        const char *ext = e->d_name + 65;
        if (ul_net_ext_ok(ext) && strlen(ext) < cap) {
            strcpy(ext_out, ext);
            found = true;
        }
    }
    closedir(d);
    return found;
}

ul_status ul_net_object_path(const ul_net *n, const char *hex, char *buf, size_t bufsz) {
    if (!n || !buf || !bufsz) return ul_fail(UL_E_ARG, "ul_net_object_path: NULL argument");
    buf[0] = '\0';
    if (!ul_net_hex_ok(hex))
        return ul_net_fail(n, UL_E_ARG, NULL, "object", "'%.64s' is not a SHA-256 (64 lowercase hex digits)",
                           hex ? hex : "(null)");
    struct stat sb;
    for (size_t i = 0; i < sizeof KNOWN_EXT / sizeof *KNOWN_EXT; i++) {
        ul_status st = ul_net_object_file(n, hex, KNOWN_EXT[i], buf, bufsz);
        if (st != UL_OK) return st;
        if (stat(buf, &sb) == 0 && S_ISREG(sb.st_mode)) return UL_OK;
    }
    char ext[16];
    if (scan_for(n, hex, ext, sizeof ext)) {
        ul_status st = ul_net_object_file(n, hex, ext, buf, bufsz);
        if (st == UL_OK && stat(buf, &sb) == 0 && S_ISREG(sb.st_mode)) return UL_OK;
        if (st != UL_OK) return st;
    }
    buf[0] = '\0';
    return ul_net_fail(n, UL_E_NOTFOUND, NULL, "object", "no object %s in " UL_NET_OBJECTS "/", hex);
}

ul_status ul_net_load_model(ul_net *n, const ul_node *node, ul_model **out) {
    if (!out) return ul_fail(UL_E_ARG, "ul_net_load_model: out is NULL");
    *out = NULL;
    if (!n || !node) return ul_fail(UL_E_ARG, "ul_net_load_model: NULL argument");
    if (!ul_net_hex_ok(node->ckpt))
        return ul_net_fail(n, UL_E_ARG, node->name, "ckpt", "'%.64s' is not a SHA-256", node->ckpt);
    char path[4096];
    ul_status st = ul_net_object_file(n, node->ckpt, "safetensors", path, sizeof path);
    if (st != UL_OK) return st;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return ul_net_fail(n, UL_E_NOTFOUND, node->name, "ckpt",
                           "version %d: object " UL_NET_OBJECTS "/%s.safetensors does not exist", node->version,
                           node->ckpt);
    /* The name is the SHA-256 of the content: a damaged file (a flipped bit that still parses)
     * would otherwise be used silently, and a request's receipt would name bytes it never read. */
    char got[65];
    if ((st = ul_sha256_file(path, got)) != UL_OK) return ul_fail_ctx(st, "network '%s': model '%s'", n->dir, node->name);
    if (strcmp(got, node->ckpt) != 0)
        return ul_net_fail(n, UL_E_FORMAT, node->name, "ckpt",
                           "version %d: object " UL_NET_OBJECTS "/%s.safetensors is corrupt: its content hashes to %s "
                           "(run `unlearn net check`)",
                           node->version, node->ckpt, got);
    ul_model *m = NULL;
    st = ul_ckpt_load(path, node->arch, &node->ap, &m, NULL);
    if (st != UL_OK)
        return ul_fail_ctx(st, "network '%s': model '%s' version %d", n->dir, node->name, node->version);
    if (strcmp(ul_model_spec(m), node->arch) != 0) {
        st = ul_net_fail(n, UL_E_SHAPE, node->name, "arch", "the registry says '%s' but the checkpoint is '%s'",
                         node->arch, ul_model_spec(m));
        ul_model_free(m);
        return st;
    }
    *out = m;
    return UL_OK;
}

/* A writer killed mid-write leaves "objects/<name>.tmp.<pid>.<n>" (ul_write_file_atomic); nothing
 * ever reads it, but `net check` reports it. A writable open removes those whose writer process no
 * longer exists (kill(pid, 0) fails with ESRCH). The log entry is best effort: a busy registry
 * only loses the entry, never the open. */
void ul_net_remove_stale_temps(ul_net *n) {
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/%s", ul_net_dir(n), UL_NET_OBJECTS);
    DIR *d = opendir(dir);
    if (!d) return;
    cJSON *removed = cJSON_CreateArray();
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *t = strstr(e->d_name, ".tmp.");
        if (!t) continue;
        char *end = NULL;
        long pid = strtol(t + 5, &end, 10);
        if (pid <= 0 || !end || *end != '.' || pid == (long)getpid()) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        char path[4600];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (unlink(path) == 0) {
            ul_log(UL_LOG_WARN, "network '%s': removed %s, left by an interrupted writer (process %ld)", ul_net_dir(n), path, pid);
            cJSON_AddItemToArray(removed, cJSON_CreateString(e->d_name));
        }
    }
    closedir(d);
    if (cJSON_GetArraySize(removed) > 0) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddItemToObject(j, "removed_temp_files", removed);
        char *txt = cJSON_PrintUnformatted(j);
        if (txt && ul_net_log(n, "cleanup", txt) != UL_OK) ul_clear_error();
        free(txt);
        cJSON_Delete(j);
    } else {
        cJSON_Delete(removed);
    }
}

ul_status ul_net_own_view(ul_net *n, const ul_data_selector *sel, ul_dataset *d, ul_view **out) {
    *out = NULL;
    ul_view *v = NULL;
    ul_status st = ul_selector_resolve(sel, d, &v);
    if (st != UL_OK || !sel->exclude[0]) {
        *out = v;
        return st;
    }
    char path[4096];
    int32_t *ids = NULL;
    size_t nids = 0;
    if ((st = ul_net_object_path(n, sel->exclude, path, sizeof path)) == UL_OK &&
        (st = ul_read_ids(path, ul_dataset_size(d), &ids, &nids)) == UL_OK)
        st = ul_view_filter_ids(v, ids, nids, false, out);
    if (st != UL_OK) ul_fail_ctx(st, "exclude list %.12s of a data selector", sel->exclude);
    free(ids);
    ul_view_free(v);
    return st;
}
