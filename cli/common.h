/* cli/common.h: helpers shared by the `unlearn` subcommands: error and hint messages in one
 * format, dataset loading with helpful hints, class names of known datasets, normalisation
 * read back from a checkpoint's provenance, and small formatting helpers.
 */
#ifndef UNLEARN_CLI_COMMON_H
#define UNLEARN_CLI_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "unlearn/base.h"
#include "unlearn/data.h"
#include "unlearn/io.h"
#include "exitcodes.h"

#ifndef UL_GIT_COMMIT
#define UL_GIT_COMMIT "unknown"
#endif

/* "unlearn <cmd>: error: <message>" on stderr. */
void cli_err(const char *cmd, const char *fmt, ...) UL_PRINTF(2, 3);
/* "unlearn <cmd>: warning: <message>" on stderr. */
void cli_warn(const char *cmd, const char *fmt, ...) UL_PRINTF(2, 3);
/* "hint: <message>" on stderr. */
void cli_hint(const char *fmt, ...) UL_PRINTF(1, 2);
/* Report a failed library call: prints ul_last_error() (prefixed with `what` when the message
 * does not already contain it, e.g. the file name) and returns the exit status for it. */
int cli_fail(const char *cmd, ul_status st, cli_origin o, const char *what);

/* Load one split of a dataset spec; on failure print the error plus a hint and return the exit
 * status (3), else 0. */
int cli_load_data(const char *cmd, const char *spec, const char *split, ul_dataset **out);

/* Class names of a known dataset ("fashion-mnist", "mnist") with `classes` classes, or NULL. */
const char *const *cli_known_class_names(const char *dataset_name, int classes);

/* Shortest decimal that reads back as the same float, as a double for cJSON. */
double cli_float_for_json(float f);

/* Normalisation recorded in a checkpoint's provenance JSON ("normalize": {"mean":[..],"std":[..]}
 * or null). Returns true and fills *tf (crop/flip off) when the provenance says; false when
 * the provenance is absent or has no "normalize" key. */
bool cli_transform_from_provenance(const char *provenance, int channels, ul_transform *tf);

/* Does the directory part of `path` exist and is it writable? Prints an error otherwise and
 * returns CLI_EXIT_USAGE; 0 if fine. `opt` names the option for the message. */
int cli_check_output_path(const char *cmd, const char *opt, const char *path);

/* "1,234,567" */
void cli_fmt_count(char *buf, size_t cap, unsigned long long n);
/* "1.7 MB" (decimal units) */
void cli_fmt_bytes(char *buf, size_t cap, unsigned long long n);
/* "1:02:03" or "2:03" */
void cli_fmt_duration(char *buf, size_t cap, double seconds);

/* Print a JSON value to `f`, pretty, each line prefixed with `indent` spaces, indented by 2. */
void cli_print_json(FILE *f, const cJSON *j, int indent);

#endif
