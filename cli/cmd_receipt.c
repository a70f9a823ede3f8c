/* cli/cmd_receipt.c: `unlearn receipt DIR [REQUEST]`: the deletion receipt of a committed request
 * of the network at DIR (default: the latest forget request), as text or --json; with --verify,
 * checks it against the network (include/unlearn/report.h ul_receipt_verify) and exits 3 when it
 * no longer holds. Reads the registry only; never writes. Fields a receipt lacks are printed as
 * "unknown" (text); --json prints the stored receipt as it is, plus what the registry says.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unlearn/net.h"
#include "unlearn/report.h"

#include "commands.h"
#include "common.h"
#include "opts.h"

enum { O_JSON, O_VERIFY, O_THREADS, O_COUNT };

static const cJSON *field(const cJSON *o, const char *k) { return o ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL; }

/* Text of a scalar (string, number, bool) or compact JSON of anything else; "unknown" if absent. */
static void value_text(const cJSON *v, char *buf, size_t cap) {
    if (!v || cJSON_IsNull(v)) snprintf(buf, cap, "unknown");
    else if (cJSON_IsString(v)) snprintf(buf, cap, "%s", v->valuestring);
    else if (cJSON_IsBool(v)) snprintf(buf, cap, "%s", cJSON_IsTrue(v) ? "true" : "false");
    else if (cJSON_IsNumber(v)) snprintf(buf, cap, "%.10g", v->valuedouble);
    else {
        char *s = cJSON_PrintUnformatted(v);
        snprintf(buf, cap, "%s", s ? s : "?");
        free(s);
    }
}

static void acc_text(const cJSON *v, char *buf, size_t cap) {
    if (!cJSON_IsNumber(v)) snprintf(buf, cap, "unknown");
    else if (v->valuedouble < 0) snprintf(buf, cap, "-");
    else snprintf(buf, cap, "%.2f%%", v->valuedouble);
}

static void secs_text(const cJSON *v, char *buf, size_t cap) {
    if (!cJSON_IsNumber(v)) snprintf(buf, cap, "unknown");
    else snprintf(buf, cap, "%.3f s", v->valuedouble);
}

/* The request in words: "labels 3,5" or "42 samples of the train split (id list sha256 ...)". */
static void request_text(const cJSON *req, char *buf, size_t cap) {
    const cJSON *lab = field(req, "labels"), *smp = field(req, "samples");
    if (cJSON_IsArray(lab)) {
        size_t k = (size_t)snprintf(buf, cap, "forget labels ");
        const cJSON *x;
        bool first = true;
        cJSON_ArrayForEach(x, lab) {
            if (k >= cap) break;
            k += (size_t)snprintf(buf + k, cap - k, "%s%g", first ? "" : ",", cJSON_IsNumber(x) ? x->valuedouble : NAN);
            first = false;
        }
    } else if (cJSON_IsObject(smp)) {
        char c[32], s[32], h[80];
        value_text(field(smp, "count"), c, sizeof c);
        value_text(field(smp, "split"), s, sizeof s);
        value_text(field(smp, "ids"), h, sizeof h);
        snprintf(buf, cap, "forget %s samples of the %s split (id list sha256 %s, objects/%s.ids)", c, s, h, h);
    } else {
        snprintf(buf, cap, "unknown");
    }
}

/* The version of `name` made by request `rid`, the model's current version and the request that
 * made it (0s when unknown). */
static void versions_of(ul_net *net, const char *name, int64_t rid, int *made, int *current, int64_t *later) {
    ul_node *h = NULL;
    size_t nh = 0;
    *made = *current = 0;
    *later = 0;
    if (ul_net_history(net, name, &h, &nh) != UL_OK || nh == 0) {
        free(h);
        return;
    }
    for (size_t i = 0; i < nh; i++)
        if (h[i].request == rid) *made = h[i].version;
    *current = h[nh - 1].version;
    if (*made && *current > *made) *later = h[nh - 1].request;
    free(h);
}

