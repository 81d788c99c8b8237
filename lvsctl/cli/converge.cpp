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

void print_human(Context& ctx, const api::Result& result) {
    const bool colour = colour_on(ctx);
    const auto failed = paint("FAILED", Colour::red, colour);
    fmt::print(ctx.out, "cluster {} ({}), backend {}, serial {}{}\n", result.cluster_id,
               result.cluster_name, result.backend, result.serial, result.dry_run ? ": plan" : "");
    for (const auto& h : result.hosts) {
        if (h.error) {
            fmt::print(ctx.out, "{}: {}: {}\n", h.host, failed, *h.error);
            continue;
        }
        if (h.changes.empty() && (!h.applied || h.errors.empty())) {
            fmt::print(ctx.out, "{}: {}\n", h.host, paint("nothing to do", Colour::green, colour));
        } else {
            fmt::print(ctx.out, "{}:\n", h.host);
            for (const auto& line : h.changes) {
                fmt::print(ctx.out, "  {}{}\n", h.applied ? "" : "+ ", line);
            }
            if (h.applied) {
                for (const auto& e : h.errors) {
                    fmt::print(ctx.out, "  {}: {}\n", failed, e);
                }
            }
        }
        if (h.monitored) {
            fmt::print(ctx.out, "  monitor: {}\n", h.monitor);
        }
    }
}

// What `update`, `plan` and a hook's run print: the timing with -v, then the --json document or
// the note, the hosts and the run's notes; the errors on stderr. Returns the exit code.
int print_result(Context& ctx, PhaseTimer& timer, const api::Result& result,
                 const std::string& note) {
    if (ctx.settings.verbosity > 0) {
        fmt::print(ctx.err, "lvsctl: timing: {}\n", timer.summary());
    }
    if (ctx.settings.json) {
        ctx.out << result.document;
    } else {
        if (!note.empty()) {
            fmt::print(ctx.out, "{}\n", note);
        }
        print_human(ctx, result);
        // As --no-update's note; with --json they are in the document's note.
        if (ctx.settings.verbosity >= 0) {
            for (const auto& n : result.notes) {
                fmt::print(ctx.err, "lvsctl: note: {}\n", n);
            }
        }
    }
    for (const auto& e : result.errors) {
        fmt::print(ctx.err, "lvsctl: {}\n", e);
    }
    return result.exit_code;
}

// What a hook prints: its run as print_result() with the database change first, or with
// --no-update the change alone (text, or the --json document) and the note.
int print_hook(Context& ctx, PhaseTimer& timer, const api::HookResult& hook) {
    if (hook.update) {
        return print_result(ctx, timer, *hook.update, hook.what);
    }
    if (ctx.settings.json) {
        ctx.out << hook.document;
    } else {
        fmt::print(ctx.out, "{}\n", hook.what);
        if (ctx.settings.verbosity >= 0) {
            for (const auto& n : hook.notes) {
                fmt::print(ctx.err, "lvsctl: note: {}\n", n);
            }
        }
    }
    return hook.exit_code;
}

}  // namespace

Converged run_converge(const Context& ctx, db::Database& database, const ConvergeOptions& o) {
    return engine::run_converge(runtime_of(ctx), database, o);
}

int converge(Context& ctx, db::Database& database, const ConvergeOptions& options) {
    const auto progress = make_progress(ctx, fmt::format("cluster {}", options.cluster_id));
    PhaseTimer timer(progress.get());  // -v: where the time went
    auto o = options;
    o.progress = &timer;
    const auto result = engine::result_of(run_converge(ctx, database, o), o.dry_run);
    return print_result(ctx, timer, result, o.note);
}

int converge_api(Context& ctx, std::int64_t cluster_id, const api::UpdateOptions& options) {
    const auto progress = make_progress(ctx, fmt::format("cluster {}", cluster_id));
    PhaseTimer timer(progress.get());  // -v: where the time went
    auto connection = api::Connection::open(api_options(ctx, &timer));
    const auto result = connection.update(cluster_id, options);
    return print_result(ctx, timer, result, "");
}

int hook_api(Context& ctx, std::int64_t cluster_id,
             const std::function<api::HookResult(api::Connection&)>& call) {
    const auto progress = make_progress(ctx, fmt::format("cluster {}", cluster_id));
    PhaseTimer timer(progress.get());  // -v: where the time went
    auto connection = api::Connection::open(api_options(ctx, &timer));
    return print_hook(ctx, timer, call(connection));
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
    PhaseTimer timer(nullptr);
    return print_hook(ctx, timer, engine::not_updated(what));
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
