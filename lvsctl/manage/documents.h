// The JSON documents the program prints with --json (one document on stdout), and the run log
// keeps: errors, renders, hooks, `status` and `update`/`plan`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lvsctl/error.h"
#include "lvsctl/ipvs_types.h"
#include "lvsctl/manage/status.h"
#include "lvsctl/manage/update.h"
#include "lvsctl/model.h"

namespace lvsctl {

// {"changed": false, "errors": [message], "exit_code": N}
std::string error_document(std::string_view message, ExitCode code);

// {"cluster": {"id": N, "name": ...}, "format": "lvs.cf", "content": "..."}
std::string rendered_document(std::int64_t cluster_id, std::string_view cluster_name,
                              std::string_view format, std::string_view content);

// A hook's answer: {"changed": true, "errors": [], "done": [what], "note": note}.
std::string hook_document(std::string_view what, std::string_view note);

// `status --json`: {"cluster", "hosts": [{"host", "website_ips", "drift", "services"}]}.
std::string status_document(const Cluster& cluster, const std::vector<HostStatus>& hosts);

// What `update` and `plan` print with --json, and what the run log keeps: the cluster and its
// serial, each host's plan, what was done and what failed, the exit code.
std::string update_document(const Cluster& cluster, const UpdateResult& result, bool dry_run,
                            ExitCode code, std::string_view lvs_cf_digest, std::string_view note);

}  // namespace lvsctl