static void print_text(ul_net *net, const char *dir, const ul_net_request *rq, const cJSON *rec) {
    char b[1024];
    printf("request %lld (%s), committed %s\n", (long long)rq->id, rq->kind, rq->created_at);
    printf("  %-12s %s\n", "network", dir);
    request_text(field(rec, "request"), b, sizeof b);
    printf("  %-12s %s\n", "request", b);
    value_text(field(rec, "method"), b, sizeof b);
    printf("  %-12s %s\n", "method", b);
    const cJSON *par = field(rec, "parameters");
    printf("  %-12s ", "parameters");
    if (cJSON_IsObject(par) && par->child) {
        const cJSON *x;
        bool first = true;
        cJSON_ArrayForEach(x, par) {
            value_text(x, b, sizeof b);
            printf("%s%s %s", first ? "" : ", ", x->string, b);
            first = false;
        }
        printf("\n");
    } else {
        printf("unknown\n");
    }
    const cJSON *roots = field(rec, "roots"), *aff = field(rec, "affected"), *x;
    printf("  %-12s ", "roots");
    if (cJSON_IsArray(roots)) {
        bool first = true;
        cJSON_ArrayForEach(x, roots) printf("%s%s", first ? "" : ", ", cJSON_IsString(x) ? x->valuestring : "?"), first = false;
        printf("%s\n", first ? "none" : "");
    } else {
        printf("unknown\n");
    }
    printf("  %-12s ", "affected");
    if (cJSON_IsArray(aff)) {
        printf("%d models:", cJSON_GetArraySize(aff));
        cJSON_ArrayForEach(x, aff) {
            const cJSON *m = field(x, "model");
            printf(" %s", cJSON_IsString(m) ? m->valuestring : "?");
        }
        printf("\n");
    } else {
        printf("unknown\n");
    }
    const cJSON *tm = field(rec, "timings");
    char t1[32], t2[32], t3[32], t4[32];
    secs_text(field(tm, "roots_fisher_seconds"), t1, sizeof t1);
    secs_text(field(tm, "makespan_seconds"), t2, sizeof t2);
    secs_text(field(tm, "sum_seconds"), t3, sizeof t3);
    secs_text(field(tm, "total_seconds"), t4, sizeof t4);
    printf("  %-12s roots' forget Fisher %s, per-model phase makespan %s (sum %s), total %s\n", "timings", t1, t2, t3, t4);
    char v[64], g[64];
    value_text(field(rec, "tool_version"), v, sizeof v);
    value_text(field(rec, "git_commit"), g, sizeof g);
    printf("  %-12s unlearn %s, git commit %s\n", "tool", v, g);
    if (!cJSON_IsArray(aff)) return;
    static const char *const known[] = {"model", "root", "before", "after", "forget_acc_before", "forget_acc_after",
                                        "retain_acc_before", "retain_acc_after", "seconds"};
    cJSON_ArrayForEach(x, aff) {
        const cJSON *m = field(x, "model");
        const char *name = cJSON_IsString(m) ? m->valuestring : "unknown";
        int made, cur;
        int64_t later;
        versions_of(net, name, rq->id, &made, &cur, &later);
        printf("\nmodel %s (%s", name, cJSON_IsTrue(field(x, "root")) ? "root; " : "");
        if (made) printf("version %d", made);
        else printf("version unknown");
        if (later) printf("; changed again by request %lld, now version %d", (long long)later, cur);
        printf(")\n");
        value_text(field(x, "before"), b, sizeof b);
        printf("  %-16s %s\n", "before", b);
        value_text(field(x, "after"), b, sizeof b);
        printf("  %-16s %s\n", "after", b);
        char a1[32], a2[32];
        acc_text(field(x, "forget_acc_before"), a1, sizeof a1);
        acc_text(field(x, "forget_acc_after"), a2, sizeof a2);
        printf("  %-16s %s -> %s\n", "forget acc.", a1, a2);
        acc_text(field(x, "retain_acc_before"), a1, sizeof a1);
        acc_text(field(x, "retain_acc_after"), a2, sizeof a2);
        printf("  %-16s %s -> %s\n", "retained acc.", a1, a2);
        secs_text(field(x, "seconds"), t1, sizeof t1);
        printf("  %-16s %s\n", "time", t1);
        /* whatever else the receipt records per model (roots_merged, selected, ...), as stored */
        const cJSON *y;
        cJSON_ArrayForEach(y, x) {
            bool skip = false;
            for (size_t k = 0; k < sizeof known / sizeof *known && !skip; k++) skip = strcmp(y->string, known[k]) == 0;
            if (skip) continue;
            char key[64];
            snprintf(key, sizeof key, "%s", y->string);
            for (char *q = key; *q; q++)
                if (*q == '_') *q = ' ';
            value_text(y, b, sizeof b);
            printf("  %-16s %s\n", key, b);
        }
    }
}

