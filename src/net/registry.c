/* The UMIG registry (net.h): creating and opening a network directory, the SQLite schema, adding
 * models with every invariant checked in the writing transaction, request transactions
 * (begin / replace / commit / abort), the log, and reading nodes back.
 *
 * Schema, format "unlearn-umig" version 1 (meta rows 'format' and 'version'):
 *   meta(key TEXT PK, value TEXT)
 *   models(name TEXT PK, created_seq INTEGER UNIQUE, arch, in_c, in_h, in_w, classes, width REAL,
 *          own TEXT (selector JSON), own_hash, learned, inherited (canonical label sets), edge TEXT
 *          ("avg", ...), recipe TEXT (JSON object))
 *   parents(child -> models, pos, parent -> models; PK (child, pos), UNIQUE (child, parent))
 *   requests(id INTEGER PK AUTOINCREMENT, created_at, kind, request TEXT (JSON), receipt TEXT (JSON))
 *   versions(id INTEGER PK AUTOINCREMENT, name -> models, version 1.., ckpt, fisher ('' = none),
 *            replaces -> versions (NULL for version 1), request -> requests (NULL for version 1),
 *            test_acc REAL (-1 unknown), created_at; UNIQUE (name, version))
 *   version_parents(version_id -> versions, pos, parent_version_id -> versions; PK (version_id, pos))
 *   log(id INTEGER PK AUTOINCREMENT, at, event, detail TEXT (JSON object))
 * The current version of a model is its highest version. Times are UTC ISO-8601 text. Every
 * statement binds its parameters; no user string is ever formatted into SQL.
 * Deliberately no deletion of models or versions and no schema migration (other versions are
 * refused); objects are written by store.c before the transaction that names them.
 */
#include "net/net_internal.h"

#include <errno.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#define NOW_SQL "strftime('%Y-%m-%dT%H:%M:%fZ','now')"

static const char SCHEMA_SQL[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE models(name TEXT PRIMARY KEY, created_seq INTEGER NOT NULL UNIQUE, arch TEXT NOT NULL,"
    " in_c INTEGER NOT NULL, in_h INTEGER NOT NULL, in_w INTEGER NOT NULL, classes INTEGER NOT NULL,"
    " width REAL NOT NULL, own TEXT NOT NULL, own_hash TEXT NOT NULL, learned TEXT NOT NULL,"
    " inherited TEXT NOT NULL, edge TEXT NOT NULL, recipe TEXT NOT NULL);"
    "CREATE TABLE parents(child TEXT NOT NULL REFERENCES models(name), pos INTEGER NOT NULL,"
    " parent TEXT NOT NULL REFERENCES models(name), PRIMARY KEY(child, pos), UNIQUE(child, parent));"
    "CREATE INDEX parents_by_parent ON parents(parent);"
    "CREATE TABLE requests(id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT NULL,"
    " kind TEXT NOT NULL, request TEXT NOT NULL, receipt TEXT);"
    "CREATE TABLE versions(id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " name TEXT NOT NULL REFERENCES models(name), version INTEGER NOT NULL, ckpt TEXT NOT NULL,"
    " fisher TEXT NOT NULL, replaces INTEGER REFERENCES versions(id),"
    " request INTEGER REFERENCES requests(id), test_acc REAL NOT NULL, created_at TEXT NOT NULL,"
    " UNIQUE(name, version));"
    "CREATE TABLE version_parents(version_id INTEGER NOT NULL REFERENCES versions(id),"
    " pos INTEGER NOT NULL, parent_version_id INTEGER NOT NULL REFERENCES versions(id),"
    " PRIMARY KEY(version_id, pos));"
    "CREATE TABLE log(id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, event TEXT NOT NULL,"
    " detail TEXT NOT NULL);";

/* ---- errors and SQL helpers (shared through net_internal.h) -------------------------- */

ul_status ul_net_fail(const ul_net *n, ul_status s, const char *model, const char *field, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *dir = n && n->dir ? n->dir : "?";
    if (model && field) return ul_fail(s, "network '%s': model '%s': %s: %s", dir, model, field, msg);
    if (model) return ul_fail(s, "network '%s': model '%s': %s", dir, model, msg);
    if (field) return ul_fail(s, "network '%s': %s: %s", dir, field, msg);
    return ul_fail(s, "network '%s': %s", dir, msg);
}

/* Why an SQLite I/O operation may have failed, for messages ("" when nothing is known). SQLite's
 * saved errno is only reliable right after the failing call, so the file system and the file
 * size limit are looked at too. */
static void io_reason(const ul_net *n, char *buf, size_t cap) {
    buf[0] = '\0';
    int e = n && n->db ? sqlite3_system_errno(n->db) : 0;
    if (e > 0 && e != EINTR && e != EAGAIN) {
        snprintf(buf, cap, "%s", strerror(e));
        return;
    }
    struct statvfs v;
    if (n && n->dir && statvfs(n->dir, &v) == 0) {
        if (v.f_flag & ST_RDONLY) {
            snprintf(buf, cap, "%s", strerror(EROFS));
            return;
        }
        if ((unsigned long long)v.f_bavail * v.f_frsize < 65536ull) {
            snprintf(buf, cap, "%s", strerror(ENOSPC));
            return;
        }
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        snprintf(buf, cap, "%s? the file size limit (ulimit -f) is %llu bytes", strerror(EFBIG),
                 (unsigned long long)rl.rlim_cur);
}

ul_status ul_net_sql_fail(const ul_net *n, int rc, const char *what) {
    int prim = rc & 0xff;
    if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED)
        return ul_net_fail(n, UL_E_BUSY, NULL, NULL, "%s: network is busy: another process is writing (waited %.1f s)",
                           what, n ? n->busy_ms / 1000.0 : 0.0);
    const char *msg = n && n->db ? sqlite3_errmsg(n->db) : sqlite3_errstr(rc);
    ul_status s = UL_E_IO;
    if (prim == SQLITE_NOMEM) s = UL_E_NOMEM;
    else if (prim == SQLITE_CORRUPT || prim == SQLITE_NOTADB || prim == SQLITE_FORMAT) s = UL_E_FORMAT;
    else if (prim == SQLITE_READONLY) s = UL_E_IO;
    else if (prim == SQLITE_CONSTRAINT || prim == SQLITE_MISUSE || prim == SQLITE_RANGE) s = UL_E_INTERNAL;
    /* "disk I/O error" alone does not say why: add the operating system's reason (EFBIG, ENOSPC,
     * EROFS, EACCES...) when SQLite kept one, else what the process can see: a full file system
     * or a file size limit. */
    if (prim == SQLITE_IOERR || prim == SQLITE_FULL || prim == SQLITE_CANTOPEN || prim == SQLITE_READONLY) {
        char why[160];
        io_reason(n, why, sizeof why);
        if (why[0]) return ul_net_fail(n, s, NULL, NULL, "%s: %s (%s)", what, msg, why);
    }
    return ul_net_fail(n, s, NULL, NULL, "%s: %s", what, msg);
}

/* A store-only handle (ul_net_open_store) has no registry connection. */
static ul_status no_registry(const ul_net *n) {
    return ul_net_fail(n, UL_E_ARG, NULL, NULL, "this handle opens the object store only, not the registry");
}

ul_status ul_net_prepare(const ul_net *n, const char *sql, sqlite3_stmt **st) {
    *st = NULL;
    if (!n->db) return no_registry(n);
    int rc = sqlite3_prepare_v2(n->db, sql, -1, st, NULL);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(*st);
        *st = NULL;
        return ul_net_sql_fail(n, rc, "preparing a query");
    }
    return UL_OK;
}

ul_status ul_net_exec(const ul_net *n, const char *sql, const char *what) {
    if (!n->db) return no_registry(n);
    int rc = sqlite3_exec(n->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? UL_OK : ul_net_sql_fail(n, rc, what);
}

ul_status ul_net_write_begin(ul_net *n, const char *what) {
    if (n->readonly) return ul_net_fail(n, UL_E_ARG, NULL, NULL, "%s: the network was opened read-only", what);
    if (n->txn) return ul_net_fail(n, UL_E_ARG, NULL, NULL, "%s: a request transaction is open on this handle", what);
    return ul_net_exec(n, "BEGIN IMMEDIATE", what);
}

void ul_net_rollback(ul_net *n) {
    if (n && n->db && !sqlite3_get_autocommit(n->db)) sqlite3_exec(n->db, "ROLLBACK", NULL, NULL, NULL);
}

ul_status ul_net_read_begin(ul_net *n, bool *started) {
    *started = false;
    if (!n->db) return no_registry(n);
    if (!sqlite3_get_autocommit(n->db)) return UL_OK;
    ul_status st = ul_net_exec(n, "BEGIN", "starting a read");
    if (st == UL_OK) *started = true;
    return st;
}

void ul_net_read_end(ul_net *n, bool started) {
    if (started) sqlite3_exec(n->db, "COMMIT", NULL, NULL, NULL);
}

bool ul_net_col_text(sqlite3_stmt *s, int col, char *dst, size_t cap) {
    const unsigned char *t = sqlite3_column_text(s, col);
    dst[0] = '\0';
    if (!t) return false;
    size_t len = (size_t)sqlite3_column_bytes(s, col);
    if (len >= cap || strlen((const char *)t) != len) return false;
    memcpy(dst, t, len + 1);
    return true;
}

/* ---- validation helpers ------------------------------------------------------------- */

bool ul_net_name_ok(const char *name) {
    if (!name || !name[0] || name[0] == '.') return false;
    size_t i = 0;
    for (; name[i]; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                  c == '.' || c == '-';
        if (!ok || i + 1 >= UL_NET_NAME_MAX) return false;
    }
    return true;
}

bool ul_net_hex_ok(const char *hex) {
    if (!hex) return false;
    for (int i = 0; i < 64; i++)
        if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f'))) return false;
    return hex[64] == '\0';
}

bool ul_net_ext_ok(const char *ext) {
    if (!ext || !ext[0]) return false;
    for (size_t i = 0; ext[i]; i++)
        if (i >= 15 || !((ext[i] >= 'a' && ext[i] <= 'z') || (ext[i] >= '0' && ext[i] <= '9'))) return false;
    return true;
}

bool ul_net_format_labels(const int32_t *labels, size_t n, char *buf, size_t cap) {
    if (!cap) return false;
    buf[0] = '\0';
    size_t len = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && labels[j + 1] == labels[j] + 1) j++;
        int k = j > i ? snprintf(buf + len, cap - len, "%s%d-%d", len ? "," : "", (int)labels[i], (int)labels[j])
                      : snprintf(buf + len, cap - len, "%s%d", len ? "," : "", (int)labels[i]);
        if (k < 0 || (size_t)k >= cap - len) {
            buf[0] = '\0';
            return false;
        }
        len += (size_t)k;
        i = j + 1;
    }
    return true;
}

