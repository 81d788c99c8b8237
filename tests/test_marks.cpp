// The firewall marks' pure planners (lb/marks_plan.h) and the runners around them (lb/marks.h),
// the latter over a runner that answers as the tools do. The real tools are exercised by
// nft_marks_in_netns and the kernel test bed.
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "fixtures.h"
#include "lvsctl/error.h"
#include "lvsctl/lb/marks.h"
#include "lvsctl/lb/marks_plan.h"

using namespace lvsctl;
using lvsctl::testing::ip;

namespace {

MarkSpec spec_of(std::vector<IpAddress> ips, std::vector<std::uint16_t> ports = {80}) {
    MarkSpec spec;
    spec.fwmark = 100;
    spec.ports = std::move(ports);
    spec.website_ips = std::move(ips);
    return spec;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// Answers each argv (joined by spaces) from a table; records every call.
class ScriptedRunner : public ProcessRunner {
  public:
    std::map<std::string, ProcessResult> answers;
    std::vector<std::string> calls;
    std::vector<std::string> inputs;

    ProcessResult run(const std::vector<std::string>& argv, const std::string& input) override {
        std::string key;
        for (const auto& a : argv) {
            key += (key.empty() ? "" : " ") + a;
        }
        calls.push_back(key);
        inputs.push_back(input);
        const auto it = answers.find(key);
        return it == answers.end() ? ProcessResult{0, "", ""} : it->second;
    }
};

}  // namespace

TEST_CASE("iptables marks: an empty firewall gets the set, then the rule naming it") {
    const auto spec = spec_of({ip("10.0.0.1"), ip("10.0.0.2"), ip("2001:db8::1")}, {80, 443});
    const auto v4 = plan_iptables(spec, Family::inet, {});
    REQUIRE(v4.size() == 2);
    CHECK(v4[0].argv == std::vector<std::string>{"ipset", "restore"});
    CHECK(contains(v4[0].input, "create lvsctl-100-4 hash:ip family inet"));
    CHECK(contains(v4[0].input, "add lvsctl-100-4 10.0.0.1\n"));
    CHECK(contains(v4[0].input, "add lvsctl-100-4 10.0.0.2\n"));
    CHECK_FALSE(contains(v4[0].input, "2001:db8::1"));
    CHECK(v4[1].argv == std::vector<std::string>{"iptables-legacy-restore", "--noflush"});
    CHECK(v4[1].input == "*mangle\n" + iptables_rule(spec, "lvsctl-100-4") + "\nCOMMIT\n");
    CHECK(contains(v4[1].input, "--dports 80,443"));

    const auto v6 = plan_iptables(spec, Family::inet6, {});
    REQUIRE(v6.size() == 2);
    CHECK(contains(v6[0].input, "create lvsctl-100-6 hash:ip family inet6"));
    CHECK(v6[1].argv.front() == "ip6tables-legacy-restore");
}

TEST_CASE("iptables marks: a converged mark plans nothing; a changed set changes only the set") {
    const auto spec = spec_of({ip("10.0.0.1"), ip("10.0.0.2")});
    IptablesObserved now;
    now.members = std::set<IpAddress>{ip("10.0.0.1"), ip("10.0.0.2")};
    now.rules = {iptables_rule(spec, "lvsctl-100-4")};
    CHECK(plan_iptables(spec, Family::inet, now).empty());

    now.members = std::set<IpAddress>{ip("10.0.0.1"), ip("10.0.0.3")};
    const auto plan = plan_iptables(spec, Family::inet, now);
    REQUIRE(plan.size() == 1);
    CHECK(plan[0].input == "add lvsctl-100-4 10.0.0.2\ndel lvsctl-100-4 10.0.0.3\n");
    CHECK(plan[0].done == "ipset lvsctl-100-4: add 1, remove 1");
}

TEST_CASE("iptables marks: a changed rule is replaced in one transaction, old one deleted") {
    const auto old_spec = spec_of({ip("10.0.0.1")}, {80});
    const auto spec = spec_of({ip("10.0.0.1")}, {80, 8080});
    IptablesObserved now;
    now.members = std::set<IpAddress>{ip("10.0.0.1")};
    now.rules = {iptables_rule(old_spec, "lvsctl-100-4")};
    const auto plan = plan_iptables(spec, Family::inet, now);
    REQUIRE(plan.size() == 1);
    const auto& tx = plan[0].input;
    CHECK(tx.starts_with("*mangle\n-D PREROUTING -p tcp"));
    CHECK(contains(tx, "--dports 80 -m comment"));
    CHECK(contains(tx,
                   "-A PREROUTING -p tcp -m set --match-set lvsctl-100-4 dst -m multiport "
                   "--dports 80,8080"));
    CHECK(tx.ends_with("COMMIT\n"));
}

TEST_CASE("iptables marks: a family with nothing to mark loses its rule before its set") {
    const auto spec = spec_of({ip("10.0.0.1")});
    IptablesObserved now;
    now.members = std::set<IpAddress>{ip("2001:db8::1")};
    now.rules = {"-A PREROUTING -p tcp -m comment --comment lvsctl-fwmark-100 -j MARK"};
    const auto plan = plan_iptables(spec, Family::inet6, now);
    REQUIRE(plan.size() == 2);
    CHECK(plan[0].argv.front() == "ip6tables-legacy-restore");
    CHECK(plan[0].input ==
          "*mangle\n-D PREROUTING -p tcp -m comment --comment lvsctl-fwmark-100 -j MARK\nCOMMIT\n");
    CHECK(plan[1].argv == std::vector<std::string>{"ipset", "destroy", "lvsctl-100-6"});
    // Nothing there, nothing to do.
    CHECK(plan_iptables(spec, Family::inet6, {}).empty());
}

TEST_CASE("iptables marks: readers take only this mark's rules and the set's members") {
    const std::string save =
        "*mangle\n"
        ":PREROUTING ACCEPT [0:0]\n"
        "-A PREROUTING -p tcp -m comment --comment lvsctl-fwmark-100 -j MARK --set-xmark 0x64\n"
        "-A PREROUTING -p tcp -m comment --comment lvsctl-fwmark-1000 -j MARK --set-xmark 0x3e8\n"
        "-A PREROUTING -p tcp -j MARK --set-xmark 0x64/0xffffffff\n"
        "COMMIT\n";
    const auto rules = iptables_rules_of(save, 100);
    REQUIRE(rules.size() == 1);
    CHECK(contains(rules[0], "lvsctl-fwmark-100 "));
    CHECK(iptables_rules_of(save, 1000).size() == 1);
    CHECK(iptables_rules_of(save, 7).empty());

    const std::string ipset =
        "create lvsctl-100-4 hash:ip family inet hashsize 1024 maxelem 1048576\n"
        "add lvsctl-100-4 10.0.0.1\nadd lvsctl-100-4 10.0.0.2\nadd lvsctl-100-40 10.0.0.9\n";
    CHECK(ipset_members(ipset, "lvsctl-100-4") ==
          std::set<IpAddress>{ip("10.0.0.1"), ip("10.0.0.2")});
}

TEST_CASE("iptables marks: a retired mark's rules go, then its set") {
    IptablesObserved now;
    now.members = std::set<IpAddress>{ip("10.0.0.1")};
    now.rules = {"-A PREROUTING -m comment --comment lvsctl-fwmark-90 -j MARK"};
    const auto plan = plan_iptables_retired(90, Family::inet, now);
    REQUIRE(plan.size() == 2);
    CHECK(plan[0].argv.front() == "iptables-legacy-restore");
    CHECK(plan[1].argv == std::vector<std::string>{"ipset", "destroy", "lvsctl-90-4"});
    CHECK(plan_iptables_retired(90, Family::inet, {}).empty());
}

TEST_CASE("nft marks: an empty firewall gets table, set, chain and rule in one transaction") {
    const auto spec = spec_of({ip("10.0.0.2"), ip("10.0.0.1")}, {80, 443});
    const auto command = plan_nft(spec, {100}, Family::inet, NftTable{});
    REQUIRE(command);
    CHECK(command->argv == std::vector<std::string>{"nft", "-f", "-"});
    const auto& s = command->input;
    const auto table = s.find("add table ip lvsctl\n");
    const auto set = s.find("add set ip lvsctl web_100 { type ipv4_addr; }");
    const auto elements = s.find("add element ip lvsctl web_100 { 10.0.0.1, 10.0.0.2 }");
    const auto chain = s.find(
        "add chain ip lvsctl prerouting_100 { type filter hook prerouting "
        "priority mangle;");
    const auto rule = s.find(
        "add rule ip lvsctl prerouting_100 ip daddr @web_100 tcp dport "
        "{ 80, 443 } counter meta mark set 100 comment \"lvsctl-fwmark-100 "
        "tcp 80, 443\"");
    REQUIRE(table != std::string::npos);
    REQUIRE(set != std::string::npos);
    REQUIRE(elements != std::string::npos);
    REQUIRE(chain != std::string::npos);
    REQUIRE(rule != std::string::npos);
    CHECK(table < set);
    CHECK(set < elements);
    CHECK(elements < chain);
    CHECK(chain < rule);
    // No IPv6 website IP and no table: nothing to do in ip6.
    CHECK_FALSE(plan_nft(spec, {100}, Family::inet6, NftTable{}));
}

NftTable converged_table() {
    NftTable t;
    t.exists = true;
    t.sets["web_100"] = {ip("10.0.0.1")};
    t.chains["prerouting_100"] = {"lvsctl-fwmark-100 tcp 80"};
    return t;
}

TEST_CASE("nft marks: converged plans nothing; members and a changed rule are patched") {
    CHECK_FALSE(plan_nft(spec_of({ip("10.0.0.1")}), {100}, Family::inet, converged_table()));

    const auto members =
        plan_nft(spec_of({ip("10.0.0.2")}), {100}, Family::inet, converged_table());
    REQUIRE(members);
    CHECK(members->input ==
          "add element ip lvsctl web_100 { 10.0.0.2 }\n"
          "delete element ip lvsctl web_100 { 10.0.0.1 }\n");

    const auto ports =
        plan_nft(spec_of({ip("10.0.0.1")}, {8080}), {100}, Family::inet, converged_table());
    REQUIRE(ports);
    CHECK(
        ports->input.starts_with("flush chain ip lvsctl prerouting_100\nadd rule ip lvsctl "
                                 "prerouting_100 ip daddr @web_100 tcp dport { 8080 }"));
}

TEST_CASE("nft marks: another cluster's chain and set in the table are never touched") {
    auto table = converged_table();
    table.sets["web_200"] = {ip("10.0.0.9")};
    table.chains["prerouting_200"] = {"lvsctl-fwmark-200 tcp 80"};
    // This cluster has no IPv4 website IP any more: its own chain and set go, the table stays.
    const auto command = plan_nft(spec_of({ip("2001:db8::1")}), {100}, Family::inet, table);
    REQUIRE(command);
    CHECK(command->input ==
          "flush chain ip lvsctl prerouting_100\n"
          "delete chain ip lvsctl prerouting_100\n"
          "delete set ip lvsctl web_100\n");
    CHECK_FALSE(contains(command->input, "200"));
    // When it was the last thing in the table, the table goes whole.
    const auto last =
        plan_nft(spec_of({ip("2001:db8::1")}), {100}, Family::inet, converged_table());
    REQUIRE(last);
    CHECK(last->argv == std::vector<std::string>{"nft", "delete", "table", "ip", "lvsctl"});
}

TEST_CASE("nft marks: a new mark marks before the retired one stops, in one transaction") {
    auto spec = spec_of({ip("10.0.0.1")});
    spec.fwmark = 101;
    const auto command = plan_nft(spec, {100, 101}, Family::inet, converged_table());
    REQUIRE(command);
    const auto& s = command->input;
    const auto added = s.find("add rule ip lvsctl prerouting_101");
    const auto removed = s.find("delete chain ip lvsctl prerouting_100");
    REQUIRE(added != std::string::npos);
    REQUIRE(removed != std::string::npos);
    CHECK(added < removed);
    CHECK(contains(s, "delete set ip lvsctl web_100\n"));
}

TEST_CASE("nft marks: the legacy one-chain layout goes only when all its rules are ours") {
    auto table = converged_table();
    table.chains["prerouting"] = {"lvsctl-fwmark-100 tcp 80"};
    const auto ours = plan_nft(spec_of({ip("10.0.0.1")}), {100}, Family::inet, table);
    REQUIRE(ours);
    CHECK(ours->input == "flush chain ip lvsctl prerouting\ndelete chain ip lvsctl prerouting\n");

    table.chains["prerouting"].push_back("lvsctl-fwmark-200 tcp 80");
    CHECK_FALSE(plan_nft(spec_of({ip("10.0.0.1")}), {100}, Family::inet, table));
}

TEST_CASE("nft marks: the listing is read as nft prints it; anything else is a kernel error") {
    const auto table = parse_nft_table(
        R"({"nftables": [{"metainfo": {"version": "1.0.6"}},
            {"table": {"family": "ip", "name": "lvsctl"}},
            {"set": {"family": "ip", "name": "web_100", "table": "lvsctl", "type": "ipv4_addr",
                     "elem": ["10.0.0.1", "10.0.0.2"]}},
            {"chain": {"family": "ip", "table": "lvsctl", "name": "prerouting_100"}},
            {"rule": {"family": "ip", "table": "lvsctl", "chain": "prerouting_100",
                      "comment": "lvsctl-fwmark-100 tcp 80"}}]})",
        Family::inet);
    CHECK(table.exists);
    CHECK(table.sets.at("web_100") == std::set<IpAddress>{ip("10.0.0.1"), ip("10.0.0.2")});
    CHECK(table.chains.at("prerouting_100") ==
          std::vector<std::string>{"lvsctl-fwmark-100 tcp 80"});
    try {
        parse_nft_table("{\"nftables\": 3", Family::inet);
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::kernel);
        CHECK(contains(e.what(), "nft -j list table ip lvsctl"));
    }
}

