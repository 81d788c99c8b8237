// `status` (docs/commands.md): every host of a cluster read at once, changing nothing: each LB's
// IPVS table (through the agent), which website IPs are where, and what `update` would change.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "lvsctl/ipvs_types.h"
#include "lvsctl/manage/update.h"
#include "lvsctl/model.h"
#include "lvsctl/protocol/agent_documents.h"

namespace lvsctl {

// A real server as one LB serves it (`status`): the database's weight, the kernel's, and the
// monitor's verdict.
struct RealServerStatus {
    IpAddress address;
    // The monitor's state (up, down, re-entering, unchecked) while it runs; "draining" for a
    // destination the database no longer has (update sets its weight to 0, then removes it);
    // "unmonitored" when no monitor runs for the cluster on the LB.
    std::string state;
    std::optional<std::uint32_t> configured;   // the database's weight; none while draining
    std::optional<std::uint32_t> weight;       // the kernel's; none when not in the kernel
    std::optional<ServerHealthRecord> health;  // the monitor's record of it, while current
    std::optional<std::int64_t> checked_ago;   // seconds since its last check, by the LB's clock
};

// The real servers of `desired`'s services as the LB's `table` and `monitor` show them: the
// database's first, in its order, then those only the kernel still has (draining).
std::vector<RealServerStatus> real_servers(const LbDesiredState& desired,
                                           const std::vector<ServiceInfo>& table,
                                           const std::optional<MonitorShown>& monitor);

// One line on an LB's monitor, for `update` and `status`: "running, last round 2 s ago: 2 real
// servers, 1 up, 1 down (10.39.84.43)", "NOT running: its last round was 600 s ago", or "NOT
// running: no health record on the LB".
std::string monitor_summary(const std::optional<MonitorShown>& monitor);

// One line on an LB's high availability (docs/ha.md), for `status`: "MASTER for 35 s (priority
// 150); sync daemon: master on eth1 (id 7)", or "keepalived NOT running (last state MASTER, 40 s
// ago); sync daemon: none".
std::string ha_summary(const HaShown& ha);

// One host of a cluster as lvsctl found it.
struct HostStatus {
    std::string host;                               // "lb 10.39.94.41", "web 10.39.94.43"
    std::string interface;                          // where its website IPs go (lo on web servers)
    std::vector<IpAddress> present, missing;        // the cluster's website IPs there and not there
    std::vector<std::string> drift;                 // what update would change there
    std::optional<std::vector<ServiceInfo>> table;  // an LB's IPVS table, when its agent showed it
    bool monitored = false;                         // an LB whose backend has a monitor
    std::optional<MonitorShown> monitor;            // then: its record, when it left one
    std::optional<HaShown> ha;                      // an LB with ha = vrrp: VRRP and sync
    std::vector<RealServerStatus> real_servers;     // with the table: each destination
    std::optional<std::string> error;               // the host could not be read
};

// The LBs first, then the web servers, in the cluster's order; `cluster` must be valid. A host
// that cannot be read has its error (backends other than ipvs have no agent to show a table).
std::vector<HostStatus> gather_status(const Cluster& cluster, UpdateEnvironment& env,
                                      std::size_t parallel, Progress* progress = nullptr);

}  // namespace lvsctl
