/* libFuzzer target: the text parsers: architecture spec strings (ul_model_create on a small input
 * shape), label sets (ul_parse_label_set) and data-selector JSON (ul_selector_from_json). A
 * refusal is fine; a crash, leak or sanitizer report is a bug.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unlearn/net.h"
#include "unlearn/nn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 512) return 0;
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    ul_arch_params ap = {.in_c = 1, .in_h = 8, .in_w = 8, .classes = 4};
    ul_model *m = NULL;
    if (ul_model_create(s, &ap, 0, &m) == UL_OK) ul_model_free(m);
    int32_t *labels = NULL;
    size_t n = 0;
    if (ul_parse_label_set(s, 100, &labels, &n) == UL_OK) free(labels);
    ul_data_selector sel;
    if (ul_selector_from_json(s, &sel) == UL_OK) free(ul_selector_to_json(&sel));
    free(s);
    return 0;
}
