/* src/net/scenarios.c: the scenario tables of `unlearn net build` (see scenarios.h and
 * docs/net.md). Label sets below read as label numbers for a 10-class dataset (Fashion-MNIST).
 *
 *   il     chain   u0 (0-5) -> u1 (0-6) -> u2 (0-7) -> u3 (0-9), edges "continue"
 *   tl     star    u0 (0-5) -> u1 (0-6), u2 (0-7), u3 (0-9), edges "transfer" (head only)
 *   fl     DAG     clients c0 (1-9), c1 (0-9), c2 (0-6), c3 (1-7); every edge "avg":
 *                  d@c0, s@c3 from scratch; r1@c1 = avg(d,s); r2@c1 = avg(s,r1); r3@c2 = avg(d,r2);
 *                  r4@c2 = avg(r1,r2); r5@c3 = avg(r3,r4); r6@c0 = avg(s,r5)
 *   ddpl   fan-in  w1 (0-9), w2 (0-9), w3 (0-6) from scratch; agg (0-9) = avg(w1,w2,w3), 1 epoch
 *   mixed  DAG     a (0-5), b (3-9) from scratch; c = avg(a,b) (0-7); d = continue(c) (0-9);
 *                  e = transfer(c) (0-7); f = finetune(d) (2-9); g = avg(d,f) (0-9);
 *                  h = transfer(g) (0-9)
 *   chain  u0 (0-5) -> u1 (0-6) -> ... -> u4 (0-9) -> ... -> u{N-1} (0-9), "continue"
 *   dag    N models drawn from the seed (see make_dag)
 */
#include "net/scenarios.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unlearn/rng.h"

typedef struct scen_builder {
    ul_scenario *s;
    int cap;
} scen_builder;

static ul_status add_node(scen_builder *b, const char *name, ul_edge_type edge, uint16_t tenths, int slot,
                          int epochs, int nparents, const int *parents) {
    ul_scenario *s = b->s;
    if (s->n == b->cap) {
        int cap = b->cap ? 2 * b->cap : 16;
        ul_scen_node *nn = realloc(s->nodes, (size_t)cap * sizeof *nn);
        if (!nn) return ul_fail(UL_E_NOMEM, "scenario: out of memory");
        s->nodes = nn;
        b->cap = cap;
    }
    ul_scen_node *x = &s->nodes[s->n];
    memset(x, 0, sizeof *x);
    snprintf(x->name, sizeof x->name, "%s", name);
    x->edge = edge;
    x->tenths = tenths;
    x->slot = slot;
    x->epochs = epochs;
    x->nparents = nparents;
    for (int i = 0; i < nparents; i++) x->parents[i] = parents[i];
    if (slot + 1 > s->nslots) s->nslots = slot + 1;
    s->n++;
    return UL_OK;
}

/* Index of a node by name (the tables below only name earlier nodes). */
static int idx_of(const ul_scenario *s, const char *name) {
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->nodes[i].name, name) == 0) return i;
    return -1;
}

/* A node given by parent names: "a", "a,b", "" for none. */
static ul_status add(scen_builder *b, const char *name, ul_edge_type edge, const char *parents, uint16_t tenths,
                     int slot, int epochs) {
    int p[UL_NET_MAX_PARENTS], np = 0;
    const char *q = parents;
    while (*q) {
        char buf[UL_NET_NAME_MAX];
        size_t len = strcspn(q, ",");
        if (len >= sizeof buf || np == UL_NET_MAX_PARENTS) return ul_fail(UL_E_INTERNAL, "scenario: bad parent list");
        memcpy(buf, q, len);
        buf[len] = '\0';
        int k = idx_of(b->s, buf);
        if (k < 0) return ul_fail(UL_E_INTERNAL, "scenario: parent '%s' of '%s' is not defined earlier", buf, name);
        p[np++] = k;
        q += len;
        if (*q == ',') q++;
    }
    return add_node(b, name, edge, tenths, slot, epochs, np, p);
}

#define T UL_TENTHS

static ul_status make_il(scen_builder *b) {
    ul_status st;
    if ((st = add(b, "u0", UL_EDGE_NONE, "", T(0, 5), 0, 0)) != UL_OK) return st;
    if ((st = add(b, "u1", UL_EDGE_CONTINUE, "u0", T(0, 6), 1, 0)) != UL_OK) return st;
    if ((st = add(b, "u2", UL_EDGE_CONTINUE, "u1", T(0, 7), 2, 0)) != UL_OK) return st;
    return add(b, "u3", UL_EDGE_CONTINUE, "u2", T(0, 9), 3, 0);
}

