// The monitor's Prometheus metrics (docs/monitor.md, "Metrics"): what one round leaves behind (the
// cluster's services as the kernel has them, the health record, the loop's own timing) written as
// Prometheus' text format. Pure: the loop gathers the snapshot, a MetricsSink serves the text.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lvsctl/address.h"
#include "lvsctl/ipvs_types.h"
#include "lvsctl/protocol/desired_state.h"
#include "lvsctl/protocol/health_record.h"

namespace lvsctl {

struct MetricsSnapshot {
    // The desired services (configured weights) and what the kernel has for each of them now:
    // std::nullopt for a service the kernel does not have (the agent has not applied it yet).
    std::vector<Service> desired;
    std::vector<std::optional<ServiceInfo>> kernel;  // one per `desired`, same order
    HealthRecord health;
    std::uint64_t rounds = 0;         // rounds done since the start
    double loop_lag_seconds = 0;      // how late the last round started
    double round_seconds = 0;         // how long the last round took
    std::uint64_t kernel_errors = 0;  // changes the kernel refused since the start
};

// Prometheus' text exposition format (version 0.0.4): the metrics docs/monitor.md lists, each
// with its HELP and TYPE. Labels: `fwmark` and `family` per service, `address` per real server.
std::string to_prometheus(const MetricsSnapshot& snapshot);

// Where the metrics are served: "127.0.0.1:9632", "[::1]:9632", "0.0.0.0:9632".
struct ListenAddress {
    IpAddress address;
    std::uint16_t port = 0;
    std::string str() const;
};
std::optional<ListenAddress> parse_listen_address(std::string_view text);

// What the loop hands each round's text to (checks/http_server.h serves it over HTTP).
class MetricsSink {
  public:
    virtual ~MetricsSink() = default;
    virtual void publish(std::string text) = 0;
};

}  // namespace lvsctl
