// Website IPs onto many web servers at once (docs/agent-protocol.md, "Web servers"): each host
// reached over a Connector, at most `parallel` at a time; one host failing never stops the
// others, and each host's outcome is reported.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lvsctl/address.h"
#include "lvsctl/manage/transport.h"
#include "lvsctl/manage/web_step.h"

namespace lvsctl {

struct WebTarget {
    std::string name;  // "web 10.39.94.43": how messages name the host
    IpAddress address;
    std::uint16_t port = 22;
};

enum class WebPhases { add, remove, both };

// Connects to every target, reads and plans, then runs the phases asked for. The reports are
// in the order of `targets`.
std::vector<HostReport> deploy_web_servers(Connector& connector,
                                           const std::vector<WebTarget>& targets,
                                           std::int64_t cluster_id,
                                           const std::vector<IpAddress>& website_ips,
                                           std::size_t parallel,
                                           WebPhases phases = WebPhases::both);

}  // namespace lvsctl
