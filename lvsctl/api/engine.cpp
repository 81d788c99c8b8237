#include "lvsctl/api/engine.h"

#include <fmt/format.h>

#include <utility>

#include "lvsctl/ipvsadm_format.h"
#include "lvsctl/manage/documents.h"
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
