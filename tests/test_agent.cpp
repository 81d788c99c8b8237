// The whole of `agent apply` (lb/agent.h) over fakes that answer as the kernel, the firewall
// tools and the state directory do; each test reads the one journal all of them write to.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "fake_kernel.h"
#include "fixtures.h"
#include "lvsctl/error.h"
#include "lvsctl/lb/agent.h"
#include "lvsctl/lb/health_record.h"

using namespace lvsctl;
using lvsctl::testing::FakeAddresses;
using lvsctl::testing::FakeClock;
using lvsctl::testing::FakeKernel;
using lvsctl::testing::ip;

namespace {

using Journal = std::vector<std::string>;

class JournalKernel : public FakeKernel {
  public:
    explicit JournalKernel(Journal& j) : journal_(j) {}
    std::vector<int> apply(const std::vector<IpvsChange>& changes) override {
        journal_.push_back("ipvs " + changes.front().describe());
        return FakeKernel::apply(changes);
    }

  private:
    Journal& journal_;
};

class JournalAddresses : public FakeAddresses {
  public:
    explicit JournalAddresses(Journal& j) : journal_(j) {}
    std::vector<int> add(int ifindex, const std::vector<IpAddress>& ips) override {
        for (const auto& x : ips) {
            journal_.push_back("add " + x.str());
        }
        return FakeAddresses::add(ifindex, ips);
    }
    std::vector<int> remove(int ifindex, const std::vector<InterfaceAddress>& addrs) override {
        for (const auto& a : addrs) {
            journal_.push_back("remove " + a.address.str());
        }
        return FakeAddresses::remove(ifindex, addrs);
    }

  private:
    Journal& journal_;
};

// A firewall tool: which addresses it marks, per mark, and each apply in the journal as
// "mark TOOL MARK: IP IP..." (no IP: the mark's sets and rules removed).
class FakeMarks : public Marks {
  public:
    FakeMarks(Journal& j, std::string name) : journal_(j), name_(std::move(name)) {}
    std::map<std::uint32_t, std::vector<IpAddress>> marked;
    void check(const MarkSpec& spec) const override {
        if (name_ == "iptables" && spec.ports.size() > 15) {
            throw Error(ExitCode::data, "firewall marks: iptables' multiport takes 1 to 15 ports");
        }
    }
    MarkReport apply(const MarkSpec& spec, const std::vector<std::uint32_t>& retired) override {
        std::string line = fmt::format("mark {} {}:", name_, spec.fwmark);
        for (const auto& x : spec.website_ips) {
            line += " " + x.str();
        }
        journal_.push_back(line);
        marked[spec.fwmark] = spec.website_ips;
        if (spec.website_ips.empty()) {
            marked.erase(spec.fwmark);
        }
        for (auto m : retired) {
            if (m != spec.fwmark) {
                marked.erase(m);
            }
        }
        return {{line}, 1, 1};
    }

  private:
    Journal& journal_;
    std::string name_;
};

// The state directory: files by name; each write journalled with what it recorded.
class FakeRecords : public RecordStore {
  public:
    explicit FakeRecords(Journal& j) : journal_(j) {}
    std::map<std::string, std::string> files;
    std::vector<std::string> names() override {
        std::vector<std::string> out;
        for (const auto& [name, text] : files) {
            out.push_back(name);
        }
        return out;
    }
    std::vector<std::string> reads;  // every read, by name
    std::optional<std::string> read(const std::string& name) override {
        reads.push_back(name);
        const auto it = files.find(name);
        return it == files.end() ? std::nullopt : std::optional<std::string>(it->second);
    }
    void write(const std::string& name, const std::string& text) override {
        journal_.push_back("record " + name);
        files[name] = text;
    }
    void rename(const std::string& from, const std::string& to) override {
        journal_.push_back("rename " + from + " " + to);
        files[to] = files.at(from);
        files.erase(from);
    }
    std::string path(const std::string& name) const override { return "/var/lib/lvsctl/" + name; }

  private:
    Journal& journal_;
};

struct Lb {
    Journal journal;
    JournalKernel ipvs{journal};
    JournalAddresses addresses{journal};
    FakeMarks nft{journal, "nft"};
    FakeMarks iptables{journal, "iptables"};
    FakeClock clock;
    FakeRecords records{journal};
    Agent agent{ipvs, addresses, {nft, iptables, true}, clock, records};
    Lb() { addresses.interface("eth1"); }

