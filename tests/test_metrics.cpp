// The monitor's metrics as text (lb/metrics.h), the address they are served on, and which cluster
// a monitor started without --cluster-id checks.
#include <doctest/doctest.h>

#include <set>
#include <sstream>

#include "fixtures.h"
#include "lvsctl/error.h"
#include "lvsctl/lb/agent.h"
#include "lvsctl/lb/metrics.h"
#include "lvsctl/lb/monitor_loop.h"

using namespace lvsctl;
using lvsctl::testing::ip;

namespace {

// FWM 100 (IPv4) with web1 (configured 32, at 16 in the kernel, some traffic) and web2
// (configured 32, out of the kernel); web1 up, web2 down.
MetricsSnapshot snapshot() {
    MetricsSnapshot s;
    Service svc;
    svc.family = Family::inet;
    svc.fwmark = 100;
    svc.destinations = {{ip("10.39.84.43"), 0, Forwarding::route, 32},
                        {ip("10.39.84.44"), 0, Forwarding::route, 32}};
    s.desired = {svc};
    ServiceInfo info;
    info.key = ServiceKey::fwmark_service(Family::inet, 100);
    info.stats.conns = 12;
    info.stats.inpkts = 30;
    info.stats.outpkts = 0;
    info.stats.inbytes = 4000;
    DestInfo web1;
    web1.key = {ip("10.39.84.43"), 0};
    web1.settings.weight = 16;
    web1.active_conns = 2;
    web1.inactive_conns = 5;
    web1.stats.conns = 12;
    web1.stats.inpkts = 30;
    web1.stats.inbytes = 4000;
    info.dests = {web1};
    s.kernel = {info};
    s.health.cluster_id = 7;
    s.health.updated = 1'700'000'000;
    s.health.interval = 2;
    ServerHealthRecord up;
    up.state = Health::up;
    up.in_service = true;
    up.configured = 32;
    up.weight = 16;
    up.last_check = 1'699'999'999;
    up.last_ok = true;
    up.latency_ms = 3;
    up.transitions = 2;
    ServerHealthRecord down = up;
    down.state = Health::down;
    down.in_service = false;
    down.last_ok = false;
    down.transitions = 1;
    s.health.servers = {{ip("10.39.84.43"), up}, {ip("10.39.84.44"), down}};
    s.rounds = 9;
    s.loop_lag_seconds = 0.25;
    s.round_seconds = 1.5;
    s.kernel_errors = 1;
    return s;
}

std::set<std::string> lines(const std::string& text) {
    std::set<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        out.insert(line);
    }
    return out;
}

}  // namespace

TEST_CASE("metrics: per destination the weight now and configured, and the IPVS counters") {
    const auto text = lines(to_prometheus(snapshot()));
    const std::string web1 = R"(fwmark="100",family="inet",address="10.39.84.43")";
    const std::string web2 = R"(fwmark="100",family="inet",address="10.39.84.44")";
    for (const auto& line : {
             "lvsctl_destination_weight{" + web1 + "} 16",
             "lvsctl_destination_weight{" + web2 + "} 0",  // taken out: 0
             "lvsctl_destination_configured_weight{" + web1 + "} 32",
             "lvsctl_destination_configured_weight{" + web2 + "} 32",
             "lvsctl_destination_connections_total{" + web1 + "} 12",
             "lvsctl_destination_packets_total{" + web1 + ",direction=\"in\"} 30",
             "lvsctl_destination_bytes_total{" + web1 + ",direction=\"in\"} 4000",
             "lvsctl_destination_active_connections{" + web1 + "} 2",
             "lvsctl_destination_inactive_connections{" + web1 + "} 5",
             std::string(R"(lvsctl_service_connections_total{fwmark="100",family="inet"} 12)"),
             std::string(
                 R"(lvsctl_service_bytes_total{fwmark="100",family="inet",direction="out"} 0)"),
         }) {
        CHECK_MESSAGE(text.contains(line), line);
    }
    // A destination not in the kernel has no counters (they would restart from 0).
    CHECK_FALSE(text.contains("lvsctl_destination_connections_total{" + web2 + "} 0"));
}

