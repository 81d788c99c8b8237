// One `update` or `plan` of a cluster, from the run log's side (docs/commands.md, "update"):
// read and validate the cluster (a bad row: logged as an invalid run, nothing touched), number
// its configuration (the serial goes up only when the rendered lvs.cf changes), run the Updater,
// and record the run, but only while the cluster's lock is still held.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "lvsctl/manage/run_log.h"
#include "lvsctl/manage/update.h"

namespace lvsctl {

// The rendered configurations (templates/: lvs.cf, keepalived.conf), given as functions so
// that this module needs no template engine. Each may throw Error(ExitCode::data) for a cluster
// it cannot render safely.
struct ConfigRender {
    std::function<std::string(const Cluster&)> lvs_cf;
    std::function<std::string(const Cluster&)> keepalived;
};

// The hosts' environment, made once the files the backends upload are rendered.
using EnvironmentFactory =
    std::function<std::unique_ptr<UpdateEnvironment>(std::string lvs_cf, std::string keepalived)>;

struct RunRequest {
    std::int64_t cluster_id = 0;
    bool dry_run = false;
    UpdateSettings settings;
    std::optional<Cluster> cluster;  // instead of the log's (server remove: without the server)
    std::string note;                // shown first, e.g. the hook's database change
};

struct RunOutcome {
    Cluster cluster;  // as run, with its serial
    UpdateResult result;
    ExitCode code = ExitCode::ok;
    std::string document;                   // the --json document, the run log's report
    std::optional<std::string> unrecorded;  // why the run is not in the log
};

// "planned", "converged", "unchanged", "partial" or "failed": the run log's result of a run.
std::string run_result(bool dry_run, ExitCode code, bool changed);

// Throws Error for a cluster that cannot be run (bad rows: ExitCode::data, recorded as an
// "invalid" run first); a database lost mid-run is not thrown but reported in the outcome (69,
// unrecorded), since the hosts may have changed.
RunOutcome run_cluster(RunLog& log, RunGuard& guard, const ConfigRender& render,
                       const EnvironmentFactory& environment, const RunRequest& request);

}  // namespace lvsctl