/* Lines of a problems text as a JSON array. */
static cJSON *lines_json(const char *text) {
    cJSON *a = cJSON_CreateArray();
    for (const char *p = text ? text : ""; *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char *l = malloc(len + 1);
        if (l) {
            memcpy(l, p, len);
            l[len] = '\0';
            cJSON_AddItemToArray(a, cJSON_CreateString(l));
            free(l);
        }
        p += len + (e ? 1 : 0);
    }
    return a;
}

/* A recomputed accuracy: the number, -1 for "no samples", null when it was not measured. */
static void add_acc(cJSON *o, const char *key, double a) {
    if (isnan(a)) cJSON_AddNullToObject(o, key);
    else cJSON_AddNumberToObject(o, key, a);
}

static cJSON *verify_json(const ul_receipt_check *c) {
    cJSON *v = cJSON_CreateObject();
    cJSON_AddBoolToObject(v, "holds", c->holds);
    cJSON_AddItemToObject(v, "problems", lines_json(c->problems));
    cJSON *ms = cJSON_AddArrayToObject(v, "models");
    for (size_t i = 0; i < c->n; i++) {
        const ul_receipt_model *m = &c->models[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "model", m->name);
        cJSON_AddBoolToObject(o, "holds", m->holds);
        cJSON_AddNumberToObject(o, "version", m->version);
        cJSON_AddNumberToObject(o, "current_version", m->current_version);
        cJSON_AddNumberToObject(o, "later_request", (double)m->later_request);
        add_acc(o, "forget_acc_before", m->forget_acc_before);
        add_acc(o, "forget_acc_after", m->forget_acc_after);
        add_acc(o, "retain_acc_before", m->retain_acc_before);
        add_acc(o, "retain_acc_after", m->retain_acc_after);
        cJSON_AddItemToObject(o, "problems", lines_json(m->problems));
        cJSON_AddItemToArray(ms, o);
    }
    return v;
}

static void acc_short(double a, char *buf, size_t cap) {
    if (isnan(a)) snprintf(buf, cap, "not measured");
    else if (a < 0) snprintf(buf, cap, "-");
    else snprintf(buf, cap, "%.2f%%", a);
}

