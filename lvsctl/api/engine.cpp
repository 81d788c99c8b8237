#include "lvsctl/api/engine.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "lvsctl/ipvsadm_format.h"
#include "lvsctl/manage/all_clusters.h"
#include "lvsctl/manage/documents.h"
#include "lvsctl/manage/propagate.h"
#include "lvsctl/manage/status.h"
#include "lvsctl/protocol/desired_state.h"
#include "templates/render.h"

namespace lvsctl::engine {

namespace {

// The run goes on only while this session still holds the cluster's lock (a hook or `update`
// took it; `plan` takes none, and then nothing is checked).
class LockGuard : public RunGuard {
  public:
    explicit LockGuard(db::Database& database) : database_(database) {}
    void check() override { database_.check_lock(); }

  private:
    db::Database& database_;
};

}  // namespace

Converged run_converge(const Runtime& runtime, db::Database& database, const ConvergeOptions& o) {
    const templates::Renderer renderer(runtime.templates);
    RunRequest request;
    request.cluster_id = o.cluster_id;
    request.dry_run = o.dry_run;
    request.settings.parallel = static_cast<std::size_t>(runtime.settings.parallel);
    request.settings.drain_timeout = o.drain_timeout;
    request.settings.progress = o.progress;
    request.settings.lbs_only = o.lbs_only;
    request.cluster = o.cluster;
    request.note = o.note;
    LockGuard guard(database);
    Converged out;
    out.outcome = run_cluster(
        database, guard,
        {[&](const Cluster& c) { return renderer.lvs_cf(c); },
         [&](const Cluster& c) { return renderer.keepalived(c); }},
        [&](std::string lvs_cf, std::string keepalived) {
            return environment(runtime, std::move(lvs_cf), std::move(keepalived));
        },
        request);
    const auto& result = out.outcome.result;
    for (const auto& p : result.plan) {
        if (p.error && result.applied.empty()) {
            out.errors.push_back(*p.error);
        }
    }
    for (const auto& r : result.applied) {
        for (const auto& e : r.errors) {
            out.errors.push_back(e);
        }
    }
    if (out.outcome.unrecorded) {
        out.errors.push_back(*out.outcome.unrecorded);
    }
    out.code = out.outcome.code;
    if (out.code == ExitCode::ok && o.dry_run && o.detailed_exitcode && result.pending()) {
        out.code = ExitCode::changes_pending;
    }
    return out;
}

api::HookResult not_updated(const std::string& what) {
    constexpr const char* kPending = "the hosts were not changed (--no-update): run lvsctl update";
    api::HookResult h;
    h.what = what;
    h.document = hook_document(what, kPending);
    h.notes.push_back(kPending);
    return h;
}

Settings settings_of(const api::Options& o) {
    Settings s;
    s.db = o.db;
    s.ssh_user = o.ssh_user;
    s.ssh_identity = o.ssh_identity;
    s.known_hosts = o.known_hosts;
    s.templates = o.templates;
    s.agent = o.agent;
    s.timeout = o.timeout;
    s.parallel = o.parallel;
    s.lock_timeout = o.lock_timeout;
    s.vrrp_nopreempt = o.vrrp_nopreempt;
    s.vrrp_unicast = o.vrrp_unicast;
    return s;
}

api::Options options_of(const Settings& s) {
    api::Options o;
    o.db = s.db;
    o.ssh_user = s.ssh_user;
    o.ssh_identity = s.ssh_identity;
    o.known_hosts = s.known_hosts;
    o.templates = s.templates;
    o.agent = s.agent;
    o.timeout = s.timeout;
    o.parallel = s.parallel;
    o.lock_timeout = s.lock_timeout;
    o.vrrp_nopreempt = s.vrrp_nopreempt;
    o.vrrp_unicast = s.vrrp_unicast;
    return o;
}

namespace {

int host_code(const std::optional<ExitCode>& failure, bool has_errors) {
    if (failure) {
        return static_cast<int>(*failure);
    }
    return has_errors ? api::exit_code::partial : api::exit_code::ok;
}

}  // namespace

api::Result result_of(const engine::Converged& converged, bool dry_run) {
    const auto& outcome = converged.outcome;
    const auto& run = outcome.result;
    api::Result r;
    r.cluster_id = outcome.cluster.id;
    r.cluster_name = outcome.cluster.name;
    r.backend = outcome.cluster.backend;
    r.serial = outcome.cluster.serial;
    r.dry_run = dry_run;
    r.pending = run.pending();
    r.changed = run.changed();
    for (std::size_t i = 0; i < run.plan.size(); ++i) {
        const auto& p = run.plan[i];
        api::HostResult h;
        h.host = p.host;
        h.role = p.host.rfind("lb ", 0) == 0 ? "lb" : "web";
        h.error = p.error;
        h.exit_code = host_code(p.failure, p.error.has_value());
        h.monitored = p.monitored;
        if (p.monitored) {
            h.monitor = monitor_summary(p.monitor);
        }
        if (!p.error && i < run.applied.size()) {
            const auto& a = run.applied[i];
            h.applied = true;
            h.changes = a.done;
            h.errors = a.errors;
            h.exit_code = host_code(a.failure, !a.errors.empty());
        } else if (!p.error) {
            h.changes = p.changes;
        }
        r.hosts.push_back(std::move(h));
    }
    r.notes = run.notes;
    r.errors = converged.errors;
    r.document = outcome.document;
    r.exit_code = static_cast<int>(converged.code);
    return r;
}

api::HostResult clean_web_server(const Runtime& runtime, const Server& server,
                                 std::int64_t cluster_id) {
    const auto env = environment(runtime, "", "");
    const auto reports = deploy_web_servers(
        env->connector(),
        {{web_name(server), server.mgmt_address, static_cast<std::uint16_t>(server.ssh_port)}},
        cluster_id, {}, 1);
    api::HostResult h;
    h.host = web_name(server);
    h.role = "web";
    h.applied = true;
    for (const auto& r : reports) {
        h.changes.insert(h.changes.end(), r.done.begin(), r.done.end());
        for (const auto& e : r.errors) {
            h.errors.push_back(fmt::format("{} (its website IPs stay on lo)", e));
        }
    }
    // The database row is gone and IPVS let the server go already: nothing here is "before
    // anything changed".
    h.exit_code = static_cast<int>(exit_code(reports, true));
    return h;
}

namespace {

// One cluster of update --all: a database session of its own (the lock is the session's, and
// LockGuard checks that session), the lock only if it is free now, then the run, unprinted.
class DatabaseClusterRunner : public ClusterRunner {
  public:
    DatabaseClusterRunner(const Runtime& runtime, const api::AllOptions& options)
        : runtime_(runtime), options_(options) {}

