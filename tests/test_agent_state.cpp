#include <doctest/doctest.h>

#include "fixtures.h"
#include "lvsctl/error.h"
#include "lvsctl/lb/agent_state.h"

using namespace lvsctl;
using lvsctl::testing::ip;

TEST_CASE("the agent's record survives a round trip, digests included") {
    AgentState state;
    state.services = {ServiceKey::fwmark_service(Family::inet, 100),
                      ServiceKey::fwmark_service(Family::inet6, 100)};
    state.interface = "eth0";
    state.vips = {ip("10.39.84.48"), ip("2001:db8::48")};
    state.marks = {100};
    state.marks_via = "nft";
    state.digests[state.services[0]] = "0123456789abcdef";
    state.digests[state.services[1]] = "fedcba9876543210";
    state.last_full = 1795000000;
    ServiceKey tcp;  // the library also reconciles address:port services
    tcp.family = Family::inet6;
    tcp.protocol = 6;
    tcp.address = ip("2001:db8::80");
    tcp.port = 443;
    state.digests[tcp] = "00000000000000aa";
    const auto back = parse_agent_state(to_json(state), "agent-state.json");
    CHECK(back.services == state.services);
    CHECK(back.interface == "eth0");
    CHECK(back.vips == state.vips);
    CHECK(back.marks == state.marks);
    CHECK(back.marks_via == "nft");
    CHECK(back.digests == state.digests);
    CHECK(back.last_full == 1795000000);
}

TEST_CASE("a record from before digests reads as one with none: the next run is a full one") {
    const auto state = parse_agent_state(
        R"({"version": 1, "services": [{"family": "inet", "fwmark": 100}], "interface": "eth0",
            "vips": [], "marks": [100], "marks_via": "iptables"})",
        "old.json");
    CHECK(state.services.size() == 1);
    CHECK(state.digests.empty());
    CHECK(state.last_full == 0);
}

TEST_CASE("a damaged record is an error naming the file") {
    CHECK_THROWS_WITH_AS(
        parse_agent_state(
            R"({"version": 1, "services": [], "digests": [{"family": "inet", "fwmark": 0, "digest": "x"}]})",
            "/var/lib/lvsctl/agent-state.json"),
        doctest::Contains(
            "/var/lib/lvsctl/agent-state.json: a service: a fwmark service with mark 0"),
        Error);
}

TEST_CASE("the aliases left on a former interface survive a round trip") {
    AgentState state;
    state.interface = "eth2";
    state.former["eth1"] = {ip("10.39.84.131"), ip("2001:db8::131")};
    const auto back = parse_agent_state(to_json(state), "agent-cluster-1.json");
    CHECK(back.former == state.former);
    CHECK(parse_agent_state(R"({"version": 1, "services": []})", "old.json").former.empty());
}

TEST_CASE("one record per cluster: its file name, and only its") {
    CHECK(agent_record_name(7) == "agent-cluster-7.json");
    CHECK(agent_record_cluster("agent-cluster-7.json") == 7);
    CHECK(agent_record_cluster("agent-cluster-2147483647.json") == 2147483647);
    for (const auto* name :
         {"agent-state.json", "agent-cluster-.json", "agent-cluster-7.json.corrupt-1795000000",
          ".agent-cluster-7.json.Ab12Cd", "agent-cluster-07.json", "agent-cluster-x.json",
          "agent-cluster--7.json", "agent.lock"}) {
        CHECK_MESSAGE(!agent_record_cluster(name), name);
    }
}

TEST_CASE("a legacy record is adopted only by the cluster whose mark it names") {
    AgentState legacy;
    CHECK(legacy_record_fits(legacy, 100));  // it names no mark: nothing of anyone else's
    legacy.marks = {100};
    CHECK(legacy_record_fits(legacy, 100));
    CHECK_FALSE(legacy_record_fits(legacy, 200));
    legacy.marks = {100, 77};  // a mark change that had not finished
    CHECK_FALSE(legacy_record_fits(legacy, 100));
}

TEST_CASE("conflicts: a service, the mark or a website IP another cluster's record owns") {
    AgentState a;
    a.services = {ServiceKey::fwmark_service(Family::inet, 100),
                  ServiceKey::fwmark_service(Family::inet6, 100)};
    a.interface = "eth1";
    a.vips = {ip("10.39.84.131")};
    a.former["eth2"] = {ip("10.39.84.140")};
    a.marks = {100};
    const std::vector<OtherRecord> others = {
        {"cluster 1", "/var/lib/lvsctl/agent-cluster-1.json", a}};

    Claim b{2,
            {ServiceKey::fwmark_service(Family::inet, 200)},
            200,
            "eth1",
            {ip("10.39.86.1"), ip("2001:db8:86::1")}};
    CHECK(conflicts(b, others).empty());

    auto same_mark = b;
    same_mark.fwmark = 100;
    same_mark.services = {ServiceKey::fwmark_service(Family::inet, 100)};
    const auto found = conflicts(same_mark, others);
    REQUIRE(found.size() == 2);
    CHECK(found[0] ==
          "cluster 2 wants firewall mark 100, which cluster 1 owns (record "
          "/var/lib/lvsctl/agent-cluster-1.json)");
    CHECK(found[1] ==
          "cluster 2 wants service FWM 100, which cluster 1 owns (record "
          "/var/lib/lvsctl/agent-cluster-1.json)");

    auto same_ip = b;
    same_ip.website_ips.push_back(ip("10.39.84.131"));
    same_ip.website_ips.push_back(ip("10.39.84.140"));  // on the interface cluster 1 left
    const auto ips = conflicts(same_ip, others);
    REQUIRE(ips.size() == 2);
    CHECK(ips[0] ==
          "cluster 2 wants website IP 10.39.84.131 on eth1 (placed on eth1), which "
          "cluster 1 owns (record /var/lib/lvsctl/agent-cluster-1.json)");
    CHECK(ips[1].find("10.39.84.140 on eth1 (placed on eth2)") != std::string::npos);
}