/* Per-model lines, then the verdict. */
static void print_verify(const char *dir, const ul_net_request *rq, const ul_receipt_check *c) {
    printf("verifying the receipt of request %lld of %s (%zu models)\n", (long long)rq->id, dir, c->n);
    for (size_t i = 0; i < c->n; i++) {
        const ul_receipt_model *m = &c->models[i];
        char f[32], r[32];
        acc_short(m->forget_acc_after, f, sizeof f);
        acc_short(m->retain_acc_after, r, sizeof r);
        printf("  %-14s %-6s version %d; forget after %s, retained after %s", m->name, m->holds ? "holds" : "FAILS",
               m->version, f, r);
        if (m->later_request)
            printf(" (changed again by request %lld, now version %d: fine, the receipt is about version %d)",
                   (long long)m->later_request, m->current_version, m->version);
        printf("\n");
        for (const char *p = m->problems; p && *p;) {
            const char *e = strchr(p, '\n');
            int len = e ? (int)(e - p) : (int)strlen(p);
            printf("      %.*s\n", len, p);
            p += len + (e ? 1 : 0);
        }
    }
    for (const char *p = c->problems; p && *p;) {
        const char *e = strchr(p, '\n');
        int len = e ? (int)(e - p) : (int)strlen(p);
        printf("  receipt: %.*s\n", len, p);
        p += len + (e ? 1 : 0);
    }
    size_t ok = 0;
    for (size_t i = 0; i < c->n; i++) ok += c->models[i].holds;
    printf("the receipt of request %lld %s (%zu of %zu models hold)\n", (long long)rq->id,
           c->holds ? "holds" : "does NOT hold", ok, c->n);
}

/* The first reason, for the one-line error: "model 'c': after: objects/... is corrupt ...". */
static void first_reason(const ul_receipt_check *c, char *buf, size_t cap) {
    snprintf(buf, cap, "unknown reason");
    const char *who = NULL, *text = NULL;
    if (c->problems && c->problems[0]) text = c->problems;
    for (size_t i = 0; i < c->n && !text; i++)
        if (!c->models[i].holds) who = c->models[i].name, text = c->models[i].problems;
    if (!text) return;
    const char *e = strchr(text, '\n');
    int len = e ? (int)(e - text) : (int)strlen(text);
    size_t nfail = 0;
    for (size_t i = 0; i < c->n; i++) nfail += !c->models[i].holds;
    if (who) snprintf(buf, cap, "model '%s': %.*s%s", who, len, text, nfail > 1 ? " (and other models, listed above)" : "");
    else snprintf(buf, cap, "%.*s", len, text);
}

