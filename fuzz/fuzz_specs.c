/* libFuzzer target: the text parsers: architecture spec strings (ul_model_create on a small input
 * shape), label sets (ul_parse_label_set), data-selector JSON (ul_selector_from_json) and
 * sample-id files (ul_parse_ids, on the raw bytes: NULs and all). A refusal is fine; a crash,
 * leak or sanitizer report is a bug.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unlearn/data.h"
#include "unlearn/net.h"
#include "unlearn/nn.h"

/* Valid but huge architectures (resnet18@w=4, mlp:64-3000000-10: up to the 2^28-parameter limit)
 * take seconds to initialise under ASan; they are legal, not bugs, so the model is only built
 * when a cheap estimate stays below about 4M parameters (the parser itself still sees every
 * input: the estimate skips only the build). */
static bool small_enough(const char *s) {
    const char *w = strstr(s, "w=");
    if (strstr(s, "resnet") && w && strtod(w + 2, NULL) > 0.6) return false;
    if (strncmp(s, "mlp:", 4) == 0) {
        double prev = 0, total = 0;
        for (const char *p = s + 4; *p;) {
            char *end;
            double v = strtod(p, &end);
            if (end == p) break;
            total += prev * v;
            prev = v;
            p = *end ? end + 1 : end;
        }
        if (total > 4e6) return false;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int32_t *ids = NULL;
    size_t nids = 0;
    if (ul_parse_ids("fuzz.ids", (const char *)data, size, 60000, &ids, &nids) == UL_OK) {
        for (size_t i = 1; i < nids; i++)
            if (ids[i] <= ids[i - 1]) abort(); /* the contract: sorted and unique */
        free(ids);
    }
    if (size > 512) return 0;
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    ul_arch_params ap = {.in_c = 1, .in_h = 8, .in_w = 8, .classes = 4};
    ul_model *m = NULL;
    if (small_enough(s) && ul_model_create(s, &ap, 0, &m) == UL_OK) ul_model_free(m);
    int32_t *labels = NULL;
    size_t n = 0;
    if (ul_parse_label_set(s, 100, &labels, &n) == UL_OK) free(labels);
    ul_data_selector sel;
    if (ul_selector_from_json(s, &sel) == UL_OK) free(ul_selector_to_json(&sel));
    free(s);
    return 0;
}