ul_status ul_net_parse_labels(const char *s, int classes, int32_t **labels, size_t *n) {
    *labels = NULL;
    *n = 0;
    if (!s || !s[0]) return UL_OK;
    return ul_parse_label_set(s, classes, labels, n);
}

bool ul_net_same_arch(const char *arch_a, const ul_arch_params *a, const char *arch_b, const ul_arch_params *b) {
    float wa = a->width == 0.0f ? 1.0f : a->width, wb = b->width == 0.0f ? 1.0f : b->width;
    return strcmp(arch_a, arch_b) == 0 && a->in_c == b->in_c && a->in_h == b->in_h && a->in_w == b->in_w &&
           a->classes == b->classes && wa == wb;
}

const char *ul_net_arity_problem(ul_edge_type e, int np) {
    if (np < 0 || np > UL_NET_MAX_PARENTS) return "more parents than UL_NET_MAX_PARENTS (16)";
    switch (e) {
    case UL_EDGE_NONE: return np == 0 ? NULL : "edge 'none' takes no parents (use avg, continue, transfer or finetune)";
    case UL_EDGE_AVG: return np >= 2 ? NULL : "edge 'avg' takes two or more parents (one parent: use finetune)";
    case UL_EDGE_CONTINUE:
    case UL_EDGE_TRANSFER:
    case UL_EDGE_FINETUNE: return np == 1 ? NULL : "edges 'continue', 'transfer' and 'finetune' take exactly one parent";
    default: return "unknown edge type";
    }
}

/* true when s parses as a JSON object. */
static bool json_object_ok(const char *s) {
    cJSON *j = cJSON_ParseWithOpts(s, NULL, true);
    bool ok = cJSON_IsObject(j);
    cJSON_Delete(j);
    return ok;
}

/* ---- opening ------------------------------------------------------------------------- */

static char *strip_dir(const char *dir) {
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/') len--;
    char *d = ul_malloc(len + 1, 1);
    if (!d) return NULL;
    memcpy(d, dir, len);
    d[len] = '\0';
    return d;
}

/* mkdir -p */
static ul_status make_dirs(const char *dir) {
    size_t len = strlen(dir);
    char *p = ul_malloc(len + 1, 1);
    if (!p) return UL_E_NOMEM;
    memcpy(p, dir, len + 1);
    ul_status st = UL_OK;
    for (size_t i = 1; i <= len && st == UL_OK; i++) {
        if (p[i] != '/' && p[i] != '\0') continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST)
            st = ul_fail(UL_E_IO, "network '%s': cannot create directory '%s': %s", dir, p, strerror(errno));
        p[i] = c;
    }
    free(p);
    return st;
}

static ul_status dir_is_empty(const char *dir, bool *empty) {
    DIR *d = opendir(dir);
    if (!d) return ul_fail(UL_E_IO, "network '%s': cannot read directory: %s", dir, strerror(errno));
    *empty = true;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            *empty = false;
            break;
        }
    closedir(d);
    return UL_OK;
}

static ul_status db_path(const ul_net *n, char **out) {
    size_t len = strlen(n->dir) + sizeof "/" UL_NET_DB;
    *out = ul_malloc(len, 1);
    if (!*out) return UL_E_NOMEM;
    snprintf(*out, len, "%s/%s", n->dir, UL_NET_DB);
    return UL_OK;
}

static ul_status net_new(const char *dir, bool readonly, ul_net **out) {
    ul_net *n = ul_calloc(1, sizeof *n);
    if (!n) return UL_E_NOMEM;
    n->dir = strip_dir(dir);
    if (!n->dir) {
        free(n);
        return UL_E_NOMEM;
    }
    n->readonly = readonly;
    n->busy_ms = 10000;
    *out = n;
    return UL_OK;
}

/* Is the file system holding `dir` mounted read-only? */
static bool on_readonly_fs(const char *dir) {
    struct statvfs vfs;
    return statvfs(dir, &vfs) == 0 && (vfs.f_flag & ST_RDONLY) != 0;
}

/* A reader of a network on a read-only file system (an archived copy, a read-only mount) cannot
 * create the WAL index (umig.db-shm) SQLite needs, so it opens the file as immutable instead: no
 * locks, no WAL index. That is only right when nothing can write the file (the file system is
 * read-only) and no un-checkpointed WAL content exists (umig.db-wal absent or empty). */
static bool immutable_open_ok(const ul_net *n) {
    if (!on_readonly_fs(n->dir)) return false;
    char wal[4200];
    struct stat sb;
    snprintf(wal, sizeof wal, "%s/" UL_NET_DB "-wal", n->dir);
    return stat(wal, &sb) != 0 || sb.st_size == 0;
}