    ClusterOutcome run(const ClusterRef& cluster) override {
        ClusterOutcome out;
        out.cluster = cluster;
        db::Database database(runtime_.settings.db);
        if (!options_.dry_run && !database.try_lock_cluster(cluster.id)) {
            out.skipped = true;
            return out;
        }
        ConvergeOptions c;
        c.cluster_id = cluster.id;
        c.dry_run = options_.dry_run;
        c.detailed_exitcode = options_.detailed_exitcode;
        c.drain_timeout = static_cast<std::uint32_t>(options_.drain_timeout);
        auto converged = run_converge(runtime_, database, c);
        const auto& result = converged.outcome.result;
        out.cluster.name = converged.outcome.cluster.name;
        out.code = converged.code;
        out.changed = result.changed();
        out.pending = result.pending();
        if (options_.dry_run) {
            for (const auto& p : result.plan) {
                out.changes += p.changes.size();
            }
        } else {
            for (const auto& r : result.applied) {
                out.changes += r.done.size();
            }
        }
        out.errors = std::move(converged.errors);
        out.document = std::move(converged.outcome.document);
        return out;
    }

  private:
    const Runtime& runtime_;
    const api::AllOptions& options_;
};

api::ClusterRun cluster_run(const ClusterOutcome& c) {
    api::ClusterRun r;
    r.cluster_id = c.cluster.id;
    r.cluster_name = c.cluster.name;
    r.status = cluster_status(c);
    r.skipped = c.skipped;
    r.changed = c.changed;
    r.pending = c.pending;
    r.changes = c.changes;
    for (const auto& e : c.errors) {
        r.errors.push_back(host_prefixed(fmt::format("cluster {}", c.cluster.id), e));
    }
    r.summary = summary_line(c);
    r.document = c.document;
    r.exit_code = static_cast<int>(c.code);
    return r;
}

}  // namespace

api::AllResult update_all(const Runtime& runtime, const api::AllOptions& options) {
    std::vector<ClusterRef> clusters;
    {
        db::Database database(runtime.settings.db);
        for (auto& c : database.list_clusters()) {
            clusters.push_back({c.id, std::move(c.name)});
        }
    }
    DatabaseClusterRunner runner(runtime, options);
    const auto outcomes =
        AllClusters(runner, static_cast<std::size_t>(std::max(options.clusters_parallel, 1)))
            .run(clusters, options.dry_run, [&](const ClusterOutcome& c) {
                if (options.done) {
                    options.done(cluster_run(c));
                }
            });
    const auto code = worst_exit_code(outcomes);
    api::AllResult result;
    for (const auto& c : outcomes) {
        result.clusters.push_back(cluster_run(c));
    }
    result.summary = totals_line(outcomes);
    result.document = all_clusters_document(outcomes, options.dry_run, code);
    result.exit_code = static_cast<int>(code);
    return result;
}

std::string render_cluster(const Runtime& runtime, const Cluster& cluster,
                           const std::string& format, const std::string& role) {
    // The drain timeout a rendered desired state carries when no command gave one.
    constexpr std::uint32_t kDefaultDrainTimeout = 30;
    const templates::Renderer renderer(runtime.templates);
    if (format == "lvs.cf") {
        return renderer.lvs_cf(cluster);
    }
    if (format == "keepalived") {
        return renderer.keepalived(cluster);
    }
    if (format == "ipvsadm") {
        return ipvsadm_rules(cluster);  // what `ipvsadm -S -n` prints on the converged LB
    }
    if (format == "keepalived-vrrp") {
        if (!cluster.uses_vrrp()) {
            throw Error(ExitCode::data,
                        fmt::format("cluster {}: no VRRP: it needs the ipvs backend, a backup LB "
                                    "and ha = vrrp (docs/ha.md)",
                                    cluster.id));
        }
        if (role != "primary" && role != "backup") {
            throw Error(ExitCode::usage, fmt::format("render: role {:?}: primary or backup", role));
        }
        const auto* lb = role == "backup" ? cluster.backup() : cluster.primary();
        return vrrp_keepalived_conf(runtime, cluster, *lb, cluster.website_ips);
    }
    if (format == "json") {
        return to_json(desired_state(cluster, *cluster.primary(), kDefaultDrainTimeout));
    }
    throw Error(ExitCode::usage,
                fmt::format("render: format {:?}: lvs.cf, keepalived, keepalived-vrrp, ipvsadm or "
                            "json",
                            format));
}

}  // namespace lvsctl::engine
