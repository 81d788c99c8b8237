// `update` and `plan`, and the step every hook runs after its database change: read cluster N,
// validate, number the configuration, reach the hosts, print the plan, apply it (lvsctl/update.h),
// and record the run in lvsctl_runs. The caller holds the cluster's lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "db/database.h"
#include "lvsctl/api/engine.h"
#include "lvsctl/cli/app.h"
#include "lvsctl/lvsctl.h"
#include "lvsctl/manage/run.h"
#include "lvsctl/manage/update.h"
#include "lvsctl/model.h"

namespace lvsctl::cli {

// One run of the engine (lvsctl/api/engine.h), as the hooks and `update --all` run it with a
// database session of their own.
using ConvergeOptions = engine::ConvergeOptions;
using Converged = engine::Converged;

// Runs and prints (print_result): the hooks' update, on the session that holds the lock.
int converge(Context& ctx, db::Database& database, const ConvergeOptions& options);

// Throws what run_cluster() throws (bad rows, a template, the database before the run).
Converged run_converge(const Context& ctx, db::Database& database, const ConvergeOptions& options);

// `plan` and `update` of one cluster, through the public API (api::Connection): the progress
// line, the run, the result printed.
int converge_api(Context& ctx, std::int64_t cluster_id, const api::UpdateOptions& options);

// A hook through the public API: `call` runs it on a Connection opened with the global options
// and the progress line; prints as hook_done() does. Returns the exit code.
int hook_api(Context& ctx, std::int64_t cluster_id,
             const std::function<api::HookResult(api::Connection&)>& call);

// `update --all` and `plan --all` (lvsctl/manage/all_clusters.h): every cluster of the database,
// `clusters_parallel` at once, each with a database session of its own and, unless `dry_run`,
// the cluster's lock taken without waiting (a cluster another lvsctl holds is skipped). Prints
// one line per cluster and a total (or, with --json, one document); returns the worst exit code.
struct ConvergeAllOptions {
    bool dry_run = false;
    bool detailed_exitcode = false;
    std::uint32_t drain_timeout = 30;
    std::size_t clusters_parallel = 4;
};
int converge_all(Context& ctx, const ConvergeAllOptions& options);

// What a hook's run converges: every host, as `update` does, or the LBs only (`server set`: a
// weight or activity matters to the LBs alone; docs/commands.md, "Hooks").
enum class HookScope { all_hosts, lbs_only };

// What a hook runs once its database change is committed, under the lock it still holds:
// `update` of the cluster (of its LBs only with HookScope::lbs_only), printed after `what`; with
// `no_update`, `what` alone (text, or JSON with --json) and a note that the hosts were not
// changed.
int hook_done(Context& ctx, db::Database& database, std::int64_t cluster_id, bool no_update,
              const std::string& what, HookScope scope = HookScope::all_hosts);

// `server remove` after the database row is gone: the cluster's website IPs leave the server's
// lo (what lvsctl recorded there). Returns the exit code; failures on stderr.
int clean_web_server(Context& ctx, const Server& server, std::int64_t cluster_id);

}  // namespace lvsctl::cli