/* "file:<path>?immutable=1" with the URI-special characters of the path percent-encoded. */
static char *immutable_uri(const char *path) {
    size_t len = strlen(path), k = 0;
    char *u = ul_malloc(3 * len + 32, 1);
    if (!u) return NULL;
    k += (size_t)sprintf(u, path[0] == '/' ? "file://" : "file:"); /* absolute: empty authority */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)path[i];
        if (c == '%' || c == '?' || c == '#' || c <= 0x20 || c >= 0x7f) k += (size_t)sprintf(u + k, "%%%02X", c);
        else u[k++] = (char)c;
    }
    sprintf(u + k, "?immutable=1");
    return u;
}

/* Open the database file with the connection settings; create it when `create`. */
static ul_status connect_db(ul_net *n, bool create) {
    char *path;
    ul_status st = db_path(n, &path);
    if (st != UL_OK) return st;
    int flags = n->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
    if (n->readonly && immutable_open_ok(n)) {
        char *uri = immutable_uri(path);
        free(path);
        if (!uri) return UL_E_NOMEM;
        path = uri;
        flags |= SQLITE_OPEN_URI;
    }
    int rc = sqlite3_open_v2(path, &n->db, flags, NULL);
    free(path);
    if (rc != SQLITE_OK) return ul_net_sql_fail(n, rc, "opening " UL_NET_DB);
    sqlite3_busy_timeout(n->db, n->busy_ms);
    if (!n->readonly) {
        sqlite3_stmt *s = NULL;
        if ((rc = sqlite3_prepare_v2(n->db, "PRAGMA journal_mode=WAL", -1, &s, NULL)) != SQLITE_OK) {
            sqlite3_finalize(s);
            return ul_net_sql_fail(n, rc, "opening " UL_NET_DB " for writing");
        }
        rc = sqlite3_step(s);
        bool wal = rc == SQLITE_ROW && sqlite3_column_text(s, 0) &&
                   strcmp((const char *)sqlite3_column_text(s, 0), "wal") == 0;
        if (rc != SQLITE_ROW) st = ul_net_sql_fail(n, rc, "switching " UL_NET_DB " to WAL mode");
        else if (!wal)
            st = ul_net_fail(n, UL_E_IO, NULL, NULL, UL_NET_DB " cannot use WAL mode (journal mode stays '%s')",
                             (const char *)sqlite3_column_text(s, 0));
        sqlite3_finalize(s);
        if (st != UL_OK) return st;
        st = ul_net_exec(n, "PRAGMA synchronous=FULL", "setting synchronous=FULL");
    }
    if (st == UL_OK) st = ul_net_exec(n, "PRAGMA foreign_keys=ON", "enabling foreign keys");
    return st;
}

/* The meta table must say format unlearn-umig, version UL_NET_VERSION. */
static ul_status check_meta(ul_net *n) {
    sqlite3_stmt *s;
    int rc = sqlite3_prepare_v2(n->db, "SELECT key, value FROM meta", -1, &s, NULL);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(s);
        if ((rc & 0xff) == SQLITE_ERROR)
            return ul_net_fail(n, UL_E_FORMAT, NULL, NULL, UL_NET_DB " is not an unlearn network registry (no meta table)");
        return ul_net_sql_fail(n, rc, "reading the meta table");
    }
    char format[64] = "", version[64] = "";
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(s, 0);
        if (!k) continue;
        if (strcmp(k, "format") == 0) ul_net_col_text(s, 1, format, sizeof format);
        else if (strcmp(k, "version") == 0) ul_net_col_text(s, 1, version, sizeof version);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) return ul_net_sql_fail(n, rc, "reading the meta table");
    if (strcmp(format, UL_NET_FORMAT) != 0)
        return ul_net_fail(n, UL_E_FORMAT, NULL, "meta.format", "'%s' is not '" UL_NET_FORMAT "'", format);
    char expect[16];
    snprintf(expect, sizeof expect, "%d", UL_NET_VERSION);
    if (strcmp(version, expect) != 0)
        return ul_net_fail(n, UL_E_UNSUPPORTED, NULL, "meta.version",
                           "registry version '%s' is not supported by this build (it reads version %s only)", version,
                           expect);
    return UL_OK;
}

/* Create the network in place (DIR must be absent or empty). ul_net_create wraps it so that the
 * network appears whole or not at all. */
static ul_status create_in_place(const char *dir, ul_net **out) {
    if (!out) return ul_fail(UL_E_ARG, "ul_net_create: out is NULL");
    *out = NULL;
    if (!dir || !dir[0]) return ul_fail(UL_E_ARG, "ul_net_create: directory is required");
    struct stat sb;
    ul_status st = UL_OK;
    if (stat(dir, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode)) return ul_fail(UL_E_ARG, "network '%s': exists and is not a directory", dir);
        bool empty = false;
        if ((st = dir_is_empty(dir, &empty)) != UL_OK) return st;
        if (!empty)
            return ul_fail(UL_E_ARG, "network '%s': directory exists and is not empty (refusing to create a network there)",
                           dir);
    } else if (errno != ENOENT) {
        return ul_fail(UL_E_IO, "network '%s': cannot stat: %s", dir, strerror(errno));
    } else if ((st = make_dirs(dir)) != UL_OK) {
        return st;
    }
    ul_net *n;
    if ((st = net_new(dir, false, &n)) != UL_OK) return st;
    size_t olen = strlen(n->dir) + sizeof "/" UL_NET_OBJECTS;
    char *obj = ul_malloc(olen, 1);
    if (!obj) st = UL_E_NOMEM;
    else {
        snprintf(obj, olen, "%s/%s", n->dir, UL_NET_OBJECTS);
        if (mkdir(obj, 0777) != 0)
            st = ul_net_fail(n, UL_E_IO, NULL, NULL, "cannot create '%s': %s", obj, strerror(errno));
        free(obj);
    }
    if (st == UL_OK) st = connect_db(n, true);
    if (st == UL_OK) st = ul_net_write_begin(n, "creating the schema");
    if (st == UL_OK) {
        st = ul_net_exec(n, SCHEMA_SQL, "creating the schema");
        char meta[128];
        snprintf(meta, sizeof meta, "INSERT INTO meta(key, value) VALUES('format', '" UL_NET_FORMAT "'), ('version', '%d')",
                 UL_NET_VERSION);
        if (st == UL_OK) st = ul_net_exec(n, meta, "writing the meta table");
        if (st == UL_OK) st = ul_net_exec(n, "COMMIT", "committing the schema");
        if (st != UL_OK) ul_net_rollback(n);
    }
    if (st != UL_OK) {
        ul_net_close(n);
        return st;
    }
    *out = n;
    return UL_OK;
}

/* Remove what create_in_place made in `tmp` (after a failure): the database files, objects/ (empty
 * then) and the directory itself. Anything else found there is left alone. */
static void remove_partial(const char *tmp) {
    if (strlen(tmp) > 4400) return;
    static const char *const files[] = {UL_NET_DB, UL_NET_DB "-wal", UL_NET_DB "-shm", UL_NET_DB "-journal"};
    char p[4500];
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(p, sizeof p, "%s/%s", tmp, files[i]);
        unlink(p);
    }
    snprintf(p, sizeof p, "%s/%s", tmp, UL_NET_OBJECTS);
    rmdir(p);
    rmdir(tmp);
}

/* "DIR.partial-<pid>" siblings left by creators that were killed (their process is gone). */
static void remove_stale_partials(const char *dir) {
    char parent[4096];
    const char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : dir;
    if (!slash) snprintf(parent, sizeof parent, ".");
    else if (slash == dir) snprintf(parent, sizeof parent, "/");
    else snprintf(parent, sizeof parent, "%.*s", (int)(slash - dir), dir);
    DIR *d = opendir(parent);
    if (!d) return;
    const size_t bl = strlen(base);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, base, bl) != 0 || strncmp(e->d_name + bl, ".partial-", 9) != 0) continue;
        char *end = NULL;
        long pid = strtol(e->d_name + bl + 9, &end, 10);
        if (pid <= 0 || !end || *end || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        char p[4400];
        snprintf(p, sizeof p, "%.4000s/%.255s", parent, e->d_name);
        remove_partial(p);
    }
    closedir(d);
}

