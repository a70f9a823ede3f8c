/* cli/commands.h: the subcommands of `unlearn`. Each takes the arguments after its name and
 * returns the process exit status (cli/exitcodes.h). To add a command, write cmd_<name>.c and
 * add one row to the table in main.c. */
#ifndef UNLEARN_CLI_COMMANDS_H
#define UNLEARN_CLI_COMMANDS_H

int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_net(int argc, char **argv);
int cmd_forget(int argc, char **argv);
int cmd_receipt(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_run(int argc, char **argv);

#endif
