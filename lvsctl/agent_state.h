// What the agent has put on its LB, remembered between runs so that it removes only its own
// things (SPEC.md section 6): the IPVS services, the website IP aliases and the marks.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lvsctl/ipvs_types.h"

namespace lvsctl {

struct AgentState {
    std::vector<ServiceKey> services;  // fwmark services, by (family, fwmark)
    std::string interface;             // where `vips` are
    std::vector<IpAddress> vips;       // website IP aliases the agent placed
    std::vector<std::uint32_t> marks;  // marks whose sets and rules the agent made
    std::string marks_via;             // "nft" or "iptables": which made them
};

std::string to_json(const AgentState& state);
// Throws Error(ExitCode::data) naming `source` when the record is not what to_json() writes.
AgentState parse_agent_state(std::string_view json, std::string_view source);

}  // namespace lvsctl