TEST_CASE("metrics: per real server its state, check and transitions; the loop's own figures") {
    const auto text = lines(to_prometheus(snapshot()));
    for (const std::string line : {
             R"(lvsctl_server_up{address="10.39.84.43"} 1)",
             R"(lvsctl_server_up{address="10.39.84.44"} 0)",
             R"(lvsctl_server_state{address="10.39.84.44",state="down"} 1)",
             R"(lvsctl_server_state{address="10.39.84.44",state="up"} 0)",
             R"(lvsctl_server_check_success{address="10.39.84.44"} 0)",
             R"(lvsctl_server_check_latency_seconds{address="10.39.84.43"} 0.003)",
             R"(lvsctl_server_last_check_timestamp_seconds{address="10.39.84.43"} 1699999999)",
             R"(lvsctl_server_transitions_total{address="10.39.84.43"} 2)",
             R"(lvsctl_server_weight{address="10.39.84.44"} 0)",
             R"(lvsctl_monitor_info{cluster="7"} 1)",
             "lvsctl_monitor_rounds_total 9",
             "lvsctl_monitor_loop_lag_seconds 0.25",
             "lvsctl_monitor_round_duration_seconds 1.5",
             "lvsctl_monitor_kernel_errors_total 1",
             "lvsctl_monitor_interval_seconds 2",
             "# TYPE lvsctl_server_transitions_total counter",
             "# TYPE lvsctl_destination_weight gauge",
         }) {
        CHECK_MESSAGE(text.contains(line), line);
    }
}

TEST_CASE("metrics: the exposition format: every sample under its own TYPE, each TYPE once") {
    std::istringstream in(to_prometheus(snapshot()));
    std::set<std::string> typed;
    std::string current;
    std::size_t samples = 0;
    for (std::string line; std::getline(in, line);) {
        if (line.starts_with("# TYPE ")) {
            const auto name = line.substr(7, line.find(' ', 7) - 7);
            CHECK_MESSAGE(typed.insert(name).second, name);
            const auto type = line.substr(line.rfind(' ') + 1);
            CHECK((type == "gauge" || type == "counter"));
            CHECK((type == "counter") == name.ends_with("_total"));
            current = name;
        } else if (!line.starts_with("# HELP ")) {
            const auto name = line.substr(0, line.find_first_of("{ "));
            CHECK_MESSAGE(name == current, line);
            CHECK(name.starts_with("lvsctl_"));
            ++samples;
        }
    }
    CHECK(samples > 30);
}

TEST_CASE("metrics: the listen address") {
    CHECK(parse_listen_address("127.0.0.1:9632")->str() == "127.0.0.1:9632");
    CHECK(parse_listen_address("[::1]:9632")->str() == "[::1]:9632");
    CHECK(parse_listen_address("0.0.0.0:1")->port == 1);
    for (const char* bad :
         {"", "9632", ":9632", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
          "127.0.0.1:96x", "::1:9632", "[::1]9632", "localhost:9632", "[127.0.0.1:9632"}) {
        CHECK_MESSAGE(!parse_listen_address(bad), bad);
    }
}

namespace {

struct Names : RecordStore {
    std::vector<std::string> files;
    std::vector<std::string> names() override { return files; }
    std::optional<std::string> read(const std::string&) override { return std::nullopt; }
    void write(const std::string&, const std::string&) override {}
    void rename(const std::string&, const std::string&) override {}
    std::string path(const std::string& name) const override { return "/var/lib/lvsctl/" + name; }
};

}  // namespace

TEST_CASE("monitor without --cluster-id: the one cluster the agent left a desired state for") {
    Names records;
    records.files = {"agent.lock",
                     "owned.json",
                     "desired-cluster-7.json",
                     "desired-cluster-7.json.tmp",
                     "health-cluster-3.json",
                     "desired-cluster-007.json",
                     "desired-cluster-x.json"};
    CHECK(monitored_cluster(records) == 7);

    records.files.push_back("desired-cluster-12.json");
    try {
        monitored_cluster(records);
        FAIL("chose one");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::usage);
        CHECK(std::string(e.what()) ==
              "this LB serves clusters 7, 12: run one monitor per cluster (lvsctl monitor "
              "--cluster-id N, or the unit lvsctl-monitor@N)");
    }

    records.files = {"agent.lock"};
    try {
        monitored_cluster(records);
        FAIL("chose one");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::data);
        CHECK(
            std::string(e.what()).starts_with("/var/lib/lvsctl/desired-cluster-N.json: no "
                                              "desired state"));
    }
}
