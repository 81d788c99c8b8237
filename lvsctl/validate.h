// Checks a cluster before anything renders or touches a host. Each problem names the row as
// the database holds it (table, key, column), so an operator can find and fix it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lvsctl/model.h"

namespace lvsctl {

struct Problem {
    std::string object;  // e.g. "apache_h2e_nodes node_id=75"
    std::string column;  // e.g. "address"; empty when the problem is the row as a whole
    std::string reason;  // e.g. "2001:db8::1 is not an IPv4 address"

    std::string str() const;
};

std::vector<Problem> validate(const Cluster& cluster);

// Throws Error(ExitCode::data) listing every problem, one per line, under "SOURCE: invalid
// data:" (SOURCE defaults to "cluster N").
void validate_or_throw(const Cluster& cluster, std::string_view source = {});

// Names that end up in configuration files, command lines or netlink messages.
bool is_valid_interface_name(std::string_view name);  // [A-Za-z0-9_.-]{1,15}, not "." or ".."
bool is_valid_cluster_name(std::string_view name);    // [A-Za-z0-9][A-Za-z0-9_.-]{0,62}
bool is_valid_command_path(std::string_view path);
// A program and its arguments, run without a shell (split at single spaces): an absolute path as
// above, then words of [A-Za-z0-9_./+-:=,@%] ("%h" stands for a server's address).
bool is_valid_command_line(std::string_view line);
// Why `expect` is not a POSIX extended regular expression, or "" when it is one.
std::string regex_problem(const std::string& expect);  // absolute, [A-Za-z0-9_./+-], no ".."
bool is_valid_program_name(std::string_view name);     // a bare name found on PATH: [A-Za-z0-9_.+-]

}  // namespace lvsctl
