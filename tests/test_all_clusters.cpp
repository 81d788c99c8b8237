// update --all's pure part (manage/all_clusters.h): the summary lines, the worst exit code, the
// --json document, and running every cluster at most N at once with a fake runner.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "lvsctl/error.h"
#include "lvsctl/manage/all_clusters.h"

using namespace lvsctl;

namespace {

ClusterOutcome outcome(std::int64_t id, const std::string& name) {
    ClusterOutcome o;
    o.cluster = {id, name};
    return o;
}

ClusterOutcome converged(std::int64_t id, std::size_t changes) {
    auto o = outcome(id, "C" + std::to_string(id));
    o.changed = changes > 0;
    o.pending = changes > 0;
    o.changes = changes;
    return o;
}

ClusterOutcome skipped(std::int64_t id) {
    auto o = outcome(id, "C" + std::to_string(id));
    o.skipped = true;
    return o;
}

ClusterOutcome failed(std::int64_t id, ExitCode code, std::vector<std::string> errors) {
    auto o = outcome(id, "C" + std::to_string(id));
    o.code = code;
    o.errors = std::move(errors);
    return o;
}

}  // namespace

TEST_CASE("update --all: one summary line per cluster") {
    auto shop = outcome(7, "Shop");
    CHECK(summary_line(shop) == "cluster 7 (Shop): nothing to do");
    shop.changed = shop.pending = true;
    shop.changes = 3;
    CHECK(summary_line(shop) == "cluster 7 (Shop): converged, 3 changes");
    shop.changes = 1;
    CHECK(summary_line(shop) == "cluster 7 (Shop): converged, 1 change");
    CHECK(cluster_status(shop) == "converged");

    shop.skipped = true;
    CHECK(summary_line(shop) == "cluster 7 (Shop): skipped: another lvsctl holds its lock");
    CHECK(cluster_status(shop) == "skipped");

    auto partial =
        failed(8, ExitCode::partial, {"lb 10.0.0.1: add service FWM 100: Operation not permitted"});
    partial.changed = true;
    CHECK(summary_line(partial) ==
          "cluster 8 (C8): FAILED (exit 3): lb 10.0.0.1: add service FWM 100: Operation not "
          "permitted");
    CHECK(cluster_status(partial) == "partial");
    partial.errors.push_back("web 10.0.0.2: lost");
    partial.errors.push_back("web 10.0.0.3: lost");
    CHECK(summary_line(partial) ==
          "cluster 8 (C8): FAILED (exit 3): lb 10.0.0.1: add service FWM 100: Operation not "
          "permitted (and 2 more errors)");

    const auto invalid = failed(9, ExitCode::data, {"h2e_clusters cluster_id=9: column fwmark: 0"});
    CHECK(summary_line(invalid) ==
          "cluster 9 (C9): FAILED (exit 65): h2e_clusters cluster_id=9: column fwmark: 0");
    CHECK(cluster_status(invalid) == "invalid");
    CHECK(cluster_status(failed(9, ExitCode::unreachable, {})) == "failed");
    CHECK(summary_line(failed(9, ExitCode::unreachable, {})) == "cluster 9 (C9): FAILED (exit 68)");

    // A message of several lines (validation names every bad row) stays on the one line, and
    // the cluster is not named twice.
    const auto rows = failed(2, ExitCode::data,
                             {"cluster 2: invalid data:\n  apache_h2e_nodes node_id=24: column "
                              "address_v6: none\n  apache_h2e_nodes node_id=25: column address_v6: "
                              "none\n"});
    CHECK(summary_line(rows) ==
          "cluster 2 (C2): FAILED (exit 65): invalid data: apache_h2e_nodes node_id=24: column "
          "address_v6: none; apache_h2e_nodes node_id=25: column address_v6: none");
    auto two = failed(3, ExitCode::partial, {"web 10.0.0.2: lost", "web 10.0.0.3: lost"});
    CHECK(summary_line(two) ==
          "cluster 3 (C3): FAILED (exit 3): web 10.0.0.2: lost (and 1 more error)");

    // A cluster whose name was never read.
    CHECK(summary_line(outcome(10, "")) == "cluster 10: nothing to do");
}