static ul_status make_tl(scen_builder *b) {
    ul_status st;
    if ((st = add(b, "u0", UL_EDGE_NONE, "", T(0, 5), 0, 0)) != UL_OK) return st;
    if ((st = add(b, "u1", UL_EDGE_TRANSFER, "u0", T(0, 6), 1, 0)) != UL_OK) return st;
    if ((st = add(b, "u2", UL_EDGE_TRANSFER, "u0", T(0, 7), 2, 0)) != UL_OK) return st;
    return add(b, "u3", UL_EDGE_TRANSFER, "u0", T(0, 9), 3, 0);
}

static ul_status make_fl(scen_builder *b) {
    /* clients (slot = client): c0 lacks label 0, c1 holds everything, c2 lacks 7-9, c3 lacks 0, 8, 9 */
    const uint16_t c0 = T(1, 9), c1 = T(0, 9), c2 = T(0, 6), c3 = T(1, 7);
    ul_status st;
    if ((st = add(b, "d", UL_EDGE_NONE, "", c0, 0, 0)) != UL_OK) return st;
    if ((st = add(b, "s", UL_EDGE_NONE, "", c3, 3, 0)) != UL_OK) return st;
    if ((st = add(b, "r1", UL_EDGE_AVG, "d,s", c1, 1, 0)) != UL_OK) return st;
    if ((st = add(b, "r2", UL_EDGE_AVG, "s,r1", c1, 1, 0)) != UL_OK) return st;
    if ((st = add(b, "r3", UL_EDGE_AVG, "d,r2", c2, 2, 0)) != UL_OK) return st;
    if ((st = add(b, "r4", UL_EDGE_AVG, "r1,r2", c2, 2, 0)) != UL_OK) return st;
    if ((st = add(b, "r5", UL_EDGE_AVG, "r3,r4", c3, 3, 0)) != UL_OK) return st;
    return add(b, "r6", UL_EDGE_AVG, "s,r5", c0, 0, 0);
}

static ul_status make_ddpl(scen_builder *b) {
    ul_status st;
    if ((st = add(b, "w1", UL_EDGE_NONE, "", T(0, 9), 0, 0)) != UL_OK) return st;
    if ((st = add(b, "w2", UL_EDGE_NONE, "", T(0, 9), 1, 0)) != UL_OK) return st;
    if ((st = add(b, "w3", UL_EDGE_NONE, "", T(0, 6), 2, 0)) != UL_OK) return st;
    return add(b, "agg", UL_EDGE_AVG, "w1,w2,w3", T(0, 9), 3, 1); /* brief fine-tune after averaging */
}

static ul_status make_mixed(scen_builder *b) {
    ul_status st;
    if ((st = add(b, "a", UL_EDGE_NONE, "", T(0, 5), 0, 0)) != UL_OK) return st;
    if ((st = add(b, "b", UL_EDGE_NONE, "", T(3, 9), 1, 0)) != UL_OK) return st;
    if ((st = add(b, "c", UL_EDGE_AVG, "a,b", T(0, 7), 2, 0)) != UL_OK) return st;
    if ((st = add(b, "d", UL_EDGE_CONTINUE, "c", T(0, 9), 3, 0)) != UL_OK) return st;
    if ((st = add(b, "e", UL_EDGE_TRANSFER, "c", T(0, 7), 4, 0)) != UL_OK) return st;
    if ((st = add(b, "f", UL_EDGE_FINETUNE, "d", T(2, 9), 5, 0)) != UL_OK) return st;
    if ((st = add(b, "g", UL_EDGE_AVG, "d,f", T(0, 9), 6, 0)) != UL_OK) return st;
    return add(b, "h", UL_EDGE_TRANSFER, "g", T(0, 9), 7, 0);
}

static ul_status make_chain(scen_builder *b, int n) {
    for (int i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof name, "u%d", i);
        int hi = 5 + i > 9 ? 9 : 5 + i;
        int parent = i - 1;
        ul_status st = add_node(b, name, i == 0 ? UL_EDGE_NONE : UL_EDGE_CONTINUE, T(0, hi), i, 0, i == 0 ? 0 : 1,
                                &parent);
        if (st != UL_OK) return st;
    }
    return UL_OK;
}

/* A random contiguous range of 4..10 tenths. */
static uint16_t random_range(ul_rng *r) {
    int len = 4 + (int)ul_rng_below(r, 7);
    int lo = (int)ul_rng_below(r, (uint64_t)(11 - len));
    return T(lo, lo + len - 1);
}

/* The deep DAG: n0 (0-5) and n1 (3-9) from scratch; n2..n5 use avg, continue, transfer and
 * finetune once each so every type is present; later nodes draw their edge type (avg 35%,
 * continue 25%, transfer 15%, finetune 20%, none 5%) and parents from the 6 previous nodes, always
 * including the newest one with probability 0.6 (avg: always), which keeps the DAG deep.
 * continue widens its parent's own set by one tenth; the other types draw a range of 4..10 tenths. */
