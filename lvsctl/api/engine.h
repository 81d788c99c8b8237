// The engine behind the public API (include/lvsctl/lvsctl.h) and the CLI alike: the real hosts
// (SSH, the backends, the templates) and one run of `update` / `plan` of a cluster. Internal:
// the facade (lvsctl/api/connection.cpp) runs everything through it; the CLI includes it for the
// option conversions and for tests.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "db/database.h"
#include "lvsctl/error.h"
#include "lvsctl/lvsctl.h"
#include "lvsctl/manage/progress.h"
#include "lvsctl/manage/run.h"
#include "lvsctl/manage/update.h"
#include "lvsctl/model.h"
#include "lvsctl/settings.h"

namespace lvsctl::engine {

// What every run needs besides the database: the global options, and the templates' directory
// (--templates, else the one beside the program or installed with the library).
struct Runtime {
    Settings settings;
    std::filesystem::path templates;
};

// SSH with the global options' user, identity, known_hosts and timeout; the backends of
// h2e_clusters.backend (the file backends with these rendered files; the VRRP keepalived.conf
// rendered per LB from the templates).
std::unique_ptr<UpdateEnvironment> environment(const Runtime& runtime, std::string lvs_cf,
                                               std::string keepalived);

// The VRRP keepalived.conf `update` writes on `lb` of `cluster` (docs/ha.md) for `website_ips`:
// lvsctl's header lines, then the template rendered with the global options' VRRP settings.
std::string vrrp_keepalived_conf(const Runtime& runtime, const Cluster& cluster,
                                 const LoadBalancer& lb, const std::vector<IpAddress>& website_ips);

struct ConvergeOptions {
    std::int64_t cluster_id = 0;
    bool dry_run = false;
    bool detailed_exitcode = false;  // with dry_run: exit 2 when changes are pending
    std::uint32_t drain_timeout = 30;
    // Instead of the database's cluster (server remove: the cluster without the server).
    std::optional<Cluster> cluster;
    std::string note;              // printed first, e.g. the hook's database change
    bool lbs_only = false;         // the LBs only (UpdateSettings::lbs_only): `server set`
    Progress* progress = nullptr;  // told of each phase and host
};

// One run, unprinted.
struct Converged {
    RunOutcome outcome;
    ExitCode code = ExitCode::ok;     // as `update` exits: 2 for pending changes with
                                      // detailed_exitcode
    std::vector<std::string> errors;  // the messages for stderr, without "lvsctl: "
};

// Reads cluster N (or takes options.cluster), validates, numbers the configuration, reaches the
// hosts, plans, applies unless dry_run, and records the run in lvsctl_runs. The caller holds the
// cluster's lock (none for a dry run). Throws what run_cluster() throws (bad rows, a template,
// the database before the run).
Converged run_converge(const Runtime& runtime, db::Database& database,
                       const ConvergeOptions& options);

// The run as the public API gives it (include/lvsctl/lvsctl.h): what the CLI prints.
api::Result result_of(const Converged& converged, bool dry_run);

// `server remove` after the database row is gone: the cluster's website IPs leave the server's
// lo (what lvsctl recorded there). The host's result: the lines done, its errors (each saying the
// website IPs stay on lo), the exit code.
api::HostResult clean_web_server(const Runtime& runtime, const Server& server,
                                 std::int64_t cluster_id);

// `update --all` / `plan --all` (lvsctl/manage/all_clusters.h): every cluster of the database,
// each on a session of its own, its lock taken without waiting unless dry_run.
api::AllResult update_all(const Runtime& runtime, const api::AllOptions& options);

// A hook's answer with --no-update (HookOptions::no_update): `what` was written, the hosts were
// not changed; the --json document and the note say so.
api::HookResult not_updated(const std::string& what);

// The global options and the API's Options, field by field (the CLI's presentation options,
// --json and -v / -q, are not the API's; Options::progress is not a setting).
Settings settings_of(const api::Options& options);
api::Options options_of(const Settings& settings);

// `render` of a validated cluster: "lvs.cf", "keepalived", "keepalived-vrrp" (`role` "primary"
// or "backup"), "ipvsadm" or "json" (the primary's desired state). Throws Error(ExitCode::data)
// for keepalived-vrrp of a cluster without VRRP, Error(ExitCode::usage) for another format.
std::string render_cluster(const Runtime& runtime, const Cluster& cluster,
                           const std::string& format, const std::string& role);

}  // namespace lvsctl::engine