    AgentResult apply(const LbDesiredState& desired, const std::string& marks = "") {
        journal.clear();
        return agent.apply(desired, {marks, false, 3600, 1000});
    }
    std::size_t at(const std::string& entry) const {
        const auto it = std::find(journal.begin(), journal.end(), entry);
        REQUIRE_MESSAGE(it != journal.end(), "not in the journal: " << entry);
        return static_cast<std::size_t>(it - journal.begin());
    }
    std::size_t first(const std::string& prefix) const {
        const auto it = std::find_if(journal.begin(), journal.end(),
                                     [&](const std::string& e) { return e.starts_with(prefix); });
        REQUIRE_MESSAGE(it != journal.end(), "nothing starts with: " << prefix);
        return static_cast<std::size_t>(it - journal.begin());
    }
};

LbDesiredState seed(std::vector<const char*> website_ips = {"10.39.84.131"}) {
    const auto cluster = lvsctl::testing::seed_cluster();
    auto d = desired_state(cluster, cluster.load_balancers[0], 0);
    d.website_ips.clear();
    for (const auto* x : website_ips) {
        d.website_ips.push_back(ip(x));
    }
    return d;
}

// Another cluster of the same LB: cluster `id`, marking with `fwmark`, with `website_ips`.
LbDesiredState other_cluster(std::int64_t id, std::uint32_t fwmark,
                             std::vector<const char*> website_ips) {
    auto d = seed(std::move(website_ips));
    d.cluster_id = id;
    d.fwmark = fwmark;
    for (auto& s : d.services) {
        s.fwmark = fwmark;
    }
    return d;
}

}  // namespace

TEST_CASE("agent: ownership is recorded before anything is created") {
    Lb lb;
    const auto result = lb.apply(seed());
    CHECK(result.code() == ExitCode::ok);
    CHECK(result.answer.changed);
    const auto recorded = lb.at("record agent-cluster-1.json");
    CHECK(recorded < lb.first("ipvs "));
    CHECK(recorded < lb.first("mark "));
    CHECK(recorded < lb.at("add 10.39.84.131"));
    // And it already named the service and the mark.
    const auto state = parse_agent_state(lb.records.files.at("agent-cluster-1.json"), "record");
    CHECK(state.marks == std::vector<std::uint32_t>{100});
    CHECK(state.vips == std::vector<IpAddress>{ip("10.39.84.131")});
    CHECK(lb.ipvs.table.size() == 1);
    CHECK(lb.nft.marked.at(100) == std::vector<IpAddress>{ip("10.39.84.131")});
}

TEST_CASE("agent: a new website IP is marked before its alias appears") {
    Lb lb;
    lb.apply(seed());
    const auto result = lb.apply(seed({"10.39.84.131", "10.39.84.132"}));
    CHECK(result.code() == ExitCode::ok);
    CHECK(lb.at("mark nft 100: 10.39.84.131 10.39.84.132") < lb.at("add 10.39.84.132"));
    CHECK(lb.addresses.has("eth1", ip("10.39.84.132")));
}

TEST_CASE("agent: an alias is removed before its mark") {
    Lb lb;
    lb.apply(seed({"10.39.84.131", "10.39.84.132"}));
    const auto result = lb.apply(seed({"10.39.84.131"}));
    CHECK(result.code() == ExitCode::ok);
    const auto removed = lb.at("remove 10.39.84.132");
    // Still marked while its alias is there; unmarked only after.
    CHECK(lb.at("mark nft 100: 10.39.84.131 10.39.84.132") < removed);
    CHECK(removed < lb.at("mark nft 100: 10.39.84.131"));
    CHECK_FALSE(lb.addresses.has("eth1", ip("10.39.84.132")));
}

TEST_CASE("agent: switching from nft to iptables removes nft's sets and rules first") {
    Lb lb;
    lb.apply(seed());
    REQUIRE(lb.nft.marked.contains(100));
    const auto result = lb.apply(seed(), "iptables");
    CHECK(result.code() == ExitCode::ok);
    CHECK(lb.at("mark nft 100:") < lb.at("mark iptables 100: 10.39.84.131"));
    CHECK_FALSE(lb.nft.marked.contains(100));
    CHECK(lb.iptables.marked.contains(100));
    CHECK(parse_agent_state(lb.records.files.at("agent-cluster-1.json"), "r").marks_via ==
          "iptables");
}

