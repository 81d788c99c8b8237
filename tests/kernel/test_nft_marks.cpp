// The nftables marks on the host kernel, in network namespaces this test makes and removes.
#include <doctest/doctest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "fixtures.h"
#include "lvsctl/cli/process.h"
#include "lvsctl/marks.h"

using namespace lvsctl;
using lvsctl::testing::ip;

namespace {

// Runs everything inside one network namespace.
class InNamespace : public ProcessRunner {
  public:
    explicit InNamespace(std::string ns) : ns_(std::move(ns)) {}
    ProcessResult run(const std::vector<std::string>& argv, const std::string& input) override {
        std::vector<std::string> wrapped{"ip", "netns", "exec", ns_};
        wrapped.insert(wrapped.end(), argv.begin(), argv.end());
        return real_.run(wrapped, input);
    }

  private:
    std::string ns_;
    cli::SpawnRunner real_;
};

std::string sh(const std::string& command) {
    cli::SpawnRunner r;
    const auto result = r.run({"sh", "-c", command}, "");
    REQUIRE_MESSAGE(result.status == 0, command << ": " << result.err);
    return result.out;
}

// Two namespaces joined by a veth pair: "lb" (10.77.0.1) and "client" (10.77.0.2).
struct Hosts {
    std::string lb = "lvsctl-nft-lb-" + std::to_string(::getpid());
    std::string client = "lvsctl-nft-cl-" + std::to_string(::getpid());
    Hosts() {
        sh("ip netns add " + lb + " && ip netns add " + client + " && ip -n " + lb +
           " link add eth0 type veth peer name eth0 netns " + client + " && ip -n " + lb +
           " link set lo up && ip -n " + lb + " link set eth0 up" + " && ip -n " + client +
           " link set eth0 up && ip -n " + lb + " addr add 10.77.0.1/24 dev eth0 && ip -n " +
           client + " addr add 10.77.0.2/24 dev eth0");
    }
    ~Hosts() {
        cli::SpawnRunner r;
        r.run({"ip", "netns", "del", lb}, "");
        r.run({"ip", "netns", "del", client}, "");
    }
    nlohmann::json table(const char* family) {
        return nlohmann::json::parse(
            sh("ip netns exec " + lb + " nft -j list table " + family + " lvsctl"));
    }
    std::vector<std::string> members(const char* family, const std::string& set) {
        const auto doc = table(family);  // (a range-for over a temporary's member would dangle)
        for (const auto& item : doc["nftables"]) {
            if (item.contains("set") && item["set"]["name"] == set) {
                return item["set"].value("elem", std::vector<std::string>{});
            }
        }
        return {};
    }
    std::uint64_t marked_packets(const char* family) {
        const auto doc = table(family);
        for (const auto& item : doc["nftables"]) {
            if (item.contains("rule")) {
                for (const auto& e : item["rule"]["expr"]) {
                    if (e.contains("counter")) {
                        return e["counter"]["packets"].get<std::uint64_t>();
                    }
                }
            }
        }
        return 0;
    }
};

}  // namespace

TEST_CASE("nftables marks: from empty, no-op, changes, a new mark, a family emptied") {
    Hosts hosts;
    InNamespace runner(hosts.lb);
    REQUIRE(NftMarks::supported(runner));
    NftMarks marks(runner);
    MarkSpec spec{
        100, "tcp", {80, 443}, {ip("10.77.0.100"), ip("10.77.0.101"), ip("2001:db8::100")}};

    auto report = marks.apply(spec, {});
    CHECK(report.changing_commands == 2);  // one transaction per family
    CHECK(hosts.members("ip", "web_100") == std::vector<std::string>{"10.77.0.100", "10.77.0.101"});
    CHECK(hosts.members("ip6", "web_100") == std::vector<std::string>{"2001:db8::100"});

    report = marks.apply(spec, {});
    CHECK(report.changing_commands == 0);
    CHECK(report.done.empty());

    // A packet from the client to a website IP and a balanced port is marked; another port is not.
    sh("ip netns exec " + hosts.lb + " ip addr add 10.77.0.100/32 dev lo");
    sh("ip netns exec " + hosts.client + " ip route add 10.77.0.100/32 via 10.77.0.1");
    (void)sh("ip netns exec " + hosts.client +
             " timeout 3 bash -c 'exec 3<>/dev/tcp/10.77.0.100/22' 2>/dev/null; true");
    CHECK(hosts.marked_packets("ip") == 0);
    (void)sh("ip netns exec " + hosts.client +
             " timeout 3 bash -c 'exec 3<>/dev/tcp/10.77.0.100/443' 2>/dev/null; true");
    CHECK(hosts.marked_packets("ip") >= 1);

    spec.website_ips = {ip("10.77.0.101"), ip("10.77.0.102"), ip("2001:db8::100")};
    spec.ports = {80};
    report = marks.apply(spec, {});
    CHECK(report.changing_commands == 2);
    CHECK(hosts.members("ip", "web_100") == std::vector<std::string>{"10.77.0.101", "10.77.0.102"});

    spec.fwmark = 77;
    spec.website_ips = {ip("10.77.0.101")};
    report = marks.apply(spec, {100});
    CHECK(hosts.members("ip", "web_77") == std::vector<std::string>{"10.77.0.101"});
    const auto t = hosts.table("ip").dump();
    CHECK(t.find("web_100") == std::string::npos);
    CHECK(t.find("lvsctl-fwmark-77 tcp 80") != std::string::npos);
    cli::SpawnRunner r;
    CHECK(r.run({"ip", "netns", "exec", hosts.lb, "nft", "list", "table", "ip6", "lvsctl"}, "")
              .status != 0);
}
