// What `import` and `render --from-lvscf` know besides the file (docs/migration.md): the
// `--server NAME=MGMT_IP` hints and host names resolved as piranha resolved them.
#pragma once

#include <string>
#include <vector>

#include "lvsctl/import.h"

namespace lvsctl::engine {

// `servers`: "NAME=MGMT_IP" each; a malformed one is Error(ExitCode::usage) naming it. Host names
// resolve through getaddrinfo (the system's resolver: /etc/hosts, DNS), IPv4 first.
ImportHints import_hints(const std::vector<std::string>& servers);

}  // namespace lvsctl::engine