int cmd_receipt(int argc, char **argv) {
    cli_opt opts[O_COUNT] = {
        [O_JSON] = {"json", 0, NULL, "off", "print one JSON document: the stored receipt plus what the registry says"},
        [O_VERIFY] = {"verify", 0, NULL, "off",
                      "check the receipt against the network: objects re-hashed, the request's versions, forget and "
                      "retained accuracy recomputed; exit 3 when it does not hold"},
        [O_THREADS] = {"threads", 0, "N", "0", "--verify: models evaluated at once (0 = all cores)"},
    };
    cli_cmd c = {
        .name = "receipt",
        .usage = "unlearn receipt DIR [REQUEST] [--json] [--verify]",
        .summary = "Print the deletion receipt of a committed request of the network at DIR: the request "
                   "(labels, or the hash and count of a sample-id list), roots, affected models, method and "
                   "parameters, the checkpoint hashes before and after, forget and retained accuracy before and "
                   "after, timings, tool version and git commit. REQUEST is a request id (1, 2, ... in commit "
                   "order; `unlearn net show` names the request that made each current version); default: the "
                   "latest forget request. Fields a receipt lacks print as \"unknown\".",
        .epilog = "examples:\n  unlearn receipt nets/mixed\n  unlearn receipt nets/mixed 2 --json\n"
                  "  unlearn receipt nets/mixed --verify\n",
        .opts = opts,
        .nopts = O_COUNT,
        .max_pos = 2,
    };
    const char *pos[2];
    int npos = 0;
    int rc = cli_parse(&c, argc, argv, pos, &npos);
    if (rc == CLI_PARSE_HELP) return CLI_EXIT_OK;
    if (rc) return rc;
    if (npos < 1) {
        cli_err(c.name, "missing the network directory DIR");
        cli_hint("see 'unlearn receipt --help'");
        return CLI_EXIT_USAGE;
    }
    const char *dir = pos[0];
    long id = 0;
    if (npos == 2 && strcmp(pos[1], "latest") != 0 && (!cli_parse_long(pos[1], &id) || id < 1)) {
        cli_err(c.name, "REQUEST must be a request id (1, 2, ...) or 'latest', not '%s'", pos[1]);
        return CLI_EXIT_USAGE;
    }
    long threads;
    if ((rc = cli_get_long(&c, &opts[O_THREADS], 0, 4096, &threads))) return rc;
    const bool json = cli_get_flag(&opts[O_JSON]), verify = cli_get_flag(&opts[O_VERIFY]);

    ul_net *net = NULL;
    ul_status st = ul_net_open(dir, true, &net);
    if (st != UL_OK) return cli_fail(c.name, st, CLI_FROM_INPUT, dir);
    ul_net_request rq;
    /* an explicit id may name a request of any kind; the default is the latest forget request */
    st = ul_net_get_request(net, id, id ? NULL : "forget", &rq);
    if (st != UL_OK) {
        ul_net_close(net);
        return cli_fail(c.name, st, CLI_FROM_INPUT, dir);
    }
    rc = CLI_EXIT_OK;
    cJSON *rec = cJSON_Parse(rq.receipt);
    if (!cJSON_IsObject(rec) && !verify) {
        cli_err(c.name, "network '%s': the stored receipt of request %lld is not a JSON object", dir, (long long)rq.id);
        rc = CLI_EXIT_INPUT;
        goto done;
    }
    ul_receipt_check chk;
    memset(&chk, 0, sizeof chk);
    if (verify) {
        ul_log_set(UL_LOG_ERROR, NULL, NULL);
        ul_set_threads(0);
        if ((st = ul_receipt_verify(net, &rq, (int)threads, &chk)) != UL_OK) {
            rc = cli_fail(c.name, st, CLI_FROM_INPUT, dir);
            goto done;
        }
    }
    if (json) {
        cJSON *o = cJSON_IsObject(rec) ? cJSON_Duplicate(rec, true) : cJSON_CreateObject();
        cJSON_DeleteItemFromObjectCaseSensitive(o, "request_id");
        cJSON_AddNumberToObject(o, "request_id", (double)rq.id);
        if (!cJSON_HasObjectItem(o, "network")) cJSON_AddStringToObject(o, "network", dir);
        cJSON *reg = cJSON_AddObjectToObject(o, "registry");
        cJSON_AddStringToObject(reg, "kind", rq.kind);
        cJSON_AddStringToObject(reg, "created_at", rq.created_at);
        cJSON *vs = cJSON_AddArrayToObject(reg, "versions");
        const cJSON *aff = field(rec, "affected"), *x;
        cJSON_ArrayForEach(x, aff) {
            const cJSON *m = field(x, "model");
            if (!cJSON_IsString(m)) continue;
            int made, cur;
            int64_t later;
            versions_of(net, m->valuestring, rq.id, &made, &cur, &later);
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "model", m->valuestring);
            cJSON_AddNumberToObject(e, "version", made);
            cJSON_AddNumberToObject(e, "current_version", cur);
            cJSON_AddNumberToObject(e, "later_request", (double)later);
            cJSON_AddItemToArray(vs, e);
        }
        if (verify) cJSON_AddItemToObject(o, "verify", verify_json(&chk));
        char *s = cJSON_Print(o);
        if (s) puts(s);
        free(s);
        cJSON_Delete(o);
    } else if (verify) {
        print_verify(dir, &rq, &chk);
    } else {
        print_text(net, dir, &rq, rec);
    }
    if (verify && !chk.holds) {
        char why[1400];
        first_reason(&chk, why, sizeof why);
        cli_err(c.name, "the receipt of request %lld does not hold: %s", (long long)rq.id, why);
        rc = CLI_EXIT_INPUT;
    }
    ul_receipt_check_free(&chk);
done:
    cJSON_Delete(rec);
    ul_net_request_free(&rq);
    ul_net_close(net);
    return rc;
}
