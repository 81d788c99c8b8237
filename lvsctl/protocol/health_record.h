// What the monitor leaves on the LB for `agent apply` and `status` (docs/monitor.md, "One weight,
// two writers"): each real server's health and weight, in STATE_DIR/health-cluster-N.json, written
// under agent.lock before the monitor changes the kernel. The agent applies it to its desired
// state (lb/health_record.h's with_health()), so neither undoes the other, and `agent show` hands
// it to the management node for `status` and `update`: a document of the protocol. A record whose
// monitor stopped writing it is stale and ignored (then the configured weights apply, as without
// a monitor).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "lvsctl/address.h"

namespace lvsctl {

enum class Health : std::uint8_t {
    unchecked,   // not checked yet: not trusted with traffic
    up,          // in service (slow start, configured or load-adjusted weight)
    down,        // a check failed: out of service
    reentering,  // checks pass again, for less than `reentry` so far: still out
};
std::string_view to_string(Health health);  // "unchecked", "up", "down", "re-entering"

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

}  // namespace lvsctl
