// What the agent has put on its LB, remembered between runs so that it removes only its own
// things (docs/agent-protocol.md, "Ownership records"): the IPVS services, the website IP aliases
// and the marks. One record per cluster (README.md, "The LB agent"), so that clusters sharing an LB
// leave each other alone.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lvsctl/ipvs_types.h"
#include "lvsctl/lb/ipvs_plan.h"

namespace lvsctl {

struct AgentState {
    std::vector<ServiceKey> services;  // fwmark services, by (family, fwmark)
    std::string interface;             // where `vips` are
    std::vector<IpAddress> vips;       // website IP aliases the agent placed
    // Aliases the agent placed on interfaces the cluster has left, not yet removed (by interface).
    std::map<std::string, std::vector<IpAddress>> former;
    std::vector<std::uint32_t> marks;  // marks whose sets and rules the agent made
    std::string marks_via;             // "nft" or "iptables": which made them
    // The services as the last run left them converged (IpvsReport::converged), and when the
    // last run that dumped every service's destinations (a full one) ended, in Unix seconds.
    ServiceDigests digests;
    std::int64_t last_full = 0;
    // The marks as the last run left them converged (marks_digest()), "" when it did not: a run
    // that trusts its digests runs no firewall tool while they are unchanged.
    std::string marks_digest;
};

std::string to_json(const AgentState& state);
// Throws Error(ExitCode::data) naming `source` when the record is not what to_json() writes.
AgentState parse_agent_state(std::string_view json, std::string_view source);

// The record's file in the state directory: "agent-cluster-7.json".
std::string agent_record_name(std::int64_t cluster_id);
// The cluster whose record `file_name` is, or std::nullopt when it is not one.
std::optional<std::int64_t> agent_record_cluster(std::string_view file_name);
// The same for any per-cluster file named "PREFIXN.json" ("desired-cluster-", "health-cluster-"):
// N as the names are written (no leading zero), or std::nullopt.
std::optional<std::int64_t> record_cluster(std::string_view file_name, std::string_view prefix);
// The one record per LB of agents from before per-cluster records.
inline constexpr std::string_view kLegacyAgentRecord = "agent-state.json";

// Whether a legacy record may become the record of the cluster that marks with `fwmark`: it
// names no other mark (an agent of that time wrote the mark of the one cluster it served), so
// the services, aliases and sets it lists are that cluster's.
bool legacy_record_fits(const AgentState& legacy, std::uint32_t fwmark);

// Another record in the state directory, as conflicts() reads it.
struct OtherRecord {
    std::string owner;  // "cluster 2", or "a cluster from before per-cluster records"
    std::string file;   // its path
    AgentState state;
};

// What a cluster asks of the LB, for conflicts().
struct Claim {
    std::int64_t cluster_id = 0;
    std::vector<ServiceKey> services;
    std::uint32_t fwmark = 0;
    std::string interface;
    std::vector<IpAddress> website_ips;
};

// One message for each thing `claim` wants that another record owns: a service key, the mark,
// or a website IP (wherever that record placed it: an address answers on every interface, and
// its mark would be set twice). Empty when the cluster may go ahead.
std::vector<std::string> conflicts(const Claim& claim, const std::vector<OtherRecord>& others);

}  // namespace lvsctl
