/* libFuzzer target: the safetensors parser (ul_st_parse) on arbitrary bytes, then the checkpoint
 * loader on the same bytes written to a file (every model tensor checked against the file's
 * architecture metadata). A crash, leak or sanitizer report is a bug; a refusal is not.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "unlearn/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ul_st_file *f = NULL;
    if (ul_st_parse(data, size, "fuzz", &f) == UL_OK) {
        for (int i = 0; i < ul_st_count(f); i++) (void)ul_st_get(f, i);
        for (int i = 0; i < ul_st_meta_count(f); i++) (void)ul_st_meta(f, ul_st_meta_key(f, i));
        ul_st_free(f);
        char path[64];
        snprintf(path, sizeof path, "/tmp/ul-fuzz-st.%ld.safetensors", (long)getpid());
        FILE *o = fopen(path, "wb");
        if (o) {
            fwrite(data, 1, size, o);
            fclose(o);
            ul_model *m = NULL;
            ul_st_file *meta = NULL;
            if (ul_ckpt_load(path, NULL, NULL, &m, &meta) == UL_OK) {
                ul_model_free(m);
                ul_st_free(meta);
            }
            unlink(path);
        }
    }
    return 0;
}
