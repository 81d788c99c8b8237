#include "lvsctl/cli/converge.h"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <chrono>
#include <optional>
#include <utility>
#include <vector>

#include "lvsctl/cli/environment.h"
#include "lvsctl/cli/progress.h"
#include "lvsctl/digest.h"
#include "lvsctl/error.h"
#include "lvsctl/manage/all_clusters.h"
#include "lvsctl/manage/backends.h"
#include "lvsctl/manage/documents.h"
#include "lvsctl/manage/propagate.h"
#include "lvsctl/manage/run.h"
#include "lvsctl/manage/status.h"
#include "lvsctl/manage/update.h"
#include "lvsctl/validate.h"
#include "templates/render.h"

namespace lvsctl::cli {

namespace {

void print_human(Context& ctx, const Cluster& cluster, const UpdateResult& result, bool dry_run) {
    const bool colour = colour_on(ctx);
    const auto failed = paint("FAILED", Colour::red, colour);
    fmt::print(ctx.out, "cluster {} ({}), backend {}, serial {}{}\n", cluster.id, cluster.name,
               cluster.backend, cluster.serial, dry_run ? ": plan" : "");
    for (std::size_t i = 0; i < result.plan.size(); ++i) {
        const auto& p = result.plan[i];
        if (p.error) {
            fmt::print(ctx.out, "{}: {}: {}\n", p.host, failed, *p.error);
            continue;
        }
        const bool applied = i < result.applied.size();
        const auto& lines = applied ? result.applied[i].done : p.changes;
        if (lines.empty() && (!applied || result.applied[i].errors.empty())) {
            fmt::print(ctx.out, "{}: {}\n", p.host, paint("nothing to do", Colour::green, colour));
        } else {
            fmt::print(ctx.out, "{}:\n", p.host);
            for (const auto& line : lines) {
                fmt::print(ctx.out, "  {}{}\n", applied ? "" : "+ ", line);
            }
            if (applied) {
                for (const auto& e : result.applied[i].errors) {
                    fmt::print(ctx.out, "  {}: {}\n", failed, e);
                }
            }
        }
        if (p.monitored) {
            fmt::print(ctx.out, "  monitor: {}\n", monitor_summary(p.monitor));
        }
    }
}

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

Converged run_converge(const Context& ctx, db::Database& database, const ConvergeOptions& o) {
    const auto directory = ctx.settings.templates ? std::filesystem::path(*ctx.settings.templates)
                                                  : templates::default_directory(ctx.program);
    const templates::Renderer renderer(directory);
    RunRequest request;
    request.cluster_id = o.cluster_id;
    request.dry_run = o.dry_run;
    request.settings.parallel = static_cast<std::size_t>(ctx.settings.parallel);
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
            return cli_environment(ctx, std::move(lvs_cf), std::move(keepalived));
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

int converge(Context& ctx, db::Database& database, const ConvergeOptions& options) {
    const auto progress = make_progress(ctx, fmt::format("cluster {}", options.cluster_id));
    PhaseTimer timer(progress.get());  // -v: where the time went
    auto o = options;
    o.progress = &timer;
    const auto converged = run_converge(ctx, database, o);
    if (ctx.settings.verbosity > 0) {
        fmt::print(ctx.err, "lvsctl: timing: {}\n", timer.summary());
    }
    if (ctx.settings.json) {
        ctx.out << converged.outcome.document;
    } else {
        if (!o.note.empty()) {
            fmt::print(ctx.out, "{}\n", o.note);
        }
        print_human(ctx, converged.outcome.cluster, converged.outcome.result, o.dry_run);
        // As --no-update's note; with --json they are in the document's note.
        if (ctx.settings.verbosity >= 0) {
            for (const auto& n : converged.outcome.result.notes) {
                fmt::print(ctx.err, "lvsctl: note: {}\n", n);
            }
        }
    }
    for (const auto& e : converged.errors) {
        fmt::print(ctx.err, "lvsctl: {}\n", e);
    }
    return static_cast<int>(converged.code);
}

namespace {

// One cluster of update --all: a database session of its own (the lock is the session's, and
// LockGuard checks that session), the lock only if it is free now, then the run, unprinted.
class DatabaseClusterRunner : public ClusterRunner {
  public:
    DatabaseClusterRunner(const Context& ctx, const ConvergeAllOptions& options)
        : ctx_(ctx), options_(options) {}

    ClusterOutcome run(const ClusterRef& cluster) override {
        ClusterOutcome out;
        out.cluster = cluster;
        db::Database database(ctx_.settings.db);
        if (!options_.dry_run && !database.try_lock_cluster(cluster.id)) {
            out.skipped = true;
            return out;
        }
        ConvergeOptions c;
        c.cluster_id = cluster.id;
        c.dry_run = options_.dry_run;
        c.detailed_exitcode = options_.detailed_exitcode;
        c.drain_timeout = options_.drain_timeout;
        auto converged = run_converge(ctx_, database, c);
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
    const Context& ctx_;
    ConvergeAllOptions options_;
};

}  // namespace

int converge_all(Context& ctx, const ConvergeAllOptions& o) {
    std::vector<ClusterRef> clusters;
    {
        db::Database database(ctx.settings.db);
        for (auto& c : database.list_clusters()) {
            clusters.push_back({c.id, std::move(c.name)});
        }
    }
    DatabaseClusterRunner runner(ctx, o);
    // Each cluster's line as soon as it and those before it are done (a timer's journal shows
    // the progress), its errors on stderr named by the cluster.
    const auto outcomes =
        AllClusters(runner, o.clusters_parallel)
            .run(clusters, o.dry_run, [&](const ClusterOutcome& c) {
                if (!ctx.settings.json) {
                    fmt::print(ctx.out, "{}\n", summary_line(c));
                    ctx.out.flush();
                }
                for (const auto& e : c.errors) {
                    fmt::print(ctx.err, "lvsctl: {}\n",
                               host_prefixed(fmt::format("cluster {}", c.cluster.id), e));
                }
            });
    const auto code = worst_exit_code(outcomes);
    if (ctx.settings.json) {
        ctx.out << all_clusters_document(outcomes, o.dry_run, code);
    } else {
        fmt::print(ctx.out, "{}\n", totals_line(outcomes));
    }
    return static_cast<int>(code);
}

int hook_done(Context& ctx, db::Database& database, std::int64_t cluster_id, bool no_update,
              const std::string& what, HookScope scope) {
    if (!no_update) {
        ConvergeOptions c;
        c.cluster_id = cluster_id;
        c.note = what;
        c.lbs_only = scope == HookScope::lbs_only;
        return converge(ctx, database, c);
    }
    constexpr const char* kPending = "the hosts were not changed (--no-update): run lvsctl update";
    if (ctx.settings.json) {
        ctx.out << hook_document(what, kPending);
    } else {
        fmt::print(ctx.out, "{}\n", what);
        if (ctx.settings.verbosity >= 0) {
            fmt::print(ctx.err, "lvsctl: note: {}\n", kPending);
        }
    }
    return 0;
}

int clean_web_server(Context& ctx, const Server& server, std::int64_t cluster_id) {
    const auto env = cli_environment(ctx, "", "");
    const auto reports = deploy_web_servers(
        env->connector(),
        {{web_name(server), server.mgmt_address, static_cast<std::uint16_t>(server.ssh_port)}},
        cluster_id, {}, 1);
    for (const auto& r : reports) {
        for (const auto& line : r.done) {
            fmt::print(ctx.out, "{}: {}\n", r.host, line);
        }
        for (const auto& e : r.errors) {
            fmt::print(ctx.err, "lvsctl: {} (its website IPs stay on lo)\n", e);
        }
    }
    // The database row is gone and IPVS let the server go already: nothing here is "before
    // anything changed".
    return static_cast<int>(exit_code(reports, true));
}

}  // namespace lvsctl::cli
