// The command line: global options, the commands, and how errors become exit codes.
#pragma once

#include <CLI/CLI.hpp>

#include <filesystem>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string_view>
#include <vector>

#include "lvsctl/settings.h"

namespace lvsctl::cli {

// What a command runs with, once flags, environment and config file are merged.
struct Context {
    Settings settings;
    std::filesystem::path program;  // this executable, to find the templates beside it
    std::ostream& out;
    std::ostream& err;
};

using Runner = std::function<int(Context&)>;

// Leaf commands (`render`, `server add`, ...) and what each runs once parsing succeeded. The
// registry keeps each command's options alive: CLI11 writes into them while parsing.
class Registry {
  public:
    template <class Options, class Run>
    void add(CLI::App* command, std::shared_ptr<Options> options, Run run) {
        commands_.push_back(
            {command, [options, run](Context& ctx) -> int { return run(*options, ctx); }});
    }
    void add(CLI::App* command, Runner run) { commands_.push_back({command, std::move(run)}); }
    const Runner* parsed() const;

  private:
    struct Entry {
        CLI::App* command;
        Runner run;
    };
    std::vector<Entry> commands_;
};

// Each file cmd_*.cpp defines one of these: it adds its command to `parent`, with an options
// struct of its own, and registers the function that runs it.
void setup_agent(CLI::App& parent, Registry& registry);
void setup_monitor(CLI::App& parent, Registry& registry);
void setup_db(CLI::App& parent, Registry& registry);
void setup_import(CLI::App& parent, Registry& registry);
void setup_ip(CLI::App& parent, Registry& registry);
void setup_plan(CLI::App& parent, Registry& registry);
void setup_render(CLI::App& parent, Registry& registry);
void setup_serve(CLI::App& parent, Registry& registry);
void setup_server(CLI::App& parent, Registry& registry);
void setup_status(CLI::App& parent, Registry& registry);
void setup_update(CLI::App& parent, Registry& registry);
// `lvsctl generate man|conf-man|bash|zsh` (hidden): the man pages and the shell completions,
// walked from `root`, the program's own command model. Added last, after every other command.
void setup_generate(CLI::App& root, Registry& registry);

// Global options (docs/commands.md) bound to `settings`; merge() then fills in what the
// command line did not give from LVSCTL_DB and the config file. Flags win over both.
class GlobalOptions {
  public:
    GlobalOptions(CLI::App& app, Settings& settings);
    void merge() const;  // throws Error(ExitCode::config)

  private:
    CLI::App& app_;
    Settings& settings_;
    std::string config_path_ = "/etc/lvsctl/lvsctl.conf";
    CLI::Option* config_ = nullptr;
    int verbose_ = 0;
    int quiet_ = 0;
};

// Options several commands share.
CLI::Option* add_cluster_id(CLI::App& command, std::int64_t& cluster_id);

// `update` and `plan`: --cluster-id N or --all (exactly one), and --clusters-parallel (--all only).
void add_which_clusters(CLI::App& command, std::int64_t& cluster_id, bool& all,
                        std::size_t& clusters_parallel);

// A hook's --no-update: the database write alone.
CLI::Option* add_no_update(CLI::App& command, bool& no_update);

// The command model: every command, option and check, bound to `settings`, and what each command
// runs. The program parses with it; `lvsctl generate` writes the man pages and the shell
// completions from the same object, so an option cannot exist without appearing in them.
class CommandLine {
  public:
    explicit CommandLine(Settings& settings);
    CommandLine(const CommandLine&) = delete;
    CommandLine& operator=(const CommandLine&) = delete;

    CLI::App app{"lvsctl: drive Linux Virtual Server load balancers from the platform's database",
                 "lvsctl"};
    GlobalOptions globals;
    Registry registry;
};

// The whole program; returns the process exit code.
int run(int argc, char** argv, std::ostream& out, std::ostream& err);

}  // namespace lvsctl::cli