/* Atomic creation: create in a sibling "DIR.partial-<pid>", close, rename onto DIR, fsync the parent
 * directory, reopen. A process killed at any point leaves either no DIR or a whole empty network
 * (plus, at worst, a stale ".partial-" sibling that nothing reads). */
ul_status ul_net_create(const char *dir_in, ul_net **out) {
    if (!out) return ul_fail(UL_E_ARG, "ul_net_create: out is NULL");
    *out = NULL;
    if (!dir_in || !dir_in[0]) return ul_fail(UL_E_ARG, "ul_net_create: directory is required");
    char dir[4096], tmp[4200], parent[4096];
    if (strlen(dir_in) >= sizeof dir) return ul_fail(UL_E_ARG, "network '%s': path too long", dir_in);
    snprintf(dir, sizeof dir, "%s", dir_in);
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/') dir[--len] = '\0';
    struct stat sb;
    if (stat(dir, &sb) == 0 && (!S_ISDIR(sb.st_mode) || rmdir(dir) != 0))
        return create_in_place(dir, out); /* not a directory, or not empty: its error message */
    remove_stale_partials(dir);
    snprintf(tmp, sizeof tmp, "%s.partial-%ld", dir, (long)getpid());
    ul_net *n = NULL;
    ul_status st = create_in_place(tmp, &n);
    if (st != UL_OK) {
        remove_partial(tmp); /* e.g. the disk filled up: leave nothing behind */
        return st;
    }
    ul_net_close(n);
    if (rename(tmp, dir) != 0) {
        st = ul_fail(UL_E_IO, "network '%s': cannot move the new network '%s' into place: %s", dir, tmp, strerror(errno));
        remove_partial(tmp);
        return st;
    }
    const char *slash = strrchr(dir, '/');
    if (!slash) snprintf(parent, sizeof parent, ".");
    else if (slash == dir) snprintf(parent, sizeof parent, "/");
    else snprintf(parent, sizeof parent, "%.*s", (int)(slash - dir), dir);
    int fd = open(parent, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        if (fsync(fd) != 0) st = ul_fail(UL_E_IO, "network '%s': fsync of '%s': %s", dir, parent, strerror(errno));
        close(fd);
    }
    if (st != UL_OK) return st;
    return ul_net_open(dir, false, out);
}

ul_status ul_net_open(const char *dir, bool readonly, ul_net **out) {
    if (!out) return ul_fail(UL_E_ARG, "ul_net_open: out is NULL");
    *out = NULL;
    if (!dir || !dir[0]) return ul_fail(UL_E_ARG, "ul_net_open: directory is required");
    ul_net *n;
    ul_status st = net_new(dir, readonly, &n);
    if (st != UL_OK) return st;
    char *path = NULL;
    struct stat sb;
    if (stat(n->dir, &sb) != 0) {
        int e = errno;
        st = ul_net_fail(n, e == ENOENT ? UL_E_NOTFOUND : UL_E_IO, NULL, NULL, "the network directory %s",
                         e == ENOENT ? "does not exist" : strerror(e));
    } else if (!S_ISDIR(sb.st_mode)) {
        st = ul_net_fail(n, UL_E_FORMAT, NULL, NULL, "not a network: it is a file, not a directory");
    } else if ((st = db_path(n, &path)) == UL_OK) {
        if (stat(path, &sb) != 0)
            st = ul_net_fail(n, errno == ENOENT ? UL_E_NOTFOUND : UL_E_IO, NULL, NULL,
                             "not a network: cannot find '%s': %s", path, strerror(errno));
        else if (!S_ISREG(sb.st_mode))
            st = ul_net_fail(n, UL_E_FORMAT, NULL, NULL, "not a network: '%s' is not a regular file", path);
        free(path);
    }
    /* A writer on a read-only file system would fail at its first write with SQLite's "attempt to
     * write a readonly database" or "unable to open database file"; say so up front. */
    if (st == UL_OK && !readonly && on_readonly_fs(n->dir))
        st = ul_net_fail(n, UL_E_IO, NULL, NULL, "cannot write: the network is on a read-only file system");
    else if (st == UL_OK && !readonly && access(n->dir, W_OK) != 0)
        st = ul_net_fail(n, UL_E_IO, NULL, NULL, "cannot write to the network directory: %s", strerror(errno));
    if (st == UL_OK) st = connect_db(n, false);
    if (st == UL_OK) st = check_meta(n);
    if (st != UL_OK) {
        ul_net_close(n);
        return st;
    }
    if (!readonly) ul_net_remove_stale_temps(n);
    *out = n;
    return UL_OK;
}

ul_status ul_net_open_store(const char *dir, bool writable, ul_net **out) {
    if (!out) return ul_fail(UL_E_ARG, "ul_net_open_store: out is NULL");
    *out = NULL;
    if (!dir || !dir[0]) return ul_fail(UL_E_ARG, "ul_net_open_store: directory is required");
    ul_net *n;
    ul_status st = net_new(dir, true, &n);
    if (st != UL_OK) return st;
    char objs[4200];
    struct stat sb;
    snprintf(objs, sizeof objs, "%s/%s", n->dir, UL_NET_OBJECTS);
    if (stat(objs, &sb) != 0 || !S_ISDIR(sb.st_mode))
        st = ul_net_fail(n, UL_E_NOTFOUND, NULL, NULL, "not a network: no " UL_NET_OBJECTS "/ directory");
    else if (writable && on_readonly_fs(n->dir))
        st = ul_net_fail(n, UL_E_IO, NULL, NULL, "cannot write objects: the network is on a read-only file system");
    else if (writable && access(objs, W_OK) != 0)
        st = ul_net_fail(n, UL_E_IO, NULL, NULL, "cannot write to " UL_NET_OBJECTS "/: %s", strerror(errno));
    if (st != UL_OK) {
        ul_net_close(n);
        return st;
    }
    n->store_writable = writable;
    *out = n;
    return UL_OK;
}

void ul_net_close(ul_net *n) {
    if (!n) return;
    if (n->txn) ul_net_abort(n->txn);
    if (n->db) sqlite3_close_v2(n->db);
    free(n->dir);
    free(n);
}

const char *ul_net_dir(const ul_net *n) { return n ? n->dir : ""; }

void ul_net_set_busy_timeout(ul_net *n, int ms) {
    if (!n) return;
    n->busy_ms = ms < 0 ? 0 : ms;
    if (n->db) sqlite3_busy_timeout(n->db, n->busy_ms);
}

/* ---- adding models ------------------------------------------------------------------- */

