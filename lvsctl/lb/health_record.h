// What the monitor leaves on the LB for `agent apply` and `status` (docs/monitor.md, "One weight,
// two writers"): each real server's health and weight, in STATE_DIR/health-cluster-N.json, written
// under agent.lock before the monitor changes the kernel. The agent applies effective_weight() to
// its desired state with it, so neither undoes the other; a record whose monitor stopped writing
// it is stale and ignored (then the configured weights apply, as without a monitor).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "lvsctl/address.h"
#include "lvsctl/lb/health.h"
#include "lvsctl/protocol/desired_state.h"

namespace lvsctl {

struct ServerHealthRecord {
    Health state = Health::unchecked;
    bool in_service = false;
    std::uint32_t configured = 0;
    std::uint32_t weight = 0;     // the monitor's, while in service
    std::int64_t last_check = 0;  // Unix seconds; 0 = none yet
    bool last_ok = false;
    std::string why;               // the last failure
    std::uint32_t latency_ms = 0;  // of the last check
    std::uint64_t transitions = 0;
    bool operator==(const ServerHealthRecord&) const = default;
};

struct HealthRecord {
    std::int64_t cluster_id = 0;
    std::int64_t updated = 0;  // Unix seconds of the monitor's last write
    std::uint32_t interval = 10;
    std::uint32_t timeout = 10;
    std::map<IpAddress, ServerHealthRecord> servers;
    bool operator==(const HealthRecord&) const = default;
};

std::string health_record_name(std::int64_t cluster_id);  // "health-cluster-7.json"
std::string to_json(const HealthRecord& record);
// Throws Error(ExitCode::data) naming `source` when `text` is not what to_json() writes.
HealthRecord parse_health_record(std::string_view text, std::string_view source);

// Whether the monitor still writes the record: it rewrites it at least once per round, so a
// record older than three rounds (interval + timeout each) and a minute is one it left behind.
bool is_current(const HealthRecord& record, std::int64_t now);

// The desired state with the monitor's verdicts: each destination's weight through
// effective_weight(); a destination out of service leaves the document (the monitor has taken it
// out of the kernel already). A server the record does not know is new: not trusted until the
// monitor checked it. Without checks in `desired`, `desired` as it is.
LbDesiredState with_health(LbDesiredState desired, const HealthRecord& record);

}  // namespace lvsctl