TEST_CASE("marks runners: read, then change; a failing tool names its command and why") {
    ScriptedRunner runner;
    runner.answers["ipset save lvsctl-100-4"] = {1, "",
                                                 "The set with the given name does not exist"};
    runner.answers["ipset save lvsctl-100-6"] = {1, "",
                                                 "The set with the given name does not exist"};
    IptablesMarks marks(runner);
    const auto report = marks.apply(spec_of({ip("10.0.0.1")}), {});
    CHECK(runner.calls ==
          std::vector<std::string>{"ipset save lvsctl-100-4", "iptables-legacy-save -t mangle",
                                   "ipset restore", "iptables-legacy-restore --noflush",
                                   "ipset save lvsctl-100-6", "ip6tables-legacy-save -t mangle"});
    CHECK(report.commands == 6);
    CHECK(report.changing_commands == 2);
    CHECK(report.done.size() == 2);

    ScriptedRunner refusing;
    refusing.answers["nft -j list table ip lvsctl"] = {1, "", "No such file or directory"};
    refusing.answers["nft -j list table ip6 lvsctl"] = {1, "", "No such file or directory"};
    refusing.answers["nft -f -"] = {1, "",
                                    "Error: Could not process rule: Operation not permitted"};
    NftMarks nft(refusing);
    try {
        nft.apply(spec_of({ip("10.0.0.1")}), {});
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::permission);
        CHECK(contains(e.what(), "firewall marks: nft -f -: Error: Could not process rule"));
    }

    ScriptedRunner failing;
    failing.answers["iptables-legacy-save -t mangle"] = {3, "", "can't initialize iptables"};
    IptablesMarks broken(failing);
    try {
        broken.apply(spec_of({ip("10.0.0.1")}), {});
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::kernel);
        CHECK(contains(e.what(), "iptables-legacy-save -t mangle: can't initialize iptables"));
    }
    // Nothing was changed before the failing read.
    CHECK(failing.calls ==
          std::vector<std::string>{"ipset save lvsctl-100-4", "iptables-legacy-save -t mangle"});
}
