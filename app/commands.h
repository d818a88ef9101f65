// The subcommands of the lsi-cuda program; each file app/command_<name>.cpp adds one.
#pragma once

#include <CLI/CLI.hpp>

namespace lsi {

// Each adds its subcommand to `app` with a callback that runs it; errors surface as exceptions.
void add_inspect_command(CLI::App& app);
void add_classify_command(CLI::App& app);
void add_run_command(CLI::App& app);
void add_bench_command(CLI::App& app);

}  // namespace lsi