TEST_CASE("agent: a failed IPVS step leaves aliases and marks as they were") {
    Lb lb;
    lb.apply(seed());
    auto desired = seed({"10.39.84.132"});     // 131 goes, 132 comes
    desired.services[0].scheduler = "nosuch";  // the kernel has no such module: ENOENT
    const auto result = lb.apply(desired);
    CHECK(result.code() == ExitCode::kernel);
    CHECK(result.answer.errors.back() ==
          "marks and website IPs left as they were: the IPVS step failed");
    CHECK(std::none_of(lb.journal.begin(), lb.journal.end(), [](const std::string& e) {
        return e.starts_with("mark ") || e.starts_with("add ") || e.starts_with("remove ");
    }));
    CHECK(lb.addresses.has("eth1", ip("10.39.84.131")));
    CHECK_FALSE(lb.addresses.has("eth1", ip("10.39.84.132")));
    CHECK(lb.nft.marked.at(100) == std::vector<IpAddress>{ip("10.39.84.131")});
    // The record still names what the LB has, so the next run removes 131 once IPVS is right.
    const auto state = parse_agent_state(lb.records.files.at("agent-cluster-1.json"), "r");
    CHECK(state.vips == std::vector<IpAddress>{ip("10.39.84.131")});
    CHECK(lb.apply(seed({"10.39.84.132"})).code() == ExitCode::ok);
    CHECK_FALSE(lb.addresses.has("eth1", ip("10.39.84.131")));
    CHECK(lb.addresses.has("eth1", ip("10.39.84.132")));
}

TEST_CASE("agent: what another cluster's record owns is refused before anything changes") {
    Lb lb;
    lb.apply(seed());
    auto other = other_cluster(2, 200, {"10.39.84.131"});  // wants cluster 1's website IP
    lb.journal.clear();
    CHECK_THROWS_WITH_AS(lb.agent.apply(other, {"", false, 3600, 1000}),
                         doctest::Contains("cluster 1"), Error);
    CHECK(lb.journal.empty());
    CHECK_FALSE(lb.records.files.contains("agent-cluster-2.json"));
}

TEST_CASE("agent: a run that claims nothing new and retires nothing reads no other record") {
    Lb lb;
    auto other = other_cluster(2, 200, {"10.39.85.131"});
    CHECK(lb.apply(other).code() == ExitCode::ok);
    auto read_other = [&] {
        const auto& r = lb.records.reads;
        return std::find(r.begin(), r.end(), "agent-cluster-2.json") != r.end();
    };
    lb.records.reads.clear();
    CHECK(lb.apply(seed()).code() == ExitCode::ok);  // a new claim: checked against cluster 2
    CHECK(read_other());
    lb.records.reads.clear();
    CHECK(lb.apply(seed()).code() == ExitCode::ok);  // the same: its own record only
    CHECK_FALSE(read_other());
    // A new website IP is a new claim: it reads the others. One leaving is this record's own.
    lb.records.reads.clear();
    CHECK(lb.apply(seed({"10.39.84.131", "10.39.84.132"})).code() == ExitCode::ok);
    CHECK(read_other());
    lb.records.reads.clear();
    CHECK(lb.apply(seed({"10.39.84.131", "10.39.84.132"})).code() == ExitCode::ok);
    CHECK_FALSE(read_other());
    CHECK(lb.apply(seed()).code() == ExitCode::ok);
    CHECK(lb.addresses.has("eth1", ip("10.39.84.131")));
    CHECK_FALSE(lb.addresses.has("eth1", ip("10.39.84.132")));
    // Cluster 2's things are untouched throughout, and another cluster's claim is still refused.
    CHECK(lb.addresses.has("eth1", ip("10.39.85.131")));
    CHECK(lb.ipvs.table.size() == 2);
    auto thief = other_cluster(3, 300, {"10.39.84.131"});
    CHECK_THROWS_WITH_AS(lb.apply(thief), doctest::Contains("cluster 1"), Error);
}

TEST_CASE("agent: a spec the firewall tool cannot express changes nothing, IPVS included") {
    Lb lb;
    auto desired = seed();
    desired.ports.resize(16);
    for (std::size_t i = 0; i < desired.ports.size(); ++i) {
        desired.ports[i] = static_cast<std::uint16_t>(8000 + i);
    }
    CHECK_THROWS_AS(lb.apply(desired, "iptables"), Error);
    CHECK(lb.journal.empty());
    CHECK(lb.ipvs.table.empty());
}

