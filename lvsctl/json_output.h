// The JSON documents the program prints with --json (one document on stdout).
#pragma once

#include <string>
#include <string_view>

#include "lvsctl/error.h"
#include "lvsctl/ipvs_plan.h"

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

}  // namespace lvsctl
