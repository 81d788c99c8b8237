#include "lvsctl/lb/metrics.h"

#include <fmt/format.h>

#include <charconv>
#include <map>

namespace lvsctl {

namespace {

// One metric family: its HELP and TYPE once, then its samples.
class MetricFamily {
  public:
    MetricFamily(std::string& out, std::string_view name, std::string_view type,
                 std::string_view help)
        : out_(out), name_(name) {
        out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    }
    template <typename T>
    void sample(std::string_view labels, T value) {
        if (labels.empty()) {
            out_ += fmt::format("{} {}\n", name_, value);
        } else {
            out_ += fmt::format("{}{{{}}} {}\n", name_, labels, value);
        }
    }

  private:
    std::string& out_;
    std::string_view name_;
};

// Label values here are addresses, numbers and fixed words: nothing to escape.
std::string service_labels(const Service& s) {
    return fmt::format("fwmark=\"{}\",family=\"{}\"", s.fwmark, to_string(s.family));
}

std::string dest_labels(const Service& s, const IpAddress& address) {
    return fmt::format("{},address=\"{}\"", service_labels(s), address.str());
}

const DestInfo* find_dest(const std::optional<ServiceInfo>& kernel, const Destination& d) {
    if (!kernel) {
        return nullptr;
    }
    for (const auto& i : kernel->dests) {
        if (i.key.address == d.address && i.key.port == d.port) {
            return &i;
        }
    }
    return nullptr;
}

// One of IPVS's counters as a metric: a direction label when it has an `out` half.
struct IpvsCounter {
    std::string_view name, help;
    std::uint64_t IpvsStats::*in;
    std::uint64_t IpvsStats::*out;  // null: no direction label
};

void sample(MetricFamily& f, const IpvsCounter& c, const std::string& labels,
            const IpvsStats& stats) {
    if (!c.out) {
        f.sample(labels, stats.*c.in);
    } else {
        f.sample(labels + ",direction=\"in\"", stats.*c.in);
        f.sample(labels + ",direction=\"out\"", stats.*c.out);
    }
}

void service_metrics(std::string& out, const MetricsSnapshot& s) {
    const IpvsCounter counters[] = {
        {"lvsctl_service_connections_total", "Connections the service scheduled (IPVS)",
         &IpvsStats::conns, nullptr},
        {"lvsctl_service_packets_total", "Packets through the service (IPVS), by direction",
         &IpvsStats::inpkts, &IpvsStats::outpkts},
        {"lvsctl_service_bytes_total", "Bytes through the service (IPVS), by direction",
         &IpvsStats::inbytes, &IpvsStats::outbytes},
    };
    for (const auto& c : counters) {
        MetricFamily f(out, c.name, "counter", c.help);
        for (std::size_t i = 0; i < s.desired.size(); ++i) {
            if (!s.kernel[i]) {
                continue;
            }
            sample(f, c, service_labels(s.desired[i]), s.kernel[i]->stats);
        }
    }
}

void destination_metrics(std::string& out, const MetricsSnapshot& s) {
    {
        MetricFamily f(out, "lvsctl_destination_weight", "gauge",
                       "The destination's weight in the kernel now (0: not in the service)");
        for (std::size_t i = 0; i < s.desired.size(); ++i) {
            for (const auto& d : s.desired[i].destinations) {
                const auto* info = find_dest(s.kernel[i], d);
                f.sample(dest_labels(s.desired[i], d.address), info ? info->settings.weight : 0);
            }
        }
    }
    {
        MetricFamily f(out, "lvsctl_destination_configured_weight", "gauge",
                       "The destination's weight in the database");
        for (const auto& svc : s.desired) {
            for (const auto& d : svc.destinations) {
                f.sample(dest_labels(svc, d.address), d.weight);
            }
        }
    }
    const IpvsCounter counters[] = {
        {"lvsctl_destination_connections_total", "Connections scheduled to the destination (IPVS)",
         &IpvsStats::conns, nullptr},
        {"lvsctl_destination_packets_total", "Packets to and from the destination (IPVS)",
         &IpvsStats::inpkts, &IpvsStats::outpkts},
        {"lvsctl_destination_bytes_total", "Bytes to and from the destination (IPVS)",
         &IpvsStats::inbytes, &IpvsStats::outbytes},
    };
    for (const auto& c : counters) {
        MetricFamily f(out, c.name, "counter", c.help);
        for (std::size_t i = 0; i < s.desired.size(); ++i) {
            for (const auto& d : s.desired[i].destinations) {
                if (const auto* info = find_dest(s.kernel[i], d)) {
                    sample(f, c, dest_labels(s.desired[i], d.address), info->stats);
                }
            }
        }
    }
    const struct {
        std::string_view name, help;
        std::uint32_t DestInfo::*field;
    } gauges[] = {
        {"lvsctl_destination_active_connections", "Established connections (IPVS ActiveConn)",
         &DestInfo::active_conns},
        {"lvsctl_destination_inactive_connections", "Other connections (IPVS InActConn)",
         &DestInfo::inactive_conns},
    };
    for (const auto& g : gauges) {
        MetricFamily f(out, g.name, "gauge", g.help);
        for (std::size_t i = 0; i < s.desired.size(); ++i) {
            for (const auto& d : s.desired[i].destinations) {
                if (const auto* info = find_dest(s.kernel[i], d)) {
                    f.sample(dest_labels(s.desired[i], d.address), info->*g.field);
                }
            }
        }
    }
}

void server_metrics(std::string& out, const HealthRecord& h) {
    const auto label = [](const IpAddress& a) { return fmt::format("address=\"{}\"", a.str()); };
    {
        MetricFamily f(out, "lvsctl_server_up", "gauge",
                       "1 while the real server is in service, 0 while it is out");
        for (const auto& [address, r] : h.servers) {
            f.sample(label(address), r.in_service ? 1 : 0);
        }
    }
    {
        MetricFamily f(out, "lvsctl_server_state", "gauge",
                       "The real server's health state: 1 for the state it is in");
        for (const auto& [address, r] : h.servers) {
            for (const auto state :
                 {Health::unchecked, Health::up, Health::down, Health::reentering}) {
                f.sample(fmt::format("{},state=\"{}\"", label(address), to_string(state)),
                         r.state == state ? 1 : 0);
            }
        }
    }
    {
        MetricFamily f(out, "lvsctl_server_weight", "gauge",
                       "The weight the monitor gives the real server (slow start, load)");
        for (const auto& [address, r] : h.servers) {
            f.sample(label(address), r.in_service ? r.weight : 0);
        }
    }
    {
        MetricFamily f(out, "lvsctl_server_check_success", "gauge",
                       "1 when the last check passed, 0 when it failed");
        for (const auto& [address, r] : h.servers) {
            if (r.last_check != 0) {
                f.sample(label(address), r.last_ok ? 1 : 0);
            }
        }
    }
    {
        MetricFamily f(out, "lvsctl_server_check_latency_seconds", "gauge",
                       "How long the last check took");
        for (const auto& [address, r] : h.servers) {
            if (r.last_check != 0) {
                f.sample(label(address), r.latency_ms / 1000.0);
            }
        }
    }
    {
        MetricFamily f(out, "lvsctl_server_last_check_timestamp_seconds", "gauge",
                       "When the last check ended (Unix time)");
        for (const auto& [address, r] : h.servers) {
            if (r.last_check != 0) {
                f.sample(label(address), r.last_check);
            }
        }
    }
    {
        MetricFamily f(out, "lvsctl_server_transitions_total", "counter",
                       "Health state changes of the real server since the monitor started");
        for (const auto& [address, r] : h.servers) {
            f.sample(label(address), r.transitions);
        }
    }
}

void monitor_metrics(std::string& out, const MetricsSnapshot& s) {
    MetricFamily(out, "lvsctl_monitor_info", "gauge", "The cluster this monitor checks")
        .sample(fmt::format("cluster=\"{}\"", s.health.cluster_id), 1);
    MetricFamily(out, "lvsctl_monitor_rounds_total", "counter", "Rounds of checks done")
        .sample("", s.rounds);
    MetricFamily(out, "lvsctl_monitor_interval_seconds", "gauge", "The check interval")
        .sample("", s.health.interval);
    MetricFamily(out, "lvsctl_monitor_loop_lag_seconds", "gauge",
                 "How late the last round started after its time")
        .sample("", s.loop_lag_seconds);
    MetricFamily(out, "lvsctl_monitor_round_duration_seconds", "gauge",
                 "How long the last round took (checks, load commands, kernel)")
        .sample("", s.round_seconds);
    MetricFamily(out, "lvsctl_monitor_last_round_timestamp_seconds", "gauge",
                 "When the last round wrote the health record (Unix time)")
        .sample("", s.health.updated);
    MetricFamily(out, "lvsctl_monitor_kernel_errors_total", "counter",
                 "Weight changes the kernel refused (each is tried again)")
        .sample("", s.kernel_errors);
}

}  // namespace

std::string to_prometheus(const MetricsSnapshot& snapshot) {
    std::string out;
    monitor_metrics(out, snapshot);
    server_metrics(out, snapshot.health);
    service_metrics(out, snapshot);
    destination_metrics(out, snapshot);
    return out;
}

std::string ListenAddress::str() const {
    return address.is_v4() ? fmt::format("{}:{}", address.str(), port)
                           : fmt::format("[{}]:{}", address.str(), port);
}

std::optional<ListenAddress> parse_listen_address(std::string_view text) {
    std::string_view host;
    std::string_view port;
    if (text.starts_with('[')) {
        const auto close = text.find("]:");
        if (close == std::string_view::npos) {
            return std::nullopt;
        }
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos) {
            return std::nullopt;
        }
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    const auto address = IpAddress::parse(host);
    if (!address || (!address->is_v4() && !text.starts_with('['))) {
        return std::nullopt;
    }
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535) {
        return std::nullopt;
    }
    return ListenAddress{*address, static_cast<std::uint16_t>(value)};
}

}  // namespace lvsctl
