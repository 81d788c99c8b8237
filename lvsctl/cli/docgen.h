// lvsctl(8), lvsctl.conf(5) and the bash and zsh completions, generated from the program's own
// command model (the CLI::App tree it parses with, app.h's CommandLine): every command, option,
// description, default, range and choice comes from there, so an option cannot exist without
// appearing in them. Only the prose around them (what lvsctl is, exit codes, files) is static.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace lvsctl::cli::docgen {

// How a value completes in a shell.
enum class Complete { nothing, file, directory, choices };

struct OptionDoc {
    std::vector<std::string> names;    // "-v", "--verbose"; a positional: its name ("FILE")
    std::string value;                 // "N", "FILE", "lvs.cf|keepalived|..."; "" for a flag
    std::vector<std::string> choices;  // CLI::IsMember's set (true/false for a boolean)
    std::string description;
    std::string default_value;  // "" when none is shown
    std::string range;          // "1..4096", from CLI::Range; "0 or more"
    bool required = false;
    bool repeatable = false;
    bool positional = false;
    Complete complete = Complete::nothing;
    bool flag() const { return value.empty() && !positional; }
};

struct CommandDoc {
    std::vector<std::string> path;  // {} for the program itself; {"server", "add"}
    std::string description;
    std::vector<OptionDoc> options;      // named options (not -h/--help below the program)
    std::vector<OptionDoc> positionals;  // in order
    // Options of which exactly one must be given (an option group with require_option(1)):
    // indices into `options`.
    std::vector<std::vector<std::size_t>> one_of;
    std::vector<CommandDoc> subcommands;  // visible ones (a hidden command has group "")
    std::string name() const;             // "server add"; "lvsctl" for the program
};

// The model of `app` and every visible command under it.
CommandDoc describe(CLI::App& app);

std::string man_page(const CommandDoc& program, std::string_view version);
std::string conf_man_page(const CommandDoc& program, std::string_view version);
std::string bash_completion(const CommandDoc& program);
std::string zsh_completion(const CommandDoc& program);

}  // namespace lvsctl::cli::docgen
