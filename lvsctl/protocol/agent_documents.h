// What the LB's agent answers (docs/agent-protocol.md): `agent apply`'s answer, which `exec:`
// programs give too, and `agent show`'s document. Written by the agent on the LB, read by the
// management node: one codec each way.
#pragma once

#include <cstddef>
#include <cstdint>
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

// `agent show`: {"version": 1, "interface", "website_ips", "marks": {"fwmarks", "via"},
// "services": [{"family", "fwmark" | "protocol"+"address"+"port", "scheduler", "persistence",
// "stats", "destinations": [{"address", "port", "forwarding", "weight", "active_conns",
// "inactive_conns", "stats"}]}], "monitors": [{"current", "age", "record"}]}. "monitors" is absent
// from the documents of agents from before the monitor.
std::string agent_show_document(const std::vector<ServiceInfo>& services, const PlacedState& placed,
                                const std::vector<MonitorShown>& monitors = {});

struct AgentShow {
    PlacedState placed;
    std::vector<ServiceInfo> services;
    std::vector<MonitorShown> monitors;
};
// Throws Error(ExitCode::partial) naming `host` when it is not that document.
AgentShow parse_agent_show(std::string_view json, std::string_view host);

}  // namespace lvsctl
