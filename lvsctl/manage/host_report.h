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

}  // namespace lvsctl