TEST_CASE("agent: a corrupt record is moved aside, the run converges and says so") {
    Lb lb;
    lb.records.files["agent-cluster-1.json"] = R"({"version": 1, "services": [)";
    const auto result = lb.apply(seed());
    CHECK(result.code() == ExitCode::kernel);
    CHECK(result.answer.errors.at(0).starts_with(
        "record /var/lib/lvsctl/agent-cluster-1.json could not be read"));
    CHECK(lb.records.files.contains("agent-cluster-1.json.corrupt-1000"));
    CHECK(lb.addresses.has("eth1", ip("10.39.84.131")));
    CHECK(lb.apply(seed()).code() == ExitCode::ok);
}

TEST_CASE("agent: placed() shows one cluster's record, or every record") {
    Lb lb;
    lb.apply(seed());
    auto other = other_cluster(2, 200, {"10.39.85.1"});
    REQUIRE(lb.apply(other).code() == ExitCode::ok);
    std::vector<std::string> warnings;
    const auto one = lb.agent.placed(1, warnings);
    CHECK(one.website_ips == std::vector<IpAddress>{ip("10.39.84.131")});
    CHECK(one.marks == std::vector<std::uint32_t>{100});
    const auto all = lb.agent.placed(std::nullopt, warnings);
    CHECK(all.website_ips == std::vector<IpAddress>{ip("10.39.84.131"), ip("10.39.85.1")});
    CHECK(all.marks == std::vector<std::uint32_t>{100, 200});
    CHECK(all.interface == "eth1");
    CHECK(warnings.empty());
}

namespace {

// What a running monitor would have left: 10.39.84.43 down, 10.39.84.44 up at a load-raised 40.
HealthRecord monitor_record(std::int64_t updated) {
    HealthRecord r;
    r.cluster_id = 1;
    r.updated = updated;
    r.servers[ip("10.39.84.43")] = {Health::down, false, 32, 0, updated, false, "refused", 0, 1};
    r.servers[ip("10.39.84.44")] = {Health::up, true, 32, 40, updated, true, "", 2, 0};
    return r;
}

std::optional<std::uint32_t> weight_of(Lb& lb, const char* address) {
    const auto& dests = lb.ipvs.table.begin()->second.dests;
    const auto it = std::find_if(dests.begin(), dests.end(),
                                 [&](const DestInfo& d) { return d.key.address == ip(address); });
    return it == dests.end() ? std::nullopt : std::optional(it->settings.weight);
}

}  // namespace

TEST_CASE("agent: the monitor's verdicts hold: a server it took out stays out, its weights stay") {
    Lb lb;
    lb.records.files[health_record_name(1)] = to_json(monitor_record(990));
    const auto result = lb.apply(seed());
    CHECK(result.code() == ExitCode::ok);
    CHECK(result.warnings.empty());
    CHECK_FALSE(weight_of(lb, "10.39.84.43"));
    CHECK(weight_of(lb, "10.39.84.44") == 40u);
    // The document as received is left for the monitor, weights as the database has them.
    const auto left = parse_desired_state(lb.records.files.at(desired_record_name(1)));
    CHECK(left.services.at(0).destinations.size() == 2);
    CHECK(left.services.at(0).destinations.at(0).weight == 32);
}

TEST_CASE("agent: a record no monitor writes any more is ignored, with a warning") {
    Lb lb;
    lb.records.files[health_record_name(1)] = to_json(monitor_record(100));  // 900 s before
    const auto result = lb.apply(seed());
    CHECK(result.code() == ExitCode::ok);
    REQUIRE(result.warnings.size() == 1);
    CHECK(result.warnings[0].find("not written by a monitor since 100") != std::string::npos);
    CHECK(weight_of(lb, "10.39.84.43") == 32u);
    CHECK(weight_of(lb, "10.39.84.44") == 32u);

    lb.records.files[health_record_name(1)] = "{ not json";
    const auto corrupt = lb.apply(seed());
    CHECK(corrupt.code() == ExitCode::ok);
    REQUIRE(corrupt.warnings.size() == 1);
    CHECK(corrupt.warnings[0].find("not a health record") != std::string::npos);
}

