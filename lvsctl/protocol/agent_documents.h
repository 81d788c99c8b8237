// What the LB's agent answers (docs/agent-protocol.md): `agent apply`'s answer, which `exec:`
// programs give too, and `agent show`'s document. Written by the agent on the LB, read by the
// management node: one codec each way.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lvsctl/address.h"
#include "lvsctl/ipvs_types.h"
#include "lvsctl/protocol/health_record.h"

namespace lvsctl {

// {"changed", "errors", "done", "ipvs": {"changes_sent"}}: at least "changed" and "errors".
struct AgentAnswer {
    bool changed = false;
    std::vector<std::string> errors;
    std::vector<std::string> done;
    std::size_t changes_sent = 0;  // changing netlink messages
};
std::string agent_answer_document(const AgentAnswer& answer);
// Throws Error(ExitCode::partial) naming `host` when the text is not such an object.
AgentAnswer parse_agent_answer(std::string_view json, std::string_view host);

// What the agent placed besides IPVS, read back from its ownership records and the interface.
struct PlacedState {
    std::string interface;
    std::vector<IpAddress> website_ips;  // owned aliases present on the interface now
    std::vector<std::uint32_t> marks;
    std::string marks_via;
};

// A monitor's health record as `agent show` found it on the LB. `current`: the monitor still
// writes it (is_current() by the LB's own clock, so that the management node's clock does not
// matter).
struct MonitorShown {
    HealthRecord record;
    bool current = false;
    std::int64_t age = 0;  // seconds since the monitor wrote it, by the LB's clock
};

// keepalived's VRRP state for a cluster (docs/ha.md), as its notify hook (`agent vrrp-notify`)
// last recorded it in the LB's state directory ("vrrp-cluster-7.json"): {"cluster_id",
// "instance", "state", "priority", "since"}. `age` is not in the record: `agent show` adds it.
struct VrrpState {
    std::int64_t cluster_id = 0;
    std::string instance;
    std::string state;  // MASTER, BACKUP, FAULT or STOP, as keepalived says it
    std::int64_t priority = 0;
    std::int64_t since = 0;  // Unix seconds, by the LB's clock
    std::int64_t age = 0;    // seconds since, by the LB's clock
};
std::string vrrp_record_name(std::int64_t cluster_id);
std::string vrrp_state_document(const VrrpState& state);
// Throws Error(ExitCode::data) naming `where` when the text is not such a record.
VrrpState parse_vrrp_state(std::string_view json, std::string_view where);

// What an LB with ha = vrrp shows of its high availability: keepalived's last recorded state
// for the cluster, whether keepalived runs, and the kernel's connection sync daemons.
struct HaShown {
    std::optional<VrrpState> vrrp;
    bool keepalived_running = false;
    std::vector<SyncDaemon> sync_daemons;
};

// `agent show`: {"version": 1, "interface", "website_ips", "marks": {"fwmarks", "via"},
// "services": [{"family", "fwmark" | "protocol"+"address"+"port", "scheduler", "persistence",
// "stats", "destinations": [{"address", "port", "forwarding", "weight", "active_conns",
// "inactive_conns", "stats"}]}], "monitors": [{"current", "age", "record"}], "vrrp": [{VRRP
// record, "age"}], "sync_daemons": [{"state", "interface", "sync_id"}]}. "monitors", "vrrp" and
// "sync_daemons" are absent from the documents of agents from before the monitor and VRRP.
std::string agent_show_document(const std::vector<ServiceInfo>& services, const PlacedState& placed,
                                const std::vector<MonitorShown>& monitors = {},
                                const std::vector<VrrpState>& vrrp = {},
                                const std::vector<SyncDaemon>& sync_daemons = {});

struct AgentShow {
    PlacedState placed;
    std::vector<ServiceInfo> services;
    std::vector<MonitorShown> monitors;
    std::vector<VrrpState> vrrp;
    std::vector<SyncDaemon> sync_daemons;
};
// Throws Error(ExitCode::partial) naming `host` when it is not that document.
AgentShow parse_agent_show(std::string_view json, std::string_view host);

}  // namespace lvsctl