/* Checks that need no database. learned/inherited are canonicalised in place. */
static ul_status validate_new(ul_net *n, ul_node *nd) {
    const char *nm = nd->name;
    if (strnlen(nd->name, UL_NET_NAME_MAX) >= UL_NET_NAME_MAX || !ul_net_name_ok(nd->name))
        return ul_net_fail(n, UL_E_ARG, NULL, "name",
                           "'%.*s' is not a valid model name ([A-Za-z0-9_.-], 1..%d chars, not starting with '.')",
                           UL_NET_NAME_MAX - 1, nd->name, UL_NET_NAME_MAX - 1);
    if (!nd->arch[0] || strnlen(nd->arch, sizeof nd->arch) >= sizeof nd->arch)
        return ul_net_fail(n, UL_E_ARG, nm, "arch", "empty or longer than %zu characters", sizeof nd->arch - 1);
    if (nd->ap.in_c <= 0 || nd->ap.in_h <= 0 || nd->ap.in_w <= 0 || nd->ap.classes <= 0 || nd->ap.width < 0.0f)
        return ul_net_fail(n, UL_E_ARG, nm, "ap", "input shape %dx%dx%d, %d classes, width %g: expected positive values",
                           nd->ap.in_c, nd->ap.in_h, nd->ap.in_w, nd->ap.classes, (double)nd->ap.width);
    if (!ul_net_hex_ok(nd->ckpt))
        return ul_net_fail(n, UL_E_ARG, nm, "ckpt", "'%.64s' is not a SHA-256 (64 lowercase hex digits)", nd->ckpt);
    if (nd->fisher[0] && !ul_net_hex_ok(nd->fisher))
        return ul_net_fail(n, UL_E_ARG, nm, "fisher", "'%.64s' is neither empty nor a SHA-256", nd->fisher);
    if (nd->own_hash[0] && !ul_net_hex_ok(nd->own_hash))
        return ul_net_fail(n, UL_E_ARG, nm, "own_hash", "'%.64s' is neither empty nor a SHA-256", nd->own_hash);
    char who[160];
    snprintf(who, sizeof who, "network '%s': model '%s': own", n->dir, nm);
    ul_status st = ul_net_selector_validate(&nd->own, who);
    if (st != UL_OK) return st;
    char *sets[2] = {nd->learned, nd->inherited};
    const char *fields[2] = {"learned", "inherited"};
    for (int k = 0; k < 2; k++) {
        if (strnlen(sets[k], UL_NET_LABELS_MAX) >= UL_NET_LABELS_MAX)
            return ul_net_fail(n, UL_E_ARG, nm, fields[k], "not NUL-terminated");
        int32_t *lab;
        size_t nl;
        if ((st = ul_net_parse_labels(sets[k], nd->ap.classes, &lab, &nl)) != UL_OK)
            return ul_net_fail(n, st, nm, fields[k], "%s", ul_last_error());
        char canon[UL_NET_LABELS_MAX];
        bool ok = ul_net_format_labels(lab, nl, canon, sizeof canon);
        free(lab);
        if (!ok) return ul_net_fail(n, UL_E_ARG, nm, fields[k], "canonical label set too long");
        memcpy(sets[k], canon, sizeof canon);
    }
    if (nd->edge < 0 || nd->edge >= UL_EDGE_COUNT)
        return ul_net_fail(n, UL_E_ARG, nm, "edge", "unknown edge type %d", (int)nd->edge);
    if (nd->nparents < 0 || nd->nparents > UL_NET_MAX_PARENTS)
        return ul_net_fail(n, UL_E_ARG, nm, "nparents", "%d, expected 0..%d", nd->nparents, UL_NET_MAX_PARENTS);
    const char *ar = ul_net_arity_problem(nd->edge, nd->nparents);
    if (ar) return ul_net_fail(n, UL_E_ARG, nm, "edge", "'%s' with %d parents: %s", ul_edge_name(nd->edge), nd->nparents, ar);
    for (int i = 0; i < nd->nparents; i++) {
        char field[32];
        snprintf(field, sizeof field, "parents[%d]", i);
        const char *p = nd->parents[i];
        if (strnlen(p, UL_NET_NAME_MAX) >= UL_NET_NAME_MAX || !ul_net_name_ok(p))
            return ul_net_fail(n, UL_E_ARG, nm, field, "'%.*s' is not a valid model name", UL_NET_NAME_MAX - 1, p);
        if (strcmp(p, nm) == 0) return ul_net_fail(n, UL_E_ARG, nm, field, "a model cannot be its own parent");
        for (int j = 0; j < i; j++)
            if (strcmp(nd->parents[j], p) == 0)
                return ul_net_fail(n, UL_E_ARG, nm, field, "'%s' is listed twice (parents must be distinct)", p);
    }
    if (strnlen(nd->recipe, sizeof nd->recipe) >= sizeof nd->recipe)
        return ul_net_fail(n, UL_E_ARG, nm, "recipe", "not NUL-terminated");
    if (nd->recipe[0] && !json_object_ok(nd->recipe))
        return ul_net_fail(n, UL_E_ARG, nm, "recipe", "not a JSON object");
    return UL_OK;
}

static ul_status step_done(ul_net *n, sqlite3_stmt *s, const char *what) {
    int rc = sqlite3_step(s);
    return rc == SQLITE_DONE ? UL_OK : ul_net_sql_fail(n, rc, what);
}

/* version_parents rows of version `vid` of model `name`: the parents' current versions. */
static ul_status insert_version_parents(ul_net *n, int64_t vid, const char *name) {
    sqlite3_stmt *s;
    ul_status st = ul_net_prepare(n,
                                  "INSERT INTO version_parents(version_id, pos, parent_version_id)"
                                  " SELECT ?1, p.pos, (SELECT v.id FROM versions v WHERE v.name = p.parent"
                                  " ORDER BY v.version DESC LIMIT 1) FROM parents p WHERE p.child = ?2",
                                  &s);
    if (st != UL_OK) return st;
    sqlite3_bind_int64(s, 1, vid);
    sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
    st = step_done(n, s, "recording parent versions");
    sqlite3_finalize(s);
    return st;
}

/* Insert a versions row; *id gets its id. replaces/request 0 store NULL. */
static ul_status insert_version(ul_net *n, const char *name, int version, const char *ckpt, const char *fisher,
                                int64_t replaces, int64_t request, double test_acc, int64_t *id) {
    sqlite3_stmt *s;
    ul_status st = ul_net_prepare(n,
                                  "INSERT INTO versions(name, version, ckpt, fisher, replaces, request, test_acc,"
                                  " created_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, " NOW_SQL ")",
                                  &s);
    if (st != UL_OK) return st;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, version);
    sqlite3_bind_text(s, 3, ckpt, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, fisher ? fisher : "", -1, SQLITE_STATIC);
    if (replaces) sqlite3_bind_int64(s, 5, replaces);
    else sqlite3_bind_null(s, 5);
    if (request) sqlite3_bind_int64(s, 6, request);
    else sqlite3_bind_null(s, 6);
    sqlite3_bind_double(s, 7, test_acc < 0.0 ? -1.0 : test_acc);
    st = step_done(n, s, "inserting a version");
    sqlite3_finalize(s);
    if (st == UL_OK) *id = sqlite3_last_insert_rowid(n->db);
    return st;
}

/* Current version id and architecture of `name`; UL_E_NOTFOUND (no message) when absent. */
static ul_status current_of(ul_net *n, const char *name, int64_t *vid, int *version, char arch[128], ul_arch_params *ap) {
    sqlite3_stmt *s;
    ul_status st = ul_net_prepare(n,
                                  "SELECT v.id, v.version, m.arch, m.in_c, m.in_h, m.in_w, m.classes, m.width"
                                  " FROM models m JOIN versions v ON v.name = m.name WHERE m.name = ?1"
                                  " ORDER BY v.version DESC LIMIT 1",
                                  &s);
    if (st != UL_OK) return st;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *vid = sqlite3_column_int64(s, 0);
        if (version) *version = sqlite3_column_int(s, 1);
        if (arch) ul_net_col_text(s, 2, arch, 128);
        if (ap) {
            ap->in_c = sqlite3_column_int(s, 3);
            ap->in_h = sqlite3_column_int(s, 4);
            ap->in_w = sqlite3_column_int(s, 5);
            ap->classes = sqlite3_column_int(s, 6);
            ap->width = (float)sqlite3_column_double(s, 7);
        }
    } else if (rc == SQLITE_DONE) {
        st = UL_E_NOTFOUND;
    } else {
        st = ul_net_sql_fail(n, rc, "looking up a model");
    }
    sqlite3_finalize(s);
    return st;
}

