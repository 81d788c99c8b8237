// The LB's desired state (docs/agent-protocol.md): what `agent apply` and `exec:` programs read.
#pragma once

#include <cstdint>
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
};

// The state one LB must reach for a validated cluster: an IPv4 fwmark service, an IPv6 one when
// the cluster has IPv6 website IPs, a destination per server (weight 0 when inactive).
LbDesiredState desired_state(const Cluster& cluster, const LoadBalancer& lb,
                             std::uint32_t drain_timeout);

std::string to_json(const LbDesiredState& state);  // indented, ends with a newline

// Reads the document strictly: unknown keys, wrong types, addresses of the wrong family, a mark
// of 0, a weight outside 0..65535, duplicates, an unknown scheduler or a bad interface name are
// refused with Error(ExitCode::data) naming the key (e.g. "services[1].destinations[0].weight").
LbDesiredState parse_desired_state(std::string_view json);

}  // namespace lvsctl
