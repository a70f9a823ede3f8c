/* libFuzzer target: the IDX, NPY and CIFAR readers. The first byte picks the reader, the rest is
 * the file (IDX: the same bytes as images and as labels, raw or gzip by content; NPY: as images and
 * as labels; CIFAR-10/100). Files go through a per-process temporary path because the readers take
 * paths. A refusal is fine; a crash, leak or sanitizer report is a bug.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "unlearn/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    char path[64];
    snprintf(path, sizeof path, "/tmp/ul-fuzz-data.%ld", (long)getpid());
    FILE *o = fopen(path, "wb");
    if (!o) return 0;
    fwrite(data + 1, 1, size - 1, o);
    fclose(o);
    ul_dataset *d = NULL;
    ul_status st;
    const char *one[1] = {path};
    switch (data[0] % 4) {
    case 0: st = ul_read_idx(path, path, &d); break;
    case 1: st = ul_read_npy(path, path, &d); break;
    case 2: st = ul_read_cifar(one, 1, 1, &d); break;
    default: st = ul_read_cifar(one, 1, 2, &d); break;
    }
    if (st == UL_OK) {
        (void)ul_dataset_hash(d);
        ul_dataset_free(d);
    }
    unlink(path);
    return 0;
}
