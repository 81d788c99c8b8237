// The LB's desired state (docs/agent-protocol.md): what `agent apply` and `exec:` programs read.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lvsctl/model.h"

namespace lvsctl {

struct Destination {
    IpAddress address;
    std::uint16_t port = 0;
    Forwarding forwarding = Forwarding::route;
    std::uint32_t weight = 0;
};

struct Service {
    Family family = Family::inet;
    std::uint32_t fwmark = 0;
    std::string scheduler;
    std::uint32_t persistence = 0;
    std::vector<Destination> destinations;
};

// A real server the monitor checks: a destination's address, and the management address its
// load command is given.
struct CheckedServer {
    IpAddress address;
    IpAddress mgmt_address;
    bool operator==(const CheckedServer&) const = default;
};

// The cluster's check and load settings, for the LB monitor (docs/monitor.md).
struct MonitorChecks {
    std::uint32_t interval = 10;  // seconds between checks of a server
    std::uint32_t timeout = 10;   // connect and read
    std::uint32_t reentry = 10;   // seconds of passing checks before a server comes back
    std::uint16_t port = 80;
    std::string send;    // the bytes to send ("" = connect only)
    std::string expect;  // "" or "*" = any reply
    bool use_regex = false;
    std::string program;       // replaces connect and send ("" = none); %h = the server's address
    bool quiesce = false;      // a failed server gets weight 0 instead of leaving the services
    std::string load_monitor;  // "" = none
    std::uint32_t load_scale = 10;
    std::vector<CheckedServer> servers;  // every destination's address, once

    bool operator==(const MonitorChecks&) const = default;
};

struct LbDesiredState {
    int version = 1;
    std::int64_t cluster_id = 0;
    std::string cluster_name;
    std::int64_t serial = 0;
    std::string interface;
    std::vector<IpAddress> website_ips;
    std::uint32_t fwmark = 0;
    std::string protocol;
    std::vector<std::uint16_t> ports;
    std::vector<Service> services;
    std::uint32_t drain_timeout = 30;
    // "ha": "vrrp": keepalived's VRRP places the website IPs on the interface (docs/ha.md); the
    // agent marks them and programs IPVS, but adds no alias (and removes those it added before).
    bool vrrp = false;
    // Absent from documents of versions before the monitor: then nothing is checked.
    std::optional<MonitorChecks> checks;
};

// The state one LB must reach for a validated cluster: an IPv4 fwmark service, an IPv6 one when
// the cluster has IPv6 website IPs, a destination per server (weight 0 when inactive).
LbDesiredState desired_state(const Cluster& cluster, const LoadBalancer& lb,
                             std::uint32_t drain_timeout);

std::string to_json(const LbDesiredState& state);  // indented, ends with a newline
// The same text, handed to `sink` in pieces of about 64 KiB.
void write_json(const LbDesiredState& state, const std::function<void(std::string_view)>& sink);

// Reads the document strictly: unknown keys, wrong types, addresses of the wrong family, a mark
// of 0, a weight outside 0..65535, duplicates, an unknown scheduler or a bad interface name are
// refused with Error(ExitCode::data) naming the key (e.g. "services[1].destinations[0].weight").
// The stream form reads as the document comes, without holding its text: the agent's input, of
// up to hundreds of thousands of destinations.
LbDesiredState parse_desired_state(std::string_view json);
LbDesiredState parse_desired_state(std::istream& json);

}  // namespace lvsctl