/* The database part of ul_net_add, inside BEGIN IMMEDIATE. */
static ul_status add_in_txn(ul_net *n, ul_node *nd, const char *own_json) {
    const char *nm = nd->name;
    int64_t vid;
    ul_status st = current_of(n, nm, &vid, NULL, NULL, NULL);
    if (st == UL_OK) return ul_net_fail(n, UL_E_ARG, nm, "name", "a model with this name already exists");
    if (st != UL_E_NOTFOUND) return st;
    for (int i = 0; i < nd->nparents; i++) {
        char field[32], parch[128] = "";
        ul_arch_params pap = {0, 0, 0, 0, 0.0f};
        snprintf(field, sizeof field, "parents[%d]", i);
        st = current_of(n, nd->parents[i], &nd->parent_ids[i], NULL, parch, &pap);
        if (st == UL_E_NOTFOUND)
            return ul_net_fail(n, UL_E_NOTFOUND, nm, field, "no model named '%s' (parents must exist before their children)",
                               nd->parents[i]);
        if (st != UL_OK) return st;
        if (!ul_net_same_arch(nd->arch, &nd->ap, parch, &pap))
            return ul_net_fail(n, UL_E_SHAPE, nm, "arch",
                               "'%s' (input %dx%dx%d, %d classes) differs from parent '%s' (%s): '%s' (input %dx%dx%d, "
                               "%d classes)",
                               nd->arch, nd->ap.in_c, nd->ap.in_h, nd->ap.in_w, nd->ap.classes, nd->parents[i], field,
                               parch, pap.in_c, pap.in_h, pap.in_w, pap.classes);
    }
    if ((st = ul_net_verify_object(n, nd->ckpt, "safetensors", nm, "ckpt")) != UL_OK) return st;
    if (nd->fisher[0] && (st = ul_net_verify_object(n, nd->fisher, "fisher", nm, "fisher")) != UL_OK) return st;
    if (nd->own.exclude[0] && (st = ul_net_verify_object(n, nd->own.exclude, "ids", nm, "own.exclude")) != UL_OK)
        return st;

    sqlite3_stmt *s;
    if ((st = ul_net_prepare(n, "SELECT COALESCE(MAX(created_seq), 0) + 1 FROM models", &s)) != UL_OK) return st;
    int rc = sqlite3_step(s);
    int64_t seq = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW) return ul_net_sql_fail(n, rc, "numbering the model");

    st = ul_net_prepare(n,
                        "INSERT INTO models(name, created_seq, arch, in_c, in_h, in_w, classes, width, own, own_hash,"
                        " learned, inherited, edge, recipe) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
                        " ?13, ?14)",
                        &s);
    if (st != UL_OK) return st;
    sqlite3_bind_text(s, 1, nm, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, seq);
    sqlite3_bind_text(s, 3, nd->arch, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 4, nd->ap.in_c);
    sqlite3_bind_int(s, 5, nd->ap.in_h);
    sqlite3_bind_int(s, 6, nd->ap.in_w);
    sqlite3_bind_int(s, 7, nd->ap.classes);
    sqlite3_bind_double(s, 8, (double)nd->ap.width);
    sqlite3_bind_text(s, 9, own_json, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 10, nd->own_hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 11, nd->learned, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 12, nd->inherited, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 13, ul_edge_name(nd->edge), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 14, nd->recipe[0] ? nd->recipe : "{}", -1, SQLITE_STATIC);
    st = step_done(n, s, "inserting the model");
    sqlite3_finalize(s);
    if (st != UL_OK) return st;

    if ((st = ul_net_prepare(n, "INSERT INTO parents(child, pos, parent) VALUES(?1, ?2, ?3)", &s)) != UL_OK) return st;
    for (int i = 0; i < nd->nparents && st == UL_OK; i++) {
        sqlite3_reset(s);
        sqlite3_bind_text(s, 1, nm, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 2, i);
        sqlite3_bind_text(s, 3, nd->parents[i], -1, SQLITE_STATIC);
        st = step_done(n, s, "inserting a parent edge");
    }
    sqlite3_finalize(s);
    if (st != UL_OK) return st;

    int64_t id;
    if ((st = insert_version(n, nm, 1, nd->ckpt, nd->fisher, 0, 0, nd->test_acc, &id)) != UL_OK) return st;
    if ((st = insert_version_parents(n, id, nm)) != UL_OK) return st;
    nd->id = id;
    nd->version = 1;
    nd->created_seq = seq;
    nd->replaces = 0;
    nd->request = 0;
    return UL_OK;
}

ul_status ul_net_add(ul_net *n, ul_node *node) {
    if (!n || !node) return ul_fail(UL_E_ARG, "ul_net_add: NULL argument");
    ul_status st = validate_new(n, node);
    if (st != UL_OK) return st;
    char *own = ul_selector_to_json(&node->own);
    if (!own) return ul_net_fail(n, UL_E_NOMEM, node->name, "own", "cannot serialise the selector");
    ul_node saved = *node;
    if ((st = ul_net_write_begin(n, "adding a model")) == UL_OK) {
        st = add_in_txn(n, node, own);
        if (st == UL_OK) st = ul_net_exec(n, "COMMIT", "committing the new model");
        if (st != UL_OK) {
            ul_net_rollback(n);
            *node = saved; /* ids assigned in the failed transaction do not leak out */
        }
    }
    free(own);
    return st;
}

/* ---- request transactions ---------------------------------------------------------- */

ul_status ul_net_begin(ul_net *n, const char *kind, const char *request_json, ul_net_txn **out) {
    if (!out) return ul_fail(UL_E_ARG, "ul_net_begin: out is NULL");
    *out = NULL;
    if (!n || !kind || !kind[0]) return ul_fail(UL_E_ARG, "ul_net_begin: network and kind are required");
    if (request_json && !json_object_ok(request_json))
        return ul_net_fail(n, UL_E_ARG, NULL, "request", "not a JSON object");
    ul_net_txn *t = ul_calloc(1, sizeof *t);
    if (!t) return UL_E_NOMEM;
    ul_status st = ul_net_write_begin(n, "starting a request");
    if (st != UL_OK) {
        free(t);
        return st;
    }
    sqlite3_stmt *s;
    st = ul_net_prepare(n, "INSERT INTO requests(created_at, kind, request, receipt) VALUES(" NOW_SQL ", ?1, ?2, NULL)",
                        &s);
    if (st == UL_OK) {
        sqlite3_bind_text(s, 1, kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, request_json ? request_json : "{}", -1, SQLITE_STATIC);
        st = step_done(n, s, "reserving the request");
        sqlite3_finalize(s);
    }
    if (st != UL_OK) {
        ul_net_rollback(n);
        free(t);
        return st;
    }
    t->n = n;
    t->request_id = sqlite3_last_insert_rowid(n->db);
    n->txn = t;
    *out = t;
    return UL_OK;
}

static ul_status replace_in_savepoint(ul_net_txn *t, const char *name, int64_t based_on, const char *ckpt,
                                      const char *fisher, double test_acc, int64_t *new_id) {
    ul_net *n = t->n;
    int64_t cur = 0;
    int version = 0;
    ul_status st = current_of(n, name, &cur, &version, NULL, NULL);
    if (st == UL_E_NOTFOUND) return ul_net_fail(n, st, name, "name", "no such model");
    if (st != UL_OK) return st;
    /* Optimistic concurrency: the caller computed the new version from version `based_on`; if
     * another request committed a newer one meanwhile, committing would silently drop that
     * request's change (a lost update). */
    if (based_on > 0 && cur != based_on)
        return ul_net_fail(n, UL_E_BUSY, name, NULL,
                           "changed by another request while this one ran (this request read version id %lld, the "
                           "current version is id %lld, v%d); nothing was committed: run the request again",
                           (long long)based_on, (long long)cur, version);
    sqlite3_stmt *s;
    if ((st = ul_net_prepare(n, "SELECT 1 FROM versions WHERE name = ?1 AND request = ?2", &s)) != UL_OK) return st;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, t->request_id);
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc == SQLITE_ROW)
        return ul_net_fail(n, UL_E_ARG, name, NULL, "already replaced by this request (one new version per model per request)");
    if (rc != SQLITE_DONE) return ul_net_sql_fail(n, rc, "looking up versions");
    if ((st = ul_net_verify_object(n, ckpt, "safetensors", name, "ckpt")) != UL_OK) return st;
    if (fisher && fisher[0] && (st = ul_net_verify_object(n, fisher, "fisher", name, "fisher")) != UL_OK) return st;
    int64_t id;
    if ((st = insert_version(n, name, version + 1, ckpt, fisher, cur, t->request_id, test_acc, &id)) != UL_OK) return st;
    if ((st = insert_version_parents(n, id, name)) != UL_OK) return st;
    if (new_id) *new_id = id;
    return UL_OK;
}

