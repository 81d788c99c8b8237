// The run log (lvsctl_runs, docs/database.md) and the cluster reader, as `update` and `plan` use
// them: behind an interface, so that a run is unit-tested with an in-memory store.
// db::Database implements it against PostgreSQL.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "lvsctl/model.h"

namespace lvsctl {

// A run of the run log as the web view lists it (docs/web-view.md): lvsctl_runs without the report.
struct RunSummary {
    std::int64_t run_id = 0;
    std::int64_t serial = 0;  // 0 when the run had none
    std::chrono::system_clock::time_point started, finished;
    bool dry_run = false;
    std::string result;
};

// How many runs of one cluster ended with one result, and when the last of them finished.
struct RunCount {
    std::int64_t cluster_id = 0;
    std::string result;
    std::int64_t count = 0;
    std::chrono::system_clock::time_point last_finished;
};

class RunLog {
  public:
    virtual ~RunLog() = default;

    // Cluster `id`, read in one snapshot; Error(ExitCode::data) naming the row when a row does
    // not fit the model (validation is the caller's).
    virtual Cluster read_cluster(std::int64_t id) = 0;

    // The serial of the last run that was not a dry run, and the digest of the lvs.cf it
    // rendered, to number the next configuration.
    struct LastRun {
        std::int64_t serial = 0;
        std::string lvs_cf_digest;
    };
    virtual std::optional<LastRun> last_run(std::int64_t cluster_id) = 0;

    struct Run {
        std::int64_t cluster_id = 0;
        std::int64_t serial = 0;
        std::chrono::system_clock::time_point started, finished;
        bool dry_run = false;
        // "planned", "converged", "unchanged", "partial", "failed", or "invalid" (bad rows)
        std::string result;
        std::string report;  // the --json document
    };
    virtual std::int64_t record_run(const Run& run) = 0;  // returns run_id
};

}  // namespace lvsctl
