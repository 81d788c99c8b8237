// What the agent has put on its LB, remembered between runs so that it removes only its own
// things (SPEC.md section 6): the IPVS services, the website IP aliases and the marks.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lvsctl/ipvs_plan.h"
#include "lvsctl/ipvs_types.h"

namespace lvsctl {

struct AgentState {
    std::vector<ServiceKey> services;  // fwmark services, by (family, fwmark)
    std::string interface;             // where `vips` are
    std::vector<IpAddress> vips;       // website IP aliases the agent placed
    std::vector<std::uint32_t> marks;  // marks whose sets and rules the agent made
    std::string marks_via;             // "nft" or "iptables": which made them
    // The services as the last run left them converged (IpvsReport::converged), and when the
    // last run that dumped every service's destinations (a full one) ended, in Unix seconds.
    ServiceDigests digests;
    std::int64_t last_full = 0;
};

std::string to_json(const AgentState& state);
// Throws Error(ExitCode::data) naming `source` when the record is not what to_json() writes.
AgentState parse_agent_state(std::string_view json, std::string_view source);

}  // namespace lvsctl