TEST_CASE("update --all --dry-run: pending changes are not a failure, even with exit 2") {
    auto plan = converged(4, 2);
    plan.changed = false;
    plan.dry_run = true;
    plan.code = ExitCode::changes_pending;
    CHECK(summary_line(plan) == "cluster 4 (C4): 2 changes pending");
    CHECK(cluster_status(plan) == "planned");
    auto none = converged(5, 0);
    none.dry_run = true;
    CHECK(summary_line(none) == "cluster 5 (C5): nothing to do");
    CHECK(totals_line({plan, none}) == "2 clusters: 1 with changes pending, 1 nothing to do");
}

TEST_CASE("update --all: the totals line") {
    CHECK(totals_line({}) == "no clusters in the database");
    CHECK(totals_line({converged(1, 3)}) == "1 cluster: 1 converged");
    CHECK(totals_line({converged(1, 3), converged(2, 0), skipped(3),
                       failed(4, ExitCode::partial, {"x"}), failed(5, ExitCode::data, {"y"})}) ==
          "5 clusters: 1 converged, 1 nothing to do, 1 skipped, 2 failed");
}

TEST_CASE("update --all: the exit code is the worst cluster's; a skipped cluster is no failure") {
    CHECK(worst_exit_code({}) == ExitCode::ok);
    CHECK(worst_exit_code({converged(1, 1), skipped(2)}) == ExitCode::ok);
    // Even a skipped outcome carrying a code does not count.
    auto odd = skipped(3);
    odd.code = ExitCode::lock_busy;
    CHECK(worst_exit_code({odd}) == ExitCode::ok);

    auto pending = converged(1, 1);
    pending.code = ExitCode::changes_pending;
    CHECK(worst_exit_code({converged(2, 0), pending}) == ExitCode::changes_pending);
    CHECK(worst_exit_code({pending, failed(2, ExitCode::unreachable, {})}) ==
          ExitCode::unreachable);
    CHECK(worst_exit_code({failed(1, ExitCode::partial, {}),
                           failed(2, ExitCode::unreachable, {})}) == ExitCode::partial);
    CHECK(worst_exit_code({failed(1, ExitCode::partial, {}), failed(2, ExitCode::data, {})}) ==
          ExitCode::data);
    CHECK(worst_exit_code({failed(1, ExitCode::config, {}), failed(2, ExitCode::data, {})}) ==
          ExitCode::config);
    CHECK(worst_exit_code({failed(1, ExitCode::internal, {}), failed(2, ExitCode::config, {})}) ==
          ExitCode::internal);

    // The whole order, from success to a bug (docs/exit-codes.md).
    const std::vector<ExitCode> order = {
        ExitCode::ok,        ExitCode::changes_pending, ExitCode::unreachable, ExitCode::partial,
        ExitCode::lock_busy, ExitCode::db_unavailable,  ExitCode::kernel,      ExitCode::permission,
        ExitCode::data,      ExitCode::usage,           ExitCode::config,      ExitCode::internal};
    for (std::size_t i = 1; i < order.size(); ++i) {
        CAPTURE(static_cast<int>(order[i]));
        CHECK(severity(order[i - 1]) < severity(order[i]));
        CHECK(worst_exit_code({failed(1, order[i - 1], {}), failed(2, order[i], {})}) == order[i]);
        CHECK(worst_exit_code({failed(1, order[i], {}), failed(2, order[i - 1], {})}) == order[i]);
    }
}