TEST_CASE("health records: read back as written; a new server is not trusted; quiesce keeps it") {
    auto record = monitor_record(1000);
    CHECK(parse_health_record(to_json(record), "health") == record);
    CHECK_THROWS_AS(parse_health_record(R"({"version": 2})", "health"), Error);
    CHECK(is_current(record, 1000 + 3 * 20 + 60));
    CHECK_FALSE(is_current(record, 1000 + 3 * 20 + 61));

    auto cluster = lvsctl::testing::seed_cluster();
    Server added = cluster.servers[1];
    added.node_id = 45;
    added.mgmt_address = ip("10.39.94.45");
    added.address = ip("10.39.84.45");
    cluster.servers.push_back(added);
    auto desired = desired_state(cluster, cluster.load_balancers[0], 0);
    auto dests = with_health(desired, record).services.at(0).destinations;
    REQUIRE(dests.size() == 1);  // .43 down, .45 not checked yet
    CHECK(dests[0].address == ip("10.39.84.44"));
    CHECK(dests[0].weight == 40);

    desired.checks->quiesce = true;
    dests = with_health(desired, record).services.at(0).destinations;
    REQUIRE(dests.size() == 3);
    CHECK(dests[0].weight == 0);
    CHECK(dests[2].weight == 0);
    // An inactive server is 0 whatever the monitor says.
    cluster.servers[1].active = false;
    desired = desired_state(cluster, cluster.load_balancers[0], 0);
    dests = with_health(desired, record).services.at(0).destinations;
    REQUIRE(dests.size() == 1);
    CHECK(dests[0].weight == 0);
}

TEST_CASE("agent show: the monitors' records, each current or not by the LB's clock") {
    Lb lb;
    lb.records.files[health_record_name(1)] = to_json(monitor_record(990));
    auto other = monitor_record(100);
    other.cluster_id = 2;
    lb.records.files[health_record_name(2)] = to_json(other);
    lb.records.files[health_record_name(3)] = "{ not json";
    std::vector<std::string> warnings;

    const auto one = lb.agent.monitors(1, 1000, warnings);
    REQUIRE(one.size() == 1);
    CHECK(one[0].record == monitor_record(990));
    CHECK(one[0].current);
    CHECK(one[0].age == 10);
    CHECK(warnings.empty());
    CHECK(lb.agent.monitors(4, 1000, warnings).empty());  // no monitor ran for cluster 4

    const auto all = lb.agent.monitors(std::nullopt, 1000, warnings);
    REQUIRE(all.size() == 2);
    CHECK(all[1].record.cluster_id == 2);
    CHECK_FALSE(all[1].current);  // 900 s old
    CHECK(all[1].age == 900);
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].find("health-cluster-3.json: not a health record") != std::string::npos);

    // Through the document the management node reads, and back.
    const auto shown = parse_agent_show(agent_show_document({}, {}, all), "lb");
    REQUIRE(shown.monitors.size() == 2);
    CHECK(shown.monitors[0].record == all[0].record);
    CHECK(shown.monitors[1].current == false);
    CHECK(shown.monitors[1].age == 900);
    // An agent from before the monitor shows none.
    CHECK(parse_agent_show(R"({"version": 1, "interface": "eth1", "website_ips": [],
                               "marks": {"fwmarks": [], "via": ""}, "services": []})",
                           "lb")
              .monitors.empty());
}

TEST_CASE("agent: with VRRP it marks the website IPs but places none, and lets its own go") {
    Lb lb;
    lb.apply(seed({"10.39.84.131"}));  // before the cluster used VRRP: its own alias
    REQUIRE(lb.addresses.has("eth1", ip("10.39.84.131")));
    auto vrrp = seed({"10.39.84.131", "10.39.84.132"});
    vrrp.vrrp = true;
    const auto result = lb.apply(vrrp);
    CHECK(result.code() == ExitCode::ok);
    CHECK(lb.nft.marked.at(100) == std::vector<IpAddress>{ip("10.39.84.131"), ip("10.39.84.132")});
    CHECK_FALSE(lb.addresses.has("eth1", ip("10.39.84.131")));  // keepalived's from now on
    CHECK_FALSE(lb.addresses.has("eth1", ip("10.39.84.132")));
    CHECK(lb.at("remove 10.39.84.131") > lb.first("mark "));
    // keepalived adds them as MASTER: the agent no longer owns them and leaves them alone.
    lb.addresses.add(lb.addresses.interface("eth1"), {ip("10.39.84.131"), ip("10.39.84.132")});
    const auto again = lb.apply(vrrp);
    CHECK(again.code() == ExitCode::ok);
    CHECK(lb.addresses.has("eth1", ip("10.39.84.131")));
    CHECK(lb.addresses.has("eth1", ip("10.39.84.132")));
    CHECK(std::none_of(lb.journal.begin(), lb.journal.end(),
                       [](const std::string& e) { return e.starts_with("remove "); }));
    std::vector<std::string> warnings;
    CHECK(lb.agent.placed(1, warnings).website_ips.empty());
}

