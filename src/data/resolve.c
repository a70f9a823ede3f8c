/* ul_dataset_load: resolve a dataset spec (a known name or a directory) and load one split.
 * Known names map to the Debian package layout <root>/<name>/ with root /usr/share/datasets
 * or $UL_DATA_DIR. Directories are probed for IDX, CIFAR-10, CIFAR-100 and NPY file names in
 * that order (the first format whose split files exist wins). Deliberately no downloading,
 * no archive extraction and no guessing from file contents.
 */
#include "data/data_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define PATH_CAP 4096

static const char *const known_names[] = {"fashion-mnist", "mnist"};

static bool is_file(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static bool is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static ul_status join(char *buf, const char *dir, const char *file) {
    int k = snprintf(buf, PATH_CAP, "%s/%s", dir, file);
    if (k < 0 || k >= PATH_CAP) return ul_fail(UL_E_ARG, "path too long: %s/%s", dir, file);
    return UL_OK;
}

/* dir/base or dir/base.gz, whichever exists (uncompressed preferred). false if neither. */
static bool find_maybe_gz(char *buf, const char *dir, const char *base) {
    char gz[256];
    snprintf(gz, sizeof gz, "%s.gz", base);
    if (join(buf, dir, base) == UL_OK && is_file(buf)) return true;
    if (join(buf, dir, gz) == UL_OK && is_file(buf)) return true;
    return false;
}

/* "found A but no B": B is missing, or present but not a regular file (a directory, a device). */
static ul_status missing_partner(const char *dir, const char *a, const char *b_path, const char *b_name) {
    struct stat st;
    if (stat(b_path, &st) == 0 && !S_ISREG(st.st_mode))
        return ul_fail(UL_E_FORMAT, "%s: found %s, but %s is %s, not a regular file", dir, a, b_path,
                       S_ISDIR(st.st_mode) ? "a directory" : "a special file");
    return ul_fail(UL_E_NOTFOUND, "%s: found %s but no %s", dir, a, b_name);
}

static ul_status load_dir(const char *dir, bool train, ul_dataset **out) {
    char a[PATH_CAP], b[PATH_CAP];
    const char *pre = train ? "train" : "t10k";
    char base_i[64], base_l[64];
    snprintf(base_i, sizeof base_i, "%s-images-idx3-ubyte", pre);
    snprintf(base_l, sizeof base_l, "%s-labels-idx1-ubyte", pre);

    /* IDX */
    if (find_maybe_gz(a, dir, base_i)) {
        if (!find_maybe_gz(b, dir, base_l)) {
            char want[80];
            snprintf(want, sizeof want, "%s[.gz]", base_l);
            if (join(b, dir, base_l) != UL_OK) b[0] = '\0';
            return missing_partner(dir, a, b, want);
        }
        return ul_read_idx(a, b, out);
    }
    /* CIFAR-10 */
    ul_status st = join(a, dir, train ? "data_batch_1.bin" : "test_batch.bin");
    if (st != UL_OK) return st;
    if (is_file(a)) {
        if (!train) {
            const char *p[1] = {a};
            return ul_read_cifar(p, 1, 1, out);
        }
        char paths[5][PATH_CAP];
        const char *p[5];
        for (int i = 0; i < 5; i++) {
            char f[32];
            snprintf(f, sizeof f, "data_batch_%d.bin", i + 1);
            if ((st = join(paths[i], dir, f)) != UL_OK) return st;
            if (!is_file(paths[i]))
                return ul_fail(UL_E_NOTFOUND, "%s: CIFAR-10 training batch %s is missing", dir, paths[i]);
            p[i] = paths[i];
        }
        return ul_read_cifar(p, 5, 1, out);
    }
    /* CIFAR-100 */
    if ((st = join(a, dir, train ? "train.bin" : "test.bin")) != UL_OK) return st;
    if (is_file(a)) {
        const char *p[1] = {a};
        return ul_read_cifar(p, 1, 2, out);
    }
    /* NPY */
    if ((st = join(a, dir, train ? "train_images.npy" : "test_images.npy")) != UL_OK) return st;
    if (is_file(a)) {
        if ((st = join(b, dir, train ? "train_labels.npy" : "test_labels.npy")) != UL_OK) return st;
        if (!is_file(b)) return missing_partner(dir, a, b, b);
        return ul_read_npy(a, b, out);
    }
    return ul_fail(UL_E_NOTFOUND,
                   "%s: no %s split found (looked for IDX %s[.gz], CIFAR-10 %s, CIFAR-100 %s, NPY %s)", dir,
                   train ? "train" : "test", base_i, train ? "data_batch_1.bin" : "test_batch.bin",
                   train ? "train.bin" : "test.bin", train ? "train_images.npy" : "test_images.npy");
}

ul_status ul_dataset_load(const char *spec, const char *split, ul_dataset **out) {
    if (!out) return ul_fail(UL_E_ARG, "ul_dataset_load: out is NULL");
    *out = NULL;
    if (!spec || !*spec) return ul_fail(UL_E_ARG, "ul_dataset_load: empty dataset spec");
    if (!split || (strcmp(split, "train") != 0 && strcmp(split, "test") != 0))
        return ul_fail(UL_E_ARG, "dataset %s: split '%s', expected 'train' or 'test'", spec,
                       split ? split : "(null)");
    bool train = split[0] == 't' && split[1] == 'r';
    const char *canon = NULL;
    if (!strchr(spec, '/'))
        for (size_t i = 0; i < sizeof known_names / sizeof *known_names; i++)
            if (strcasecmp(spec, known_names[i]) == 0) canon = known_names[i];

    ul_status st;
    ul_dataset *d = NULL;
    if (canon) {
        const char *root = getenv("UL_DATA_DIR");
        if (!root || !*root) root = "/usr/share/datasets";
        char dir[PATH_CAP];
        if ((st = join(dir, root, canon)) != UL_OK) return st;
        if (!is_dir(dir))
            return ul_fail(UL_E_NOTFOUND, "dataset %s: directory %s does not exist (install the %s "
                                          "package files there, or set UL_DATA_DIR to their root)",
                           canon, dir, canon);
        st = load_dir(dir, train, &d);
        if (st != UL_OK) return ul_fail_ctx(st, "dataset %s (%s)", canon, split);
        st = ul_data_set_name(d, canon);
    } else if (is_dir(spec)) {
        st = load_dir(spec, train, &d);
        if (st != UL_OK) return ul_fail_ctx(st, "dataset %s (%s)", spec, split);
        st = ul_data_set_name(d, spec);
    } else {
        char names[256] = "";
        for (size_t i = 0; i < sizeof known_names / sizeof *known_names; i++) {
            if (i) strncat(names, ", ", sizeof names - strlen(names) - 1);
            strncat(names, known_names[i], sizeof names - strlen(names) - 1);
        }
        return ul_fail(UL_E_NOTFOUND,
                       "unknown dataset '%s': not a directory and not a known name (known: %s)", spec,
                       names);
    }
    if (st != UL_OK) {
        ul_dataset_free(d);
        return st;
    }
    *out = d;
    return UL_OK;
}
