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

// The agent's answer: {"changed", "errors", "done", "draining", "ipvs": {"changes_sent"}}.
std::string agent_report_document(const IpvsReport& report, const std::vector<std::string>& errors);

// The kernel's IPVS table in the shape of the desired state's services, with counters:
// {"version": 1, "services": [{"family", "fwmark" | "protocol"+"address"+"port", "scheduler",
//  "persistence", "stats": {...}, "destinations": [{..., "active_conns", "stats"}]}]}
std::string kernel_table_document(const std::vector<ServiceInfo>& services);

}  // namespace lvsctl
