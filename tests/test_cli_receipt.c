/* `unlearn receipt` end to end (the binary comes from env UL_CLI) on a synthetic `mixed` network
 * (10 classes of 1x8x8 images) with two committed requests: labels 3, then six sample ids.
 *  - text: request, labels or the id list's hash and count, roots, affected models, method and
 *    parameters, full before/after hashes, accuracies, timings, tool version and git commit;
 *  - --json: the stored receipt with request_id, network and the registry's versions, matching the
 *    results file `forget -o` wrote;
 *  - --verify holds on the fresh requests (and notes models that request 2 changed again);
 *  - --verify fails (exit 3, naming the model and what differs) on copies of the network with a
 *    corrupt or missing after object, and with the stored receipt tampered with (an accuracy, an
 *    after hash, the request);
 *  - unknown request ids, a bad REQUEST, a directory that is not a network, a network without
 *    requests.
 */
#include "ul_test.h"

#include <sys/wait.h>

#include <cjson/cJSON.h>
#include <sqlite3.h>

#define ARCH "mlp:64-32-10"

static const char *g_cli;
static char g_dir[256];
static char g_data[300], g_net[300];

#include "ult_cli.h"

static cJSON *read_json(const char *path) {
    char *t = slurp(path, NULL);
    if (!t) fail_msg("cannot read %s", path);
    cJSON *j = cJSON_Parse(t);
    if (!j) fail_msg("%s is not JSON:\n%s", path, t);
    free(t);
    return j;
}

static void sh(const char *fmt, ...) UL_PRINTF(1, 2);
static void sh(const char *fmt, ...) {
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) fail_msg("'%s' failed", cmd);
}

static int setup(void **state) {
    (void)state;
    g_cli = getenv("UL_CLI");
    if (!g_cli || !*g_cli || access(g_cli, X_OK) != 0) {
        fprintf(stderr, "test_cli_receipt: UL_CLI is not set to an executable\n");
        return -1;
    }
    if (snprintf(g_dir, sizeof g_dir, "%s", ult_tmpdir("test_cli_receipt")) >= (int)sizeof g_dir) return -1;
    snprintf(g_data, sizeof g_data, "%s/data", g_dir);
    snprintf(g_net, sizeof g_net, "%s/net", g_dir);
    mkdir(g_data, 0755);
    ult_write_pattern_idx(ult_path(g_data, "train-images-idx3-ubyte"), ult_path(g_data, "train-labels-idx1-ubyte"), 1200, 8, 21);
    ult_write_pattern_idx(ult_path(g_data, "t10k-images-idx3-ubyte"), ult_path(g_data, "t10k-labels-idx1-ubyte"), 300, 8, 22);
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "'%s' net build '%s' --scenario mixed --data '%s' --arch " ARCH " --epochs 3 --seed 1 --threads 2 -q "
             ">/dev/null && '%s' forget '%s' --labels 3 --local-fisher merge --mfim-c 1 -o '%s/r1.json' -q && "
             "printf '1\\n5\\n9\\n12\\n100\\n200\\n' > '%s/ids.txt' && '%s' forget '%s' --samples '%s/ids.txt' -o "
             "'%s/r2.json' -q",
             g_cli, g_net, g_data, g_cli, g_net, g_dir, g_dir, g_cli, g_net, g_dir, g_dir);
    int st = system(cmd);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "test_cli_receipt: setup failed: %s\n", cmd);
        return -1;
    }
    return 0;
}

/* ---- printing ----------------------------------------------------------------------------- */

