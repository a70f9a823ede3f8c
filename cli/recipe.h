/* cli/recipe.h: experiment recipes (the JSON files in recipes/, docs/recipes.md) for `unlearn run`: reading
 * and validating a recipe (every key known, every type checked, required fields present; errors
 * name the file and the field), merging its `verify` block for `run --verify`, and checking its
 * expected metrics against the results the run wrote. Internal to the CLI; running the steps
 * (net build, forget, bench methods, demo) is cmd_run.c's.
 * Deliberately no expressions, no includes between recipes and no defaults hidden here: a value a
 * recipe leaves out is the command's own default.
 */
#ifndef UNLEARN_CLI_RECIPE_H
#define UNLEARN_CLI_RECIPE_H

#include <stdbool.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#define RECIPE_VERSION 1

typedef enum recipe_kind { RECIPE_FORGET = 0, RECIPE_BENCH = 1, RECIPE_DEMO = 2 } recipe_kind;

typedef struct recipe {
    char path[1024];
    char sha256[65];       /* of the recipe file's bytes */
    cJSON *file;           /* the file as read (owned) */
    cJSON *eff;            /* the effective recipe: the file, with `verify` merged in when verifying (owned) */
    bool verify;           /* --verify: the verify block was merged */
    bool has_verify;       /* the file has a verify block */
    recipe_kind kind;
    const char *name;      /* borrowed from eff */
} recipe;

/* Read, validate and (verify) merge a recipe. Prints "unlearn <cmd>: error: recipe '<path>': field
 * '<f>': ..." and returns CLI_EXIT_INPUT on any problem; 0 on success. */
int recipe_load(const char *cmd, const char *path, bool verify, recipe *r);
void recipe_free(recipe *r);

/* The results the expectations are checked against. forget/demo: runs[i] is a results object with
 * "affected" (a forget results file or a demo receipt), named names[i] (the method); bench: the
 * results.json of bench methods in `bench`. */
typedef struct recipe_results {
    const char *names[16];
    const cJSON *runs[16];
    int nruns;
    const cJSON *bench;
} recipe_results;

/* Check every expectation of r->eff against res: prints one PASS/FAIL line each to f and fills
 * *outcomes (a new JSON array: each expectation with "actual", "pass" and "detail"; caller
 * deletes). Returns the number that failed. */
int recipe_check(const recipe *r, const recipe_results *res, FILE *f, cJSON **outcomes);

#endif