TEST_CASE("agent show: keepalived's VRRP states, each with its age by the LB's clock") {
    Lb lb;
    lb.records.files[vrrp_record_name(7)] =
        vrrp_state_document({7, "lvsctl_7", "MASTER", 150, 1000, 0});
    lb.records.files[vrrp_record_name(8)] = "{not json";
    std::vector<std::string> warnings;
    const auto all = lb.agent.vrrp_states(std::nullopt, 1030, warnings);
    REQUIRE(all.size() == 1);
    CHECK(all[0].state == "MASTER");
    CHECK(all[0].age == 30);
    CHECK(warnings.size() == 1);
    CHECK(lb.agent.vrrp_states(8, 1030, warnings).empty());
    const auto doc = agent_show_document({}, {}, {}, all, {{"master", "eth1", 7}});
    const auto shown = parse_agent_show(doc, "lb");
    REQUIRE(shown.vrrp.size() == 1);
    CHECK(shown.vrrp[0].priority == 150);
    CHECK(shown.vrrp[0].age == 30);
    CHECK(shown.sync_daemons == std::vector<SyncDaemon>{{"master", "eth1", 7}});
}

TEST_CASE(
    "numbers out of range in what hosts print are refused, never converted (fuzz_host_output)") {
    CHECK_THROWS_WITH_AS(
        parse_vrrp_state(R"({"cluster_id": 7, "instance": "lvsctl_7", "state": "MASTER",
                             "priority": 150, "since": 1.3e90})",
                         "vrrp-cluster-7.json"),
        doctest::Contains("since: not an integer in range"), Error);
    CHECK_THROWS_AS(parse_vrrp_state(R"({"cluster_id": 7, "instance": "i", "state": "MASTER",
                                         "priority": 150, "since": 1.5})",
                                     "x"),
                    Error);
    const auto doc = agent_show_document({}, {}, {}, {}, {{"master", "eth1", 7}});
    auto bad = doc;
    bad.replace(bad.find("\"sync_id\": 7"), 12, "\"sync_id\": 4294967296");
    CHECK_THROWS_WITH_AS(parse_agent_show(bad, "lb 10.0.0.1"),
                         doctest::Contains("sync_id: not an integer in range"), Error);
    CHECK_THROWS_AS(
        parse_agent_answer(R"({"changed": true, "errors": [], "ipvs": {"changes_sent": -1}})",
                           "lb 10.0.0.1"),
        Error);
}

TEST_CASE(
    "the firewall tool a fresh record names is taken on trust; --marks, --full or age probe") {
    AgentState record;
    record.marks_via = "iptables";
    record.last_full = 1000;
    record.digests[ServiceKey::fwmark_service(Family::inet, 100)] = "42";
    AgentSettings settings;
    settings.now = 1000 + 3599;
    CHECK(trusted_marks_via(record, settings) == std::optional<std::string>("iptables"));
    record.marks_via = "nft";
    CHECK(trusted_marks_via(record, settings) == std::optional<std::string>("nft"));

    auto probe = [&](auto change) {
        auto r = record;
        auto s = settings;
        change(r, s);
        return trusted_marks_via(r, s);
    };
    CHECK_FALSE(probe([](AgentState&, AgentSettings& s) { s.marks = "iptables"; }));
    CHECK_FALSE(probe([](AgentState&, AgentSettings& s) { s.full = true; }));
    CHECK_FALSE(probe([](AgentState&, AgentSettings& s) { s.now = 1000 + 3600; }));  // stale
    CHECK_FALSE(probe([](AgentState&, AgentSettings& s) { s.now = 999; }));  // a clock set back
    CHECK_FALSE(probe([](AgentState& r, AgentSettings&) { r.digests.clear(); }));  // no full run
    CHECK_FALSE(probe([](AgentState& r, AgentSettings&) { r.marks_via = ""; }));
}