TEST_CASE("update --all --json: one document, each cluster's update document with its status") {
    auto ran = converged(1, 2);
    ran.document = R"({"cluster": {"id": 1, "name": "C1", "serial": 4}, "backend": "ipvs",
                       "dry_run": false, "pending": true, "changed": true, "hosts": [],
                       "exit_code": 0, "lvs_cf_digest": "abc"})";
    const auto doc = nlohmann::json::parse(all_clusters_document(
        {ran, skipped(2), failed(3, ExitCode::data, {"h2e_clusters cluster_id=3: bad"})}, false,
        ExitCode::data));
    CHECK(doc["dry_run"] == false);
    CHECK(doc["changed"] == true);
    CHECK(doc["exit_code"] == 65);
    REQUIRE(doc["clusters"].size() == 3);

    const auto& first = doc["clusters"][0];
    CHECK(first["cluster"] == nlohmann::json({{"id", 1}, {"name", "C1"}, {"serial", 4}}));
    CHECK(first["status"] == "converged");
    CHECK(first["skipped"] == false);
    CHECK(first["backend"] == "ipvs");
    CHECK(first["hosts"].is_array());
    CHECK(first["lvs_cf_digest"] == "abc");
    CHECK(first["exit_code"] == 0);

    const auto& second = doc["clusters"][1];
    CHECK(second == nlohmann::json({{"cluster", {{"id", 2}, {"name", "C2"}}},
                                    {"status", "skipped"},
                                    {"skipped", true},
                                    {"changed", false},
                                    {"errors", nlohmann::json::array()},
                                    {"exit_code", 0}}));
    const auto& third = doc["clusters"][2];
    CHECK(third["status"] == "invalid");
    CHECK(third["errors"] == nlohmann::json::array({"h2e_clusters cluster_id=3: bad"}));
    CHECK(third["exit_code"] == 65);

    // A dry run's cluster with pending changes and --detailed-exitcode: its exit code is 2, as
    // `plan --cluster-id` would exit, though update's own document says 0.
    auto plan = converged(4, 1);
    plan.changed = false;
    plan.dry_run = true;
    plan.code = ExitCode::changes_pending;
    plan.document = R"({"cluster": {"id": 4, "name": "C4", "serial": 1}, "exit_code": 0})";
    const auto dry =
        nlohmann::json::parse(all_clusters_document({plan}, true, ExitCode::changes_pending));
    CHECK(dry["dry_run"] == true);
    CHECK(dry["changed"] == false);
    CHECK(dry["clusters"][0]["status"] == "planned");
    CHECK(dry["clusters"][0]["exit_code"] == 2);
    CHECK(dry["exit_code"] == 2);
}

namespace {

// Runs each cluster after a delay of its own, counting how many run at once; cluster 3 throws.
class FakeRunner : public ClusterRunner {
  public:
    std::map<std::int64_t, int> delay_ms;
    std::atomic<int> running{0};
    std::atomic<int> most{0};
    std::atomic<int> calls{0};
    ClusterOutcome run(const ClusterRef& cluster) override {
        ++calls;
        const int now = ++running;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms[cluster.id]));
        --running;
        if (cluster.id == 3) {
            throw Error(ExitCode::data, "h2e_clusters cluster_id=3: no such cluster");
        }
        if (cluster.id == 4) {
            throw std::runtime_error("boom");
        }
        auto o = converged(cluster.id, 1);
        o.cluster.name = "";  // the run did not name it: the list's name stays
        return o;
    }
};

std::vector<ClusterRef> refs(int n) {
    std::vector<ClusterRef> out;
    for (int i = 1; i <= n; ++i) {
        out.push_back({i, "c" + std::to_string(i)});
    }
    return out;
}

}  // namespace

TEST_CASE("update --all runs every cluster once, at most N at once, reported in order") {
    for (const std::size_t parallel : {1U, 3U}) {
        CAPTURE(parallel);
        FakeRunner runner;
        // The later clusters finish first: the lines still come in the list's order.
        for (int i = 1; i <= 8; ++i) {
            runner.delay_ms[i] = 5 * (9 - i);
        }
        std::vector<std::int64_t> reported;
        const auto outcomes =
            AllClusters(runner, parallel).run(refs(8), false, [&](const ClusterOutcome& o) {
                reported.push_back(o.cluster.id);
            });
        CHECK(runner.calls == 8);
        CHECK(runner.most <= static_cast<int>(parallel));
        if (parallel > 1) {
            CHECK(runner.most > 1);
        }
        CHECK(reported == std::vector<std::int64_t>{1, 2, 3, 4, 5, 6, 7, 8});
        REQUIRE(outcomes.size() == 8);
        // A cluster that throws is that cluster's failure, with its code; the others ran.
        CHECK(outcomes[2].code == ExitCode::data);
        CHECK(outcomes[2].errors ==
              std::vector<std::string>{"h2e_clusters cluster_id=3: no such cluster"});
        CHECK(outcomes[2].cluster.name == "c3");
        CHECK(outcomes[3].code == ExitCode::internal);
        CHECK(outcomes[3].errors == std::vector<std::string>{"internal error: boom"});
        CHECK(outcomes[0].cluster.name == "c1");
        CHECK(outcomes[7].code == ExitCode::ok);
        CHECK(worst_exit_code(outcomes) == ExitCode::internal);
    }
}

TEST_CASE("update --all with no clusters: nothing run, exit 0") {
    FakeRunner runner;
    const auto outcomes = AllClusters(runner, 4).run({}, false, {});
    CHECK(outcomes.empty());
    CHECK(runner.calls == 0);
    CHECK(worst_exit_code(outcomes) == ExitCode::ok);
}