static void test_text(void **s) {
    (void)s;
    cJSON *r1 = read_json(ult_path(g_dir, "r1.json")), *x;
    run_result r = run("receipt '%s' 1", g_net);
    EXPECT_CODE(r, 0, "receipt 1");
    static const char *const fields[] = {"request 1 (forget), committed ", "forget labels 3", "method       fiun",
                                         "mfim_c 1", "local_fisher merge", "roots        a, b", "affected     8 models",
                                         "timings      roots' forget Fisher", "tool         unlearn " UL_VERSION_STRING,
                                         "git commit ", "model a (root; version 2)", "-> "};
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) EXPECT_HAS(r.out, fields[i], "receipt text");
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(r1, "affected")) {
        char line[200];
        snprintf(line, sizeof line, "model %s (", cJSON_GetObjectItem(x, "model")->valuestring);
        EXPECT_HAS(r.out, line, "receipt text: a model block");
        EXPECT_HAS(r.out, cJSON_GetObjectItem(x, "before")->valuestring, "receipt text: before hash");
        EXPECT_HAS(r.out, cJSON_GetObjectItem(x, "after")->valuestring, "receipt text: after hash");
    }
    /* the stored receipt has no git commit today: the text says so instead of leaving it out */
    cJSON *gc = cJSON_GetObjectItem(r1, "git_commit");
    if (!strstr(r.out, "git commit unknown") && !(gc && strstr(r.out, gc->valuestring)))
        fail_msg("receipt text names no git commit:\n%s", r.out);
    run_free(&r);
    cJSON_Delete(r1);

    /* default: the latest forget request, a sample request */
    cJSON *r2 = read_json(ult_path(g_dir, "r2.json"));
    const char *ids = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(r2, "request"), "samples"), "ids")->valuestring;
    r = run("receipt '%s'", g_net);
    EXPECT_CODE(r, 0, "receipt (latest)");
    EXPECT_HAS(r.out, "request 2 (forget)", "receipt latest");
    EXPECT_HAS(r.out, "forget 6 samples of the train split", "receipt latest: count");
    EXPECT_HAS(r.out, ids, "receipt latest: id list hash");
    run_free(&r);
    r = run("receipt '%s' latest", g_net);
    EXPECT_CODE(r, 0, "receipt latest");
    EXPECT_HAS(r.out, "request 2 (forget)", "receipt latest (word)");
    run_free(&r);
    cJSON_Delete(r2);
}

static void test_json(void **s) {
    (void)s;
    cJSON *r1 = read_json(ult_path(g_dir, "r1.json"));
    run_result r = run("receipt '%s' 1 --json", g_net);
    EXPECT_CODE(r, 0, "receipt --json");
    cJSON *j = cJSON_Parse(r.out);
    if (!cJSON_IsObject(j)) fail_msg("receipt --json printed no object:\n%s", r.out);
    assert_int_equal((int)cJSON_GetObjectItem(j, "request_id")->valuedouble, 1);
    assert_string_equal(cJSON_GetObjectItem(j, "network")->valuestring, g_net);
    assert_string_equal(cJSON_GetObjectItem(j, "method")->valuestring, "fiun");
    assert_true(cJSON_Compare(cJSON_GetObjectItem(j, "request"), cJSON_GetObjectItem(r1, "request"), true));
    assert_true(cJSON_Compare(cJSON_GetObjectItem(j, "parameters"), cJSON_GetObjectItem(r1, "parameters"), true));
    assert_true(cJSON_Compare(cJSON_GetObjectItem(j, "roots"), cJSON_GetObjectItem(r1, "roots"), true));
    cJSON *a = cJSON_GetObjectItem(j, "affected"), *b = cJSON_GetObjectItem(r1, "affected");
    assert_int_equal(cJSON_GetArraySize(a), cJSON_GetArraySize(b));
    for (int i = 0; i < cJSON_GetArraySize(a); i++) {
        cJSON *x = cJSON_GetArrayItem(a, i), *y = cJSON_GetArrayItem(b, i);
        static const char *const keys[] = {"model", "before", "after"};
        for (int k = 0; k < 3; k++)
            assert_string_equal(cJSON_GetObjectItem(x, keys[k])->valuestring, cJSON_GetObjectItem(y, keys[k])->valuestring);
        ULT_CLOSE(cJSON_GetObjectItem(x, "forget_acc_after")->valuedouble, cJSON_GetObjectItem(y, "forget_acc_after")->valuedouble,
                  1e-9, 0);
    }
    /* the registry: every model got version 2 from request 1; request 2 changed the root b and below */
    cJSON *reg = cJSON_GetObjectItem(j, "registry"), *v;
    assert_string_equal(cJSON_GetObjectItem(reg, "kind")->valuestring, "forget");
    assert_non_null(cJSON_GetObjectItem(reg, "created_at"));
    int later = 0;
    cJSON_ArrayForEach(v, cJSON_GetObjectItem(reg, "versions")) {
        assert_int_equal((int)cJSON_GetObjectItem(v, "version")->valuedouble, 2);
        later += (int)cJSON_GetObjectItem(v, "later_request")->valuedouble == 2;
    }
    assert_true(later >= 1);
    cJSON_Delete(j);
    run_free(&r);
    cJSON_Delete(r1);
}

