// The JSON documents the program prints with --json (one document on stdout).
#pragma once

#include <string>
#include <string_view>

#include "lvsctl/error.h"
#include "lvsctl/ipvs_plan.h"
#include "lvsctl/update.h"

namespace lvsctl {

// {"changed": false, "errors": [message], "exit_code": N}
std::string error_document(std::string_view message, ExitCode code);

// {"cluster": {"id": N, "name": ...}, "format": "lvs.cf", "content": "..."}
std::string rendered_document(std::int64_t cluster_id, std::string_view cluster_name,
                              std::string_view format, std::string_view content);

// A hook's answer: {"changed": true, "errors": [], "done": [what], "note": note}.
std::string hook_document(std::string_view what, std::string_view note);

// The agent's answer: {"changed", "errors", "done", "draining", "ipvs": {"changes_sent"}}.
std::string agent_report_document(const IpvsReport& report, const std::vector<std::string>& errors);

// The kernel's IPVS table in the shape of the desired state's services, with counters:
// {"version": 1, "services": [{"family", "fwmark" | "protocol"+"address"+"port", "scheduler",
//  "persistence", "stats": {...}, "destinations": [{..., "active_conns", "stats"}]}]}
std::string kernel_table_document(const std::vector<ServiceInfo>& services);

// `agent show`: the table above, with what the agent placed besides (interface, website IPs,
// marks), read back from its ownership record and the interface.
struct PlacedState {
    std::string interface;
    std::vector<IpAddress> website_ips;  // owned aliases present on the interface now
    std::vector<std::uint32_t> marks;
    std::string marks_via;
};
std::string agent_show_document(const std::vector<ServiceInfo>& services,
                                const PlacedState& placed);

// `agent show`'s document read back (by `update` and `status`, from an LB over SSH). Throws
// Error(ExitCode::partial) naming `host` when it is not that document.
struct AgentShow {
    PlacedState placed;
    std::vector<ServiceInfo> services;
};
AgentShow parse_agent_show(std::string_view json, std::string_view host);

// `status`: each host of a cluster as lvsctl found it.
struct HostStatus {
    std::string host;                               // "lb 10.39.94.41", "web 10.39.94.43"
    std::string interface;                          // where its website IPs go (lo on web servers)
    std::vector<IpAddress> present, missing;        // the cluster's website IPs there and not there
    std::vector<std::string> drift;                 // what update would change there
    std::optional<std::vector<ServiceInfo>> table;  // an LB's IPVS table, when its agent showed it
    std::optional<std::string> error;               // the host could not be read
};
std::string status_document(const Cluster& cluster, const std::vector<HostStatus>& hosts);

// What `update` and `plan` print with --json, and what the run log keeps: the cluster and its
// serial, each host's plan, what was done and what failed, the exit code.
std::string update_document(const Cluster& cluster, const UpdateResult& result, bool dry_run,
                            ExitCode code, std::string_view lvs_cf_digest, std::string_view note);

}  // namespace lvsctl