ul_status ul_net_txn_replace(ul_net_txn *t, const char *name, const char *ckpt, const char *fisher, double test_acc,
                             int64_t *new_id) {
    return ul_net_txn_replace_from(t, name, 0, ckpt, fisher, test_acc, new_id);
}

ul_status ul_net_txn_replace_from(ul_net_txn *t, const char *name, int64_t based_on, const char *ckpt,
                                  const char *fisher, double test_acc, int64_t *new_id) {
    if (!t || !t->n) return ul_fail(UL_E_ARG, "ul_net_txn_replace: no transaction");
    ul_net *n = t->n;
    if (!name || !ul_net_name_ok(name))
        return ul_net_fail(n, UL_E_ARG, NULL, "name", "'%s' is not a valid model name", name ? name : "(null)");
    if (!ul_net_hex_ok(ckpt))
        return ul_net_fail(n, UL_E_ARG, name, "ckpt", "'%.64s' is not a SHA-256", ckpt ? ckpt : "(null)");
    if (fisher && fisher[0] && !ul_net_hex_ok(fisher))
        return ul_net_fail(n, UL_E_ARG, name, "fisher", "'%.64s' is neither empty nor a SHA-256", fisher);
    ul_status st = ul_net_exec(n, "SAVEPOINT ul_replace", "starting a replacement");
    if (st != UL_OK) return st;
    st = replace_in_savepoint(t, name, based_on, ckpt, fisher, test_acc, new_id);
    if (st != UL_OK) sqlite3_exec(n->db, "ROLLBACK TO ul_replace", NULL, NULL, NULL);
    sqlite3_exec(n->db, "RELEASE ul_replace", NULL, NULL, NULL);
    return st;
}

static void txn_free(ul_net_txn *t) {
    if (t->n && t->n->txn == t) t->n->txn = NULL;
    free(t);
}

/* The log row of a committed request, written in its transaction (so `net log` shows exactly the
 * requests that committed): {"id", "kind", "request" (its JSON), "versions": [{"model", "version"}]}. */
static ul_status log_request(ul_net_txn *t) {
    ul_net *n = t->n;
    sqlite3_stmt *s = NULL;
    cJSON *j = cJSON_CreateObject(), *vs = NULL;
    ul_status st = j ? UL_OK : UL_E_NOMEM;
    if (st == UL_OK) st = ul_net_prepare(n, "SELECT kind, request FROM requests WHERE id = ?1", &s);
    if (st == UL_OK) {
        sqlite3_bind_int64(s, 1, t->request_id);
        if (sqlite3_step(s) == SQLITE_ROW) {
            const char *kind = (const char *)sqlite3_column_text(s, 0), *req = (const char *)sqlite3_column_text(s, 1);
            cJSON_AddNumberToObject(j, "id", (double)t->request_id);
            cJSON_AddStringToObject(j, "kind", kind ? kind : "?");
            cJSON *r = req ? cJSON_Parse(req) : NULL;
            cJSON_AddItemToObject(j, "request", r ? r : cJSON_CreateObject());
        }
        sqlite3_finalize(s);
        s = NULL;
        st = ul_net_prepare(n, "SELECT name, version FROM versions WHERE request = ?1 ORDER BY id", &s);
    }
    if (st == UL_OK) {
        vs = cJSON_AddArrayToObject(j, "versions");
        sqlite3_bind_int64(s, 1, t->request_id);
        int rc;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            cJSON *v = cJSON_CreateObject();
            const char *nm = (const char *)sqlite3_column_text(s, 0);
            cJSON_AddStringToObject(v, "model", nm ? nm : "?");
            cJSON_AddNumberToObject(v, "version", sqlite3_column_int(s, 1));
            cJSON_AddItemToArray(vs, v);
        }
        if (rc != SQLITE_DONE) st = ul_net_sql_fail(n, rc, "listing the request's versions");
    }
    sqlite3_finalize(s);
    char *txt = st == UL_OK ? cJSON_PrintUnformatted(j) : NULL;
    if (st == UL_OK && !txt) st = UL_E_NOMEM;
    cJSON_Delete(j);
    if (st == UL_OK) st = ul_net_log(n, "request", txt);
    free(txt);
    return st;
}

ul_status ul_net_commit(ul_net_txn *t, const char *receipt_json, int64_t *request_id) {
    if (!t || !t->n) return ul_fail(UL_E_ARG, "ul_net_commit: no transaction");
    ul_net *n = t->n;
    ul_status st = UL_OK;
    if (receipt_json && !json_object_ok(receipt_json))
        st = ul_net_fail(n, UL_E_ARG, NULL, "receipt", "not a JSON object (the request is aborted)");
    sqlite3_stmt *s = NULL;
    if (st == UL_OK) st = ul_net_prepare(n, "UPDATE requests SET receipt = ?1 WHERE id = ?2", &s);
    if (st == UL_OK) {
        sqlite3_bind_text(s, 1, receipt_json ? receipt_json : "{}", -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, t->request_id);
        st = step_done(n, s, "writing the receipt");
    }
    sqlite3_finalize(s);
    if (st == UL_OK) st = log_request(t);
    if (st == UL_OK) st = ul_net_exec(n, "COMMIT", "committing the request");
    if (st != UL_OK) ul_net_rollback(n);
    else if (request_id) *request_id = t->request_id;
    txn_free(t);
    return st;
}

void ul_net_abort(ul_net_txn *t) {
    if (!t) return;
    if (t->n) ul_net_rollback(t->n);
    txn_free(t);
}

/* ---- the log --------------------------------------------------------------------------- */

ul_status ul_net_log(ul_net *n, const char *event, const char *detail_json) {
    if (!n || !event || !event[0]) return ul_fail(UL_E_ARG, "ul_net_log: network and event are required");
    if (n->readonly) return ul_net_fail(n, UL_E_ARG, NULL, "log", "the network was opened read-only");
    if (detail_json && !json_object_ok(detail_json))
        return ul_net_fail(n, UL_E_ARG, NULL, "log detail", "not a JSON object");
    sqlite3_stmt *s;
    ul_status st = ul_net_prepare(n, "INSERT INTO log(at, event, detail) VALUES(" NOW_SQL ", ?1, ?2)", &s);
    if (st != UL_OK) return st;
    sqlite3_bind_text(s, 1, event, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, detail_json ? detail_json : "{}", -1, SQLITE_STATIC);
    st = step_done(n, s, "appending to the log");
    sqlite3_finalize(s);
    return st;
}

/* ---- reading -------------------------------------------------------------------------- */

#define NODE_SELECT                                                                                              \
    "SELECT v.id, m.name, v.version, m.created_seq, m.arch, m.in_c, m.in_h, m.in_w, m.classes, m.width, v.ckpt," \
    " v.fisher, m.own, m.own_hash, m.learned, m.inherited, m.edge, m.recipe, COALESCE(v.replaces, 0),"          \
    " COALESCE(v.request, 0), v.test_acc FROM versions v JOIN models m ON m.name = v.name "
#define CURRENT_ONLY "v.version = (SELECT MAX(w.version) FROM versions w WHERE w.name = v.name)"

typedef struct node_reader {
    sqlite3_stmt *par, *vpar;
} node_reader;

static ul_status reader_init(ul_net *n, node_reader *r) {
    r->par = r->vpar = NULL;
    ul_status st = ul_net_prepare(n, "SELECT parent FROM parents WHERE child = ?1 ORDER BY pos", &r->par);
    if (st == UL_OK)
        st = ul_net_prepare(n, "SELECT parent_version_id FROM version_parents WHERE version_id = ?1 ORDER BY pos",
                            &r->vpar);
    return st;
}

