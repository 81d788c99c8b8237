// What one host's step did, as every step and the run report it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "lvsctl/error.h"

namespace lvsctl {

// What one host's step did: what changed, what failed (each naming the host and the object).
struct HostReport {
    std::string host;  // "web 10.39.94.43", "lb 10.39.94.41"
    std::vector<std::string> done;
    std::vector<std::string> errors;
    // Set when the host could not be handled at all: unreachable (68), refused (77), ...
    std::optional<ExitCode> failure;
    std::size_t changing_commands = 0;  // run on the host (Transport::changing_commands)
    bool ok() const { return errors.empty() && !failure; }
};

// Where one host of a run ended, as the exit code sees it.
struct HostOutcome {
    bool ok = true;
    // It failed before anything was done there (not reached, refused, not read): only then is
    // its failure's own code the run's, and only while nothing changed anywhere.
    bool untouched = false;
    std::optional<ExitCode> failure;
};

// The exit code of a run over hosts (docs/exit-codes.md), the one rule every command uses: 0
// when every host is fine; 68 when a host could not be reached and 77 when one refused us (its
// key, our key, an agent that is not root), each only while nothing changed anywhere and no
// host failed otherwise; else 3 (a host that failed while changing has a state nobody knows).
ExitCode run_exit_code(const std::vector<HostOutcome>& hosts, bool changed);
// The same from the hosts' reports alone: a host failed untouched when it ran no changing
// command and did nothing.
ExitCode exit_code(const std::vector<HostReport>& reports, bool changed_elsewhere = false);

}  // namespace lvsctl