/* ---- verifying ---------------------------------------------------------------------------- */

static void test_verify_fresh(void **s) {
    (void)s;
    run_result r = run("receipt '%s' --verify --threads 2", g_net);
    EXPECT_CODE(r, 0, "receipt --verify (request 2, samples)");
    EXPECT_HAS(r.out, "the receipt of request 2 holds", "verify 2");
    run_free(&r);
    r = run("receipt '%s' 1 --verify", g_net);
    EXPECT_CODE(r, 0, "receipt 1 --verify");
    EXPECT_HAS(r.out, "the receipt of request 1 holds (8 of 8 models hold)", "verify 1");
    EXPECT_HAS(r.out, "changed again by request 2", "verify 1 notes the later request");
    run_free(&r);
    r = run("receipt '%s' 1 --verify --json", g_net);
    EXPECT_CODE(r, 0, "receipt 1 --verify --json");
    cJSON *j = cJSON_Parse(r.out), *m;
    cJSON *v = cJSON_GetObjectItem(j, "verify");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(v, "holds")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(v, "models")), 8);
    cJSON_ArrayForEach(m, cJSON_GetObjectItem(v, "models")) {
        assert_true(cJSON_IsTrue(cJSON_GetObjectItem(m, "holds")));
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(m, "problems")), 0);
    }
    cJSON_Delete(j);
    run_free(&r);
}

/* A copy of the network (a receipt is tampered with only there). */
static const char *copy_net(const char *name) {
    static char dst[400];
    snprintf(dst, sizeof dst, "%s/%s", g_dir, name);
    sh("rm -rf '%s' && cp -r '%s' '%s'", dst, g_net, dst);
    return dst;
}

/* affected[i].<key> of request 1's results file. */
static char *r1_field(int i, const char *key) {
    cJSON *r1 = read_json(ult_path(g_dir, "r1.json"));
    cJSON *x = cJSON_GetArrayItem(cJSON_GetObjectItem(r1, "affected"), i);
    char *v = strdup(cJSON_GetObjectItem(x, key)->valuestring);
    cJSON_Delete(r1);
    return v;
}

static void test_verify_corrupt_object(void **s) {
    (void)s;
    const char *net = copy_net("corrupt");
    char *model = r1_field(2, "model"), *after = r1_field(2, "after");
    char obj[900];
    snprintf(obj, sizeof obj, "%s/objects/%s.safetensors", net, after);
    FILE *f = fopen(obj, "ab");
    assert_non_null(f);
    fputc('x', f);
    fclose(f);
    run_result r = run("receipt '%s' 1 --verify", net);
    EXPECT_CODE(r, 3, "verify with a corrupt object");
    char want[300];
    snprintf(want, sizeof want, "model '%s': after: objects/%s.safetensors is corrupt", model, after);
    EXPECT_HAS(r.err, want, "verify names the model and the object");
    EXPECT_HAS(r.out, "FAILS", "verify marks the model");
    EXPECT_HAS(r.out, "does NOT hold (7 of 8 models hold)", "verify verdict");
    run_free(&r);
    /* a missing object */
    unlink(obj);
    r = run("receipt '%s' 1 --verify", net);
    EXPECT_CODE(r, 3, "verify with a missing object");
    snprintf(want, sizeof want, "model '%s': after: objects/%s.safetensors does not exist", model, after);
    EXPECT_HAS(r.err, want, "verify names the missing object");
    run_free(&r);
    free(model);
    free(after);
}

/* Replace request `id`'s receipt in network `net` with edit(receipt). */
static void edit_receipt(const char *net, int id, void (*edit)(cJSON *)) {
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(ult_path(net, "umig.db"), &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT receipt FROM requests WHERE id = ?1", -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_int(st, 1, id);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    cJSON *j = cJSON_Parse((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    assert_non_null(j);
    edit(j);
    char *t = cJSON_PrintUnformatted(j);
    assert_int_equal(sqlite3_prepare_v2(db, "UPDATE requests SET receipt = ?1 WHERE id = ?2", -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_text(st, 1, t, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, id);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    free(t);
    cJSON_Delete(j);
}

static void tamper_acc(cJSON *j) {
    cJSON *x = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "affected"), 3);
    cJSON_ReplaceItemInObject(x, "forget_acc_after", cJSON_CreateNumber(55.0));
}

static void tamper_after(cJSON *j) {
    cJSON *x = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "affected"), 0);
    cJSON_ReplaceItemInObject(x, "after", cJSON_CreateString(cJSON_GetObjectItem(x, "before")->valuestring));
}

