// `status` (docs/commands.md): every host of a cluster read at once, changing nothing: each LB's
// IPVS table (through the agent), which website IPs are where, and what `update` would change.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "lvsctl/ipvs_types.h"
#include "lvsctl/manage/update.h"
#include "lvsctl/model.h"

namespace lvsctl {

// One host of a cluster as lvsctl found it.
struct HostStatus {
    std::string host;                               // "lb 10.39.94.41", "web 10.39.94.43"
    std::string interface;                          // where its website IPs go (lo on web servers)
    std::vector<IpAddress> present, missing;        // the cluster's website IPs there and not there
    std::vector<std::string> drift;                 // what update would change there
    std::optional<std::vector<ServiceInfo>> table;  // an LB's IPVS table, when its agent showed it
    std::optional<std::string> error;               // the host could not be read
};

// The LBs first, then the web servers, in the cluster's order; `cluster` must be valid. A host
// that cannot be read has its error (backends other than ipvs have no agent to show a table).
std::vector<HostStatus> gather_status(const Cluster& cluster, UpdateEnvironment& env,
                                      std::size_t parallel);

}  // namespace lvsctl
