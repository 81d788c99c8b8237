#include "lvsctl/manage/host_report.h"

#include <algorithm>

namespace lvsctl {

ExitCode run_exit_code(const std::vector<HostOutcome>& hosts, bool changed) {
    bool unreachable = false;
    bool refused = false;
    bool failed = false;
    for (const auto& h : hosts) {
        if (h.ok) {
            continue;
        }
        if (h.untouched && h.failure == ExitCode::unreachable) {
            unreachable = true;
        } else if (h.untouched && h.failure == ExitCode::permission) {
            refused = true;
        } else {
            failed = true;
        }
    }
    if (failed || ((unreachable || refused) && changed)) {
        return ExitCode::partial;
    }
    if (unreachable) {
        return ExitCode::unreachable;
    }
    return refused ? ExitCode::permission : ExitCode::ok;
}

ExitCode exit_code(const std::vector<HostReport>& reports, bool changed_elsewhere) {
    std::vector<HostOutcome> hosts;
    bool changed = changed_elsewhere;
    for (const auto& r : reports) {
        changed = changed || !r.done.empty();
        hosts.push_back({r.ok(), r.done.empty() && r.changing_commands == 0, r.failure});
    }
    return run_exit_code(hosts, changed);
}

}  // namespace lvsctl