static void tamper_request(cJSON *j) {
    cJSON *req = cJSON_GetObjectItem(j, "request");
    cJSON_ReplaceItemInObject(req, "labels", cJSON_CreateIntArray((const int[]){4}, 1));
}

static void test_verify_tampered(void **s) {
    (void)s;
    char want[300];
    char *m3 = r1_field(3, "model"), *m0 = r1_field(0, "model"), *a0 = r1_field(0, "after");
    const char *net = copy_net("tamper-acc");
    edit_receipt(net, 1, tamper_acc);
    run_result r = run("receipt '%s' 1 --verify", net);
    EXPECT_CODE(r, 3, "verify with a tampered accuracy");
    snprintf(want, sizeof want, "model '%s': forget accuracy after differs: recomputed ", m3);
    EXPECT_HAS(r.err, want, "verify names the model and the accuracy");
    EXPECT_HAS(r.err, "the receipt says 55.00%", "verify quotes the receipt");
    run_free(&r);

    net = copy_net("tamper-after");
    edit_receipt(net, 1, tamper_after);
    r = run("receipt '%s' 1 --verify", net);
    EXPECT_CODE(r, 3, "verify with a tampered after hash");
    snprintf(want, sizeof want, "model '%s': registry version 2 (made by request 1) has checkpoint %s", m0, a0);
    EXPECT_HAS(r.err, want, "verify names the registry's checkpoint");
    run_free(&r);

    net = copy_net("tamper-request");
    edit_receipt(net, 1, tamper_request);
    r = run("receipt '%s' 1 --verify", net);
    EXPECT_CODE(r, 3, "verify with a tampered request");
    EXPECT_HAS(r.err, "differs from the registry's request row", "verify compares the request");
    run_free(&r);
    /* the untouched network still holds */
    r = run("receipt '%s' 1 --verify", g_net);
    EXPECT_CODE(r, 0, "the original still holds");
    run_free(&r);
    free(m3);
    free(m0);
    free(a0);
}

/* ---- errors ------------------------------------------------------------------------------- */

static void test_errors(void **s) {
    (void)s;
    run_result r = run("receipt '%s' 99", g_net);
    EXPECT_CODE(r, 3, "unknown request");
    EXPECT_HAS(r.err, "no request with id 99 (it has 2 requests, ids 1 to 2)", "unknown request message");
    run_free(&r);
    r = run("receipt '%s' 99 --verify", g_net);
    EXPECT_CODE(r, 3, "unknown request --verify");
    run_free(&r);
    r = run("receipt '%s' abc", g_net);
    EXPECT_CODE(r, 2, "bad REQUEST");
    EXPECT_HAS(r.err, "REQUEST must be a request id", "bad REQUEST message");
    run_free(&r);
    r = run("receipt '%s' 0", g_net);
    EXPECT_CODE(r, 2, "REQUEST 0");
    run_free(&r);
    r = run("receipt '%s'", g_data);
    EXPECT_CODE(r, 3, "not a network");
    EXPECT_HAS(r.err, "not a network", "not a network message");
    run_free(&r);
    r = run("receipt");
    EXPECT_CODE(r, 2, "no DIR");
    run_free(&r);
    r = run("receipt --help");
    EXPECT_CODE(r, 0, "receipt --help");
    EXPECT_HAS(r.out, "--verify", "help lists --verify");
    EXPECT_HAS(r.out, "--json", "help lists --json");
    run_free(&r);
    /* a network without requests */
    char empty[400];
    snprintf(empty, sizeof empty, "%s/norequests", g_dir);
    r = run("net build '%s' --scenario il --data '%s' --arch " ARCH " --epochs 1 --threads 2 -q", empty, g_data);
    EXPECT_CODE(r, 0, "net build il");
    run_free(&r);
    r = run("receipt '%s'", empty);
    EXPECT_CODE(r, 3, "no requests");
    EXPECT_HAS(r.err, "no forget request has been committed (it has no forget requests)", "no requests message");
    run_free(&r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text),         cmocka_unit_test(test_json),
        cmocka_unit_test(test_verify_fresh), cmocka_unit_test(test_verify_corrupt_object),
        cmocka_unit_test(test_verify_tampered), cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
