// The nftables marks on the host kernel, in network namespaces this test makes and removes.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <map>

#include "fixtures.h"
#include "lvsctl/cli/process.h"
#include "lvsctl/lb/marks.h"

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
    bool has_table(const char* family) {
        cli::SpawnRunner r;
        return r.run({"ip", "netns", "exec", lb, "nft", "list", "table", family, "lvsctl"}, "")
                   .status == 0;
    }
    // Each chain of the table and its rules, as "HANDLE COMMENT": a rule replaced gets a new
    // handle, so an unchanged list means untouched rules.
    std::map<std::string, std::vector<std::string>> chains(const char* family) {
        std::map<std::string, std::vector<std::string>> out;
        const auto doc = table(family);
        for (const auto& item : doc["nftables"]) {
            if (item.contains("chain")) {
                out[item["chain"]["name"].get<std::string>()];
            } else if (item.contains("rule")) {
                const auto& rule = item["rule"];
                out[rule["chain"].get<std::string>()].push_back(
                    std::to_string(rule["handle"].get<int>()) + " " +
                    rule.value("comment", std::string()));
            }
        }
        return out;
    }
    std::vector<std::string> set_names(const char* family) {
        std::vector<std::string> out;
        const auto doc = table(family);
        for (const auto& item : doc["nftables"]) {
            if (item.contains("set")) {
                out.push_back(item["set"]["name"].get<std::string>());
            }
        }
        return out;
    }
    std::uint64_t marked_packets(const char* family, const std::string& chain = "") {
        const auto doc = table(family);
        for (const auto& item : doc["nftables"]) {
            if (item.contains("rule") && (chain.empty() || item["rule"]["chain"] == chain)) {
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

namespace {
std::vector<std::string> keys(const std::map<std::string, std::vector<std::string>>& m) {
    std::vector<std::string> out;
    for (const auto& [k, v] : m) {
        out.push_back(k);
    }
    return out;
}
using Names = std::vector<std::string>;
}  // namespace

TEST_CASE(
    "nftables marks: two clusters share the tables; one changing or leaving keeps the other") {
    Hosts hosts;
    InNamespace runner(hosts.lb);
    NftMarks marks(runner);
    MarkSpec a{100, "tcp", {80, 443}, {ip("10.77.0.100"), ip("2001:db8::100")}};
    MarkSpec b{200, "tcp", {8080}, {ip("10.77.0.200")}};
    marks.apply(a, {});
    marks.apply(b, {});
    auto v4 = hosts.chains("ip");
    CHECK(keys(v4) == Names{"prerouting_100", "prerouting_200"});
    const auto b_rule = v4["prerouting_200"];
    REQUIRE(b_rule.size() == 1);
    CHECK(b_rule[0].ends_with(" lvsctl-fwmark-200 tcp 8080"));
    CHECK(hosts.members("ip", "web_200") == Names{"10.77.0.200"});

    // A changes its ports: only its own chain is rewritten.
    a.ports = {80};
    CHECK(marks.apply(a, {}).changing_commands == 2);
    v4 = hosts.chains("ip");
    CHECK(v4["prerouting_200"] == b_rule);
    REQUIRE(v4["prerouting_100"].size() == 1);
    CHECK(v4["prerouting_100"][0].ends_with(" lvsctl-fwmark-100 tcp 80"));

    // B's packets are still marked, by B's rule.
    sh("ip netns exec " + hosts.lb + " ip addr add 10.77.0.200/32 dev lo");
    sh("ip netns exec " + hosts.client + " ip route add 10.77.0.200/32 via 10.77.0.1");
    (void)sh("ip netns exec " + hosts.client +
             " timeout 3 bash -c 'exec 3<>/dev/tcp/10.77.0.200/8080' 2>/dev/null; true");
    CHECK(hosts.marked_packets("ip", "prerouting_200") >= 1);
    CHECK(hosts.marked_packets("ip", "prerouting_100") == 0);

    // A moves to mark 300: its mark 100 goes, B's chain and set stay.
    a.fwmark = 300;
    marks.apply(a, {100});
    v4 = hosts.chains("ip");
    CHECK(keys(v4) == Names{"prerouting_200", "prerouting_300"});
    CHECK(v4["prerouting_200"] == b_rule);
    CHECK(hosts.set_names("ip") == Names{"web_200", "web_300"});

    // A has nothing left to mark: only its chains and sets go; the ip6 table, A's alone, goes.
    a.website_ips = {};
    marks.apply(a, {});
    v4 = hosts.chains("ip");
    CHECK(keys(v4) == Names{"prerouting_200"});
    CHECK(v4["prerouting_200"] == b_rule);
    CHECK(hosts.set_names("ip") == Names{"web_200"});
    CHECK(hosts.members("ip", "web_200") == Names{"10.77.0.200"});
    CHECK_FALSE(hosts.has_table("ip6"));
    CHECK(marks.apply(a, {}).changing_commands == 0);

    // B leaves as well: now the table goes.
    b.website_ips = {};
    marks.apply(b, {});
    CHECK_FALSE(hosts.has_table("ip"));
}

TEST_CASE("nftables marks: the single prerouting chain of earlier versions goes with its mark") {
    Hosts hosts;
    InNamespace runner(hosts.lb);
    // As an earlier lvsctl left them: the ip table marking 200 (another cluster's), the ip6 one
    // marking 100, each from the one chain `prerouting`.
    const auto legacy = [](const char* family, const char* type, const char* daddr,
                           const char* addr, int mark) {
        return fmt::format(
            "add table {0} lvsctl\n"
            "add chain {0} lvsctl prerouting {{ type filter hook prerouting priority mangle; "
            "policy accept; }}\n"
            "add set {0} lvsctl web_{4} {{ type {1}; }}\n"
            "add element {0} lvsctl web_{4} {{ {3} }}\n"
            "add rule {0} lvsctl prerouting {2} @web_{4} tcp dport {{ 80 }} counter meta mark set "
            "{4} comment \"lvsctl-fwmark-{4} tcp 80\"\n",
            family, type, daddr, addr, mark);
    };
    const auto made = runner.run({"nft", "-f", "-"},
                                 legacy("ip", "ipv4_addr", "ip daddr", "10.77.0.200", 200) +
                                     legacy("ip6", "ipv6_addr", "ip6 daddr", "2001:db8::100", 100));
    REQUIRE_MESSAGE(made.status == 0, made.err);
    NftMarks marks(runner);

    marks.apply({100, "tcp", {80}, {ip("10.77.0.100"), ip("2001:db8::100")}}, {});
    CHECK(keys(hosts.chains("ip")) == Names{"prerouting", "prerouting_100"});  // 200's: kept
    CHECK(keys(hosts.chains("ip6")) == Names{"prerouting_100"});               // 100's alone: gone
    CHECK(hosts.members("ip6", "web_100") == Names{"2001:db8::100"});

    marks.apply({200, "tcp", {80}, {ip("10.77.0.200")}}, {});
    const auto v4 = hosts.chains("ip");
    CHECK(keys(v4) == Names{"prerouting_100", "prerouting_200"});
    CHECK(hosts.members("ip", "web_200") == Names{"10.77.0.200"});
}