static ul_status make_dag(scen_builder *b, int n, uint64_t seed) {
    ul_rng r;
    ul_rng_seed2(&r, seed, 0x6461670000000000ull); /* "dag" */
    static const ul_edge_type first[4] = {UL_EDGE_AVG, UL_EDGE_CONTINUE, UL_EDGE_TRANSFER, UL_EDGE_FINETUNE};
    for (int i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof name, "n%d", i);
        ul_edge_type e;
        if (i < 2) e = UL_EDGE_NONE;
        else if (i < 6) e = first[i - 2];
        else {
            uint64_t u = ul_rng_below(&r, 100);
            e = u < 35 ? UL_EDGE_AVG : u < 60 ? UL_EDGE_CONTINUE : u < 75 ? UL_EDGE_TRANSFER : u < 95 ? UL_EDGE_FINETUNE
                                                                                                    : UL_EDGE_NONE;
        }
        int p[UL_NET_MAX_PARENTS], np = 0;
        const int lo = i - 6 < 0 ? 0 : i - 6;
        if (e == UL_EDGE_AVG) {
            int want = 2 + (int)ul_rng_below(&r, 2);
            if (want > i - lo) want = i - lo;
            p[np++] = i - 1;
            while (np < want) {
                int k = lo + (int)ul_rng_below(&r, (uint64_t)(i - lo));
                bool dup = false;
                for (int j = 0; j < np; j++) dup |= p[j] == k;
                if (!dup) p[np++] = k;
            }
            /* parents in creation order */
            for (int a = 1; a < np; a++)
                for (int c = a; c > 0 && p[c - 1] > p[c]; c--) {
                    int t = p[c];
                    p[c] = p[c - 1];
                    p[c - 1] = t;
                }
        } else if (e != UL_EDGE_NONE) {
            p[np++] = (ul_rng_below(&r, 10) < 6 || i - 1 == lo) ? i - 1 : lo + (int)ul_rng_below(&r, (uint64_t)(i - 1 - lo));
        }
        uint16_t t;
        if (i == 0) t = T(0, 5);
        else if (i == 1) t = T(3, 9);
        else if (e == UL_EDGE_CONTINUE) {
            t = b->s->nodes[p[0]].tenths;
            for (int k = 0; k < 10; k++) /* widen by the lowest missing tenth next to the set */
                if (!(t & (1u << k)) && ((k > 0 && (t & (1u << (k - 1)))) || (k < 9 && (t & (1u << (k + 1)))))) {
                    t = (uint16_t)(t | (1u << k));
                    break;
                }
        } else {
            t = random_range(&r);
        }
        ul_status st = add_node(b, name, e, t, i, 0, np, p);
        if (st != UL_OK) return st;
    }
    return UL_OK;
}

#undef T

ul_status ul_scenario_make(const char *name, int depth, uint64_t seed, ul_scenario *out) {
    memset(out, 0, sizeof *out);
    if (!name) return ul_fail(UL_E_ARG, "scenario: no name given");
    scen_builder b = {.s = out, .cap = 0};
    snprintf(out->name, sizeof out->name, "%s", name);
    bool deep = strcmp(name, "chain") == 0 || strcmp(name, "dag") == 0;
    if (deep) {
        if (depth == 0) depth = strcmp(name, "chain") == 0 ? UL_SCEN_CHAIN_DEPTH : UL_SCEN_DAG_DEPTH;
        if (depth < 2 || depth > UL_SCEN_MAX_DEPTH)
            return ul_fail(UL_E_ARG, "scenario '%s': depth %d out of range [2, %d]", name, depth, UL_SCEN_MAX_DEPTH);
    }
    ul_status st;
    if (strcmp(name, "il") == 0) st = make_il(&b);
    else if (strcmp(name, "tl") == 0) st = make_tl(&b);
    else if (strcmp(name, "fl") == 0) st = make_fl(&b);
    else if (strcmp(name, "ddpl") == 0) st = make_ddpl(&b);
    else if (strcmp(name, "mixed") == 0) st = make_mixed(&b);
    else if (strcmp(name, "chain") == 0) st = make_chain(&b, depth);
    else if (strcmp(name, "dag") == 0) st = make_dag(&b, depth, seed);
    else
        return ul_fail(UL_E_ARG, "unknown scenario '%s' (expected il, tl, fl, ddpl, mixed, chain or dag)", name);
    if (st != UL_OK) ul_scenario_free(out);
    return st;
}

void ul_scenario_free(ul_scenario *s) {
    if (!s) return;
    free(s->nodes);
    s->nodes = NULL;
    s->n = 0;
}

void ul_scenario_labels(uint16_t tenths, int K, bool *in) {
    for (int l = 0; l < K; l++) {
        int t = (int)(((int64_t)l * 10) / K);
        in[l] = (tenths >> t) & 1u;
    }
}