static void reader_free(node_reader *r) {
    sqlite3_finalize(r->par);
    sqlite3_finalize(r->vpar);
}

/* Fill `o` from the current row of an NODE_SELECT statement, then its parents. */
static ul_status read_row(ul_net *n, node_reader *r, sqlite3_stmt *s, ul_node *o) {
    memset(o, 0, sizeof *o);
    o->id = sqlite3_column_int64(s, 0);
    bool ok = ul_net_col_text(s, 1, o->name, sizeof o->name);
    const char *nm = o->name[0] ? o->name : "?";
    o->version = sqlite3_column_int(s, 2);
    o->created_seq = sqlite3_column_int64(s, 3);
    ok = ok && ul_net_col_text(s, 4, o->arch, sizeof o->arch);
    o->ap.in_c = sqlite3_column_int(s, 5);
    o->ap.in_h = sqlite3_column_int(s, 6);
    o->ap.in_w = sqlite3_column_int(s, 7);
    o->ap.classes = sqlite3_column_int(s, 8);
    o->ap.width = (float)sqlite3_column_double(s, 9);
    ok = ok && ul_net_col_text(s, 10, o->ckpt, sizeof o->ckpt);
    ok = ok && ul_net_col_text(s, 11, o->fisher, sizeof o->fisher);
    if (!ok) return ul_net_fail(n, UL_E_FORMAT, nm, "version row", "a text field is missing or too long");
    const char *own = (const char *)sqlite3_column_text(s, 12);
    if (ul_selector_from_json(own ? own : "", &o->own) != UL_OK)
        return ul_net_fail(n, UL_E_FORMAT, nm, "own", "%s", ul_last_error());
    ok = ul_net_col_text(s, 13, o->own_hash, sizeof o->own_hash) &&
         ul_net_col_text(s, 14, o->learned, sizeof o->learned) &&
         ul_net_col_text(s, 15, o->inherited, sizeof o->inherited);
    char edge[32];
    ok = ok && ul_net_col_text(s, 16, edge, sizeof edge) && ul_edge_parse(edge, &o->edge) == UL_OK;
    ok = ok && ul_net_col_text(s, 17, o->recipe, sizeof o->recipe);
    if (!ok) return ul_net_fail(n, UL_E_FORMAT, nm, "model row", "a text field is missing, too long or unknown");
    o->replaces = sqlite3_column_int64(s, 18);
    o->request = sqlite3_column_int64(s, 19);
    o->test_acc = sqlite3_column_double(s, 20);

    int rc;
    sqlite3_reset(r->par);
    sqlite3_bind_text(r->par, 1, o->name, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(r->par)) == SQLITE_ROW) {
        if (o->nparents >= UL_NET_MAX_PARENTS)
            return ul_net_fail(n, UL_E_FORMAT, nm, "parents", "more than %d parents", UL_NET_MAX_PARENTS);
        if (!ul_net_col_text(r->par, 0, o->parents[o->nparents], UL_NET_NAME_MAX))
            return ul_net_fail(n, UL_E_FORMAT, nm, "parents", "a parent name is missing or too long");
        o->nparents++;
    }
    if (rc != SQLITE_DONE) return ul_net_sql_fail(n, rc, "reading parents");
    sqlite3_reset(r->vpar);
    sqlite3_bind_int64(r->vpar, 1, o->id);
    int k = 0;
    while ((rc = sqlite3_step(r->vpar)) == SQLITE_ROW) {
        if (k < UL_NET_MAX_PARENTS) o->parent_ids[k] = sqlite3_column_int64(r->vpar, 0);
        k++;
    }
    if (rc != SQLITE_DONE) return ul_net_sql_fail(n, rc, "reading parent versions");
    if (k != o->nparents)
        return ul_net_fail(n, UL_E_FORMAT, nm, "parent versions", "version %d records %d parent versions for %d parents",
                           o->version, k, o->nparents);
    return UL_OK;
}

/* Run `sql` (NODE_SELECT + condition) with ?1 bound to text `name` or integer `id`, collecting every
 * row. */
static ul_status read_nodes(ul_net *n, const char *sql, const char *name, int64_t id, ul_node **out, size_t *count) {
    *out = NULL;
    *count = 0;
    bool started;
    ul_status st = ul_net_read_begin(n, &started);
    if (st != UL_OK) return st;
    node_reader r;
    sqlite3_stmt *s = NULL;
    ul_node *v = NULL;
    size_t k = 0, cap = 0;
    st = reader_init(n, &r);
    if (st == UL_OK) st = ul_net_prepare(n, sql, &s);
    if (st == UL_OK) {
        if (name) sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
        else if (id) sqlite3_bind_int64(s, 1, id);
        int rc = SQLITE_DONE;
        while (st == UL_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
            if (k == cap) {
                size_t nc = cap ? cap * 2 : 8;
                ul_node *nv = realloc(v, nc * sizeof *nv);
                if (!nv) {
                    st = ul_fail(UL_E_NOMEM, "network '%s': out of memory reading models", n->dir);
                    break;
                }
                v = nv;
                cap = nc;
            }
            st = read_row(n, &r, s, &v[k]);
            if (st == UL_OK) k++;
        }
        if (st == UL_OK && rc != SQLITE_DONE) st = ul_net_sql_fail(n, rc, "reading models");
    }
    sqlite3_finalize(s);
    reader_free(&r);
    ul_net_read_end(n, started);
    if (st != UL_OK) {
        free(v);
        return st;
    }
    *out = v;
    *count = k;
    return UL_OK;
}

ul_status ul_net_get(ul_net *n, const char *name, ul_node *out) {
    if (!n || !name || !out) return ul_fail(UL_E_ARG, "ul_net_get: NULL argument");
    ul_node *v;
    size_t k;
    ul_status st = read_nodes(n, NODE_SELECT "WHERE m.name = ?1 AND " CURRENT_ONLY, name, 0, &v, &k);
    if (st != UL_OK) return st;
    if (k == 0) st = ul_net_fail(n, UL_E_NOTFOUND, NULL, NULL, "no model named '%s'", name);
    else *out = v[0];
    free(v);
    return st;
}

ul_status ul_net_get_version(ul_net *n, int64_t id, ul_node *out) {
    if (!n || !out) return ul_fail(UL_E_ARG, "ul_net_get_version: NULL argument");
    if (id <= 0) return ul_net_fail(n, UL_E_NOTFOUND, NULL, NULL, "no version with id %lld", (long long)id);
    ul_node *v;
    size_t k;
    ul_status st = read_nodes(n, NODE_SELECT "WHERE v.id = ?1", NULL, id, &v, &k);
    if (st != UL_OK) return st;
    if (k == 0) st = ul_net_fail(n, UL_E_NOTFOUND, NULL, NULL, "no version with id %lld", (long long)id);
    else *out = v[0];
    free(v);
    return st;
}

ul_status ul_net_list(ul_net *n, ul_node **out, size_t *count) {
    if (!out || !count) return ul_fail(UL_E_ARG, "ul_net_list: NULL output");
    *out = NULL;
    *count = 0;
    if (!n) return ul_fail(UL_E_ARG, "ul_net_list: NULL network");
    return read_nodes(n, NODE_SELECT "WHERE " CURRENT_ONLY " ORDER BY m.created_seq", NULL, 0, out, count);
}

ul_status ul_net_history(ul_net *n, const char *name, ul_node **out, size_t *count) {
    if (!out || !count) return ul_fail(UL_E_ARG, "ul_net_history: NULL output");
    *out = NULL;
    *count = 0;
    if (!n || !name) return ul_fail(UL_E_ARG, "ul_net_history: NULL argument");
    ul_status st = read_nodes(n, NODE_SELECT "WHERE m.name = ?1 ORDER BY v.version", name, 0, out, count);
    if (st == UL_OK && *count == 0) st = ul_net_fail(n, UL_E_NOTFOUND, NULL, NULL, "no model named '%s'", name);
    return st;
}
