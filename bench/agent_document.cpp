// The agent's desired-state document at scale, without a kernel (issue 17): how long writing it
// (`to_json`, what `update` sends and what the agent records for the monitor) and reading it
// (`parse_desired_state`, strict validation included) take, and the peak RSS. The document has
// the shape `update` writes: one fwmark service per family, each with D destinations, and a
// checks section that lists every destination. Runs on the host; no UML, no root.
//
//   build/gcc/bench/agent_document [--dests 50000] [--rounds 5]     (destinations per family)
#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "lvsctl/error.h"
#include "lvsctl/protocol/desired_state.h"

namespace {

using namespace lvsctl;

double peak_rss_mib() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

// D destinations per family: 10.200.0.0/16 upwards and 2001:db8:200::/48 upwards, weights 1..10.
LbDesiredState document(std::size_t dests) {
    LbDesiredState s;
    s.cluster_id = 1;
    s.cluster_name = "bench";
    s.serial = 7;
    s.interface = "eth1";
    s.website_ips = {*IpAddress::parse("192.0.2.10"), *IpAddress::parse("2001:db8:1::10")};
    s.fwmark = 100;
    s.protocol = "tcp";
    s.ports = {80, 443};
    s.drain_timeout = 0;
    MonitorChecks checks;
    checks.port = 80;
    checks.send = "GET / HTTP/1.0\r\n\r\n";
    checks.expect = "HTTP";
    for (const auto family : {Family::inet, Family::inet6}) {
        Service svc{family, s.fwmark, "lblc", 0, {}};
        for (std::size_t i = 0; i < dests; ++i) {
            const auto hi = (i >> 8) & 0xff;
            const auto lo = i & 0xff;
            const auto text = family == Family::inet
                                  ? fmt::format("10.200.{}.{}", hi, lo)
                                  : fmt::format("2001:db8:200::{:x}:{:x}", i >> 16, i & 0xffff);
            const auto addr = *IpAddress::parse(text);
            svc.destinations.push_back(
                {addr, 0, Forwarding::route, static_cast<std::uint32_t>(1 + i % 10)});
            checks.servers.push_back({addr, addr});
        }
        s.services.push_back(std::move(svc));
    }
    s.checks = std::move(checks);
    return s;
}

template <typename F>
double seconds(F&& f) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t dests = 50000;
    int rounds = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view opt = argv[i];
        const auto value = std::strtoul(argv[i + 1], nullptr, 10);
        if (opt == "--dests") {
            dests = value;
        } else if (opt == "--rounds") {
            rounds = static_cast<int>(std::max(1UL, value));
        } else {
            fmt::print(stderr, "usage: agent_document [--dests N] [--rounds R]\n");
            return 64;
        }
    }
    try {
        const auto state = document(dests);
        fmt::print("agent_document: {} destinations per family ({} in all), {} rounds\n", dests,
                   2 * dests, rounds);
        fmt::print("  peak RSS with the state built: {:.1f} MiB\n", peak_rss_mib());
        std::string text;
        std::vector<double> write;
        std::vector<double> read;
        for (int r = 0; r < rounds; ++r) {
            write.push_back(seconds([&] { text = to_json(state); }));
        }
        fmt::print("  to_json: median {:.4f} s, {:.1f} MB; peak RSS {:.1f} MiB\n", median(write),
                   static_cast<double>(text.size()) / 1e6, peak_rss_mib());
        for (int r = 0; r < rounds; ++r) {
            LbDesiredState back;
            read.push_back(seconds([&] { back = parse_desired_state(text); }));
            if (back.services.size() != 2 || back.services[1].destinations.size() != dests ||
                back.checks->servers.size() != 2 * dests) {
                fmt::print(stderr, "agent_document: the document read back differs\n");
                return 1;
            }
        }
        fmt::print("  parse_desired_state: median {:.4f} s ({:.0f} MB/s); peak RSS {:.1f} MiB\n",
                   median(read), static_cast<double>(text.size()) / 1e6 / median(read),
                   peak_rss_mib());
    } catch (const Error& e) {
        fmt::print(stderr, "agent_document: {}\n", e.what());
        return 1;
    }
    return 0;
}
