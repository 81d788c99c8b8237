// One update or plan from the run log's side (manage/run.h), over an in-memory run log and fake
// hosts: the serial, the results recorded, bad rows, and a run that lost its lock.
#include <doctest/doctest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "fake_host.h"
#include "fixtures.h"
#include "lvsctl/error.h"
#include "lvsctl/manage/backends.h"
#include "lvsctl/manage/documents.h"
#include "lvsctl/manage/run.h"
#include "lvsctl/protocol/agent_documents.h"

using namespace lvsctl;
using lvsctl::testing::FakeConnector;
using lvsctl::testing::ip;

namespace {

class MemoryRunLog : public RunLog {
  public:
    std::map<std::int64_t, Cluster> clusters;
    std::vector<Run> runs;
    Cluster read_cluster(std::int64_t id) override {
        const auto it = clusters.find(id);
        if (it == clusters.end()) {
            throw Error(ExitCode::data,
                        "h2e_clusters cluster_id=" + std::to_string(id) + ": no such cluster");
        }
        return it->second;
    }
    std::optional<LastRun> last_run(std::int64_t cluster_id) override {
        for (auto it = runs.rbegin(); it != runs.rend(); ++it) {
            if (it->cluster_id == cluster_id && !it->dry_run && it->result != "invalid") {
                const auto doc = nlohmann::json::parse(it->report);
                return LastRun{it->serial, doc.at("lvs_cf_digest").get<std::string>()};
            }
        }
        return std::nullopt;
    }
    std::int64_t record_run(const Run& run) override {
        runs.push_back(run);
        return static_cast<std::int64_t>(runs.size());
    }
};

class Guard : public RunGuard {
  public:
    bool lost = false;
    void check() override {
        if (lost) {
            throw Error(ExitCode::db_unavailable, "cluster 1: the database session was lost");
        }
    }
};

class Environment : public UpdateEnvironment {
  public:
    explicit Environment(FakeConnector& hosts) : hosts_(hosts) {}
    Connector& connector() override { return hosts_; }
    bool needs_ssh(const Cluster&) const override { return true; }
    std::unique_ptr<LbBackend> backend(const Cluster&, const LoadBalancer&, Transport* host,
                                       const std::string& name) override {
        return std::make_unique<AgentBackend>(*host, name, "lvsctl");
    }

  private:
    FakeConnector& hosts_;
};

struct Setup {
    MemoryRunLog log;
    Guard guard;
    FakeConnector hosts;
    // lvs.cf as far as the serial cares: it names the servers' weights.
    ConfigRender render{[](const Cluster& c) {
                            std::string text = "serial " + std::to_string(c.serial);
                            for (const auto& s : c.servers) {
                                text += " " + std::to_string(s.weight);
                            }
                            return text;
                        },
                        [](const Cluster&) { return std::string(); }};
    Setup() {
        log.clusters[1] = lvsctl::testing::seed_cluster();
        auto& lb = hosts.hosts[ip("10.39.94.41")];
        lb.agent_show = agent_show_document({}, {"eth1", {}, {}, ""});
        lb.agent_answer = R"({"changed": true, "errors": [], "done": ["add service FWM 100"]})";
        hosts.hosts[ip("10.39.94.43")];
        hosts.hosts[ip("10.39.94.44")];
    }
    RunOutcome run(bool dry_run = false) {
        RunRequest request;
        request.cluster_id = 1;
        request.dry_run = dry_run;
        return run_cluster(
            log, guard, render,
            [&](std::string, std::string) { return std::make_unique<Environment>(hosts); },
            request);
    }
};

}  // namespace

TEST_CASE("run: the serial goes up only when lvs.cf changes; each run is recorded") {
    Setup s;
    auto out = s.run(true);
    CHECK(out.code == ExitCode::ok);
    CHECK(s.log.runs.back().result == "planned");
    CHECK(s.log.runs.back().dry_run);

    out = s.run();
    CHECK(out.code == ExitCode::ok);
    CHECK(out.cluster.serial == 1);
    CHECK(s.log.runs.back().result == "converged");
    CHECK(s.log.runs.back().report == out.document);

    s.hosts.hosts[ip("10.39.94.41")].agent_answer = R"({"changed": false, "errors": []})";
    out = s.run();
    CHECK(out.cluster.serial == 1);  // the same lvs.cf
    CHECK(s.log.runs.back().serial == 1);

    s.log.clusters[1].servers[0].weight = 16;
    out = s.run();
    CHECK(out.cluster.serial == 2);
    CHECK(s.log.runs.size() == 4);
}

TEST_CASE("run: bad rows are an invalid run, and no host is contacted") {
    Setup s;
    s.log.clusters[1].servers[1].address = ip("2001:db8::44");
    CHECK_THROWS_WITH_AS(s.run(), doctest::Contains("apache_h2e_nodes node_id=44"), Error);
    REQUIRE(s.log.runs.size() == 1);
    CHECK(s.log.runs[0].result == "invalid");
    CHECK(s.log.runs[0].report.find("is not an IPv4 address") != std::string::npos);
    CHECK(s.hosts.journal.entries.empty());
}

TEST_CASE("run: a host that fails is a partial run, recorded so") {
    Setup s;
    s.hosts.hosts.erase(ip("10.39.94.44"));
    const auto out = s.run();
    CHECK(out.code == ExitCode::partial);
    CHECK(s.log.runs.back().result == "partial");
}

TEST_CASE("run: a run whose lock is gone stops and records nothing") {
    Setup s;
    s.guard.lost = true;
    const auto out = s.run();
    CHECK(out.code == ExitCode::db_unavailable);
    REQUIRE(out.unrecorded);
    CHECK(out.unrecorded->find("this run is not in lvsctl_runs") != std::string::npos);
    CHECK(s.log.runs.empty());
    CHECK(nlohmann::json::parse(out.document).at("exit_code") == 69);
    // Stopped before any change: no host was changed, the LB's agent never ran.
    CHECK(s.hosts.hosts[ip("10.39.94.41")].agent_input.empty());
}

TEST_CASE("run: the LBs only: the report lists the LBs, its note the hook's and the run's") {
    Setup s;  // the LB has nothing yet: every website IP and server is new to it
    RunRequest request;
    request.cluster_id = 1;
    request.settings.lbs_only = true;
    request.note = "apache_h2e_nodes node_id=44: set weight=10";
    const auto out = run_cluster(
        s.log, s.guard, s.render,
        [&](std::string, std::string) { return std::make_unique<Environment>(s.hosts); }, request);
    CHECK(out.code == ExitCode::ok);
    const auto doc = nlohmann::json::parse(s.log.runs.back().report);
    REQUIRE(doc.at("hosts").size() == 1);
    CHECK(doc["hosts"][0]["host"] == "lb 10.39.94.41");
    CHECK(doc.at("note") ==
          "apache_h2e_nodes node_id=44: set weight=10; the LBs only: the web servers were "
          "neither read nor changed (lvsctl update checks and repairs them); lb 10.39.94.41: "
          "held back until lvsctl update has checked the web servers: new website IP "
          "10.39.84.131; new servers 10.39.84.43, 10.39.84.44");
    CHECK(s.hosts.journal.entries == std::vector<std::string>{"10.39.94.41: agent show",
                                                              "10.39.94.41: agent show",
                                                              "10.39.94.41: agent apply"});
}