TEST_CASE("agent: marks left converged are trusted: no firewall tool runs until they change") {
    Lb lb;
    lb.apply(seed());
    CHECK(lb.first("mark nft 100:") > 0);
    const auto digest = parse_agent_state(lb.records.files.at("agent-cluster-1.json"), "r");
    const auto d = seed();
    const MarkSpec spec{d.fwmark, d.protocol, d.ports, d.website_ips};
    CHECK(digest.marks_digest == marks_digest(spec, "nft"));
    CHECK(digest.marks_digest != marks_digest(spec, "iptables"));

    auto marks_run = [&] {
        return std::any_of(lb.journal.begin(), lb.journal.end(),
                           [](const std::string& e) { return e.starts_with("mark "); });
    };
    // Nothing changed, digests trusted: no firewall tool; the record keeps the digest.
    CHECK(lb.apply(seed()).code() == ExitCode::ok);
    CHECK_FALSE(marks_run());
    CHECK(parse_agent_state(lb.records.files.at("agent-cluster-1.json"), "r").marks_digest ==
          digest.marks_digest);

    // A mark removed by hand is not seen by a trusting run, and is repaired by a full one.
    lb.nft.marked.erase(100);
    lb.journal.clear();
    CHECK(lb.agent.apply(seed(), {"", true, 3600, 1000}).code() == ExitCode::ok);
    CHECK(marks_run());
    CHECK(lb.nft.marked.at(100) == std::vector<IpAddress>{ip("10.39.84.131")});

    // Ports, website IPs or the tool changed: the marks are applied.
    auto ports = seed();
    ports.ports = {80, 443};
    lb.apply(ports);
    CHECK(marks_run());
    lb.apply(ports);
    CHECK_FALSE(marks_run());
    lb.apply(seed({"10.39.84.131", "10.39.84.132"}));
    CHECK(marks_run());
    lb.apply(seed({"10.39.84.131", "10.39.84.132"}), "iptables");
    CHECK(lb.first("mark iptables 100:") > lb.first("mark nft 100:"));

    // A record without the digest (an older version, or a run that died before the marks):
    // they are read and applied.
    auto record = parse_agent_state(lb.records.files.at("agent-cluster-1.json"), "r");
    record.marks_digest.clear();
    lb.records.files["agent-cluster-1.json"] = to_json(record);
    lb.apply(seed({"10.39.84.131", "10.39.84.132"}), "iptables");
    CHECK(marks_run());
}

TEST_CASE("agent: a kernel that lost the cluster's services (a reboot) has its marks repaired") {
    Lb lb;
    lb.apply(seed());
    auto marks_run = [&] {
        return std::any_of(lb.journal.begin(), lb.journal.end(),
                           [](const std::string& e) { return e.starts_with("mark "); });
    };
    CHECK(lb.apply(seed()).code() == ExitCode::ok);
    CHECK_FALSE(marks_run());  // trusted while IPVS has the services
    // A reboot: IPVS and the marks gone, the record still there. The run is not a full one.
    lb.ipvs.table.clear();
    lb.nft.marked.clear();
    CHECK(lb.apply(seed()).code() == ExitCode::ok);
    CHECK(marks_run());
    CHECK(lb.nft.marked.at(100) == std::vector<IpAddress>{ip("10.39.84.131")});
    CHECK_FALSE(lb.ipvs.table.empty());
    // Then trusted again.
    CHECK(lb.apply(seed()).code() == ExitCode::ok);
    CHECK_FALSE(marks_run());
}

TEST_CASE("agent: a run whose IPVS step fails leaves no marks digest to trust") {
    Lb lb;
    lb.apply(seed());
    auto broken = seed();
    broken.services[0].scheduler = "nosuch";  // ENOENT from the kernel
    CHECK(lb.apply(broken).code() == ExitCode::kernel);
    CHECK(parse_agent_state(lb.records.files.at("agent-cluster-1.json"), "r").marks_digest.empty());
    // So the next run reads the marks again, and repairs one removed meanwhile.
    lb.nft.marked.erase(100);
    CHECK(lb.apply(seed()).code() == ExitCode::ok);
    CHECK(lb.nft.marked.at(100) == std::vector<IpAddress>{ip("10.39.84.131")});
}
