#include "lvsctl/cli/converge.h"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <chrono>
#include <optional>

#include "lvsctl/cli/environment.h"
#include "lvsctl/digest.h"
#include "lvsctl/error.h"
#include "lvsctl/manage/documents.h"
#include "lvsctl/manage/propagate.h"
#include "lvsctl/manage/update.h"
#include "lvsctl/validate.h"
#include "templates/render.h"

namespace lvsctl::cli {

namespace {

void print_human(Context& ctx, const Cluster& cluster, const UpdateResult& result, bool dry_run) {
    fmt::print(ctx.out, "cluster {} ({}), backend {}, serial {}{}\n", cluster.id, cluster.name,
               cluster.backend, cluster.serial, dry_run ? ": plan" : "");
    for (std::size_t i = 0; i < result.plan.size(); ++i) {
        const auto& p = result.plan[i];
        if (p.error) {
            fmt::print(ctx.out, "{}: FAILED: {}\n", p.host, *p.error);
            continue;
        }
        const bool applied = i < result.applied.size();
        const auto& lines = applied ? result.applied[i].done : p.changes;
        if (lines.empty() && (!applied || result.applied[i].errors.empty())) {
            fmt::print(ctx.out, "{}: nothing to do\n", p.host);
            continue;
        }
        fmt::print(ctx.out, "{}:\n", p.host);
        for (const auto& line : lines) {
            fmt::print(ctx.out, "  {}{}\n", applied ? "" : "+ ", line);
        }
        if (applied) {
            for (const auto& e : result.applied[i].errors) {
                fmt::print(ctx.out, "  FAILED: {}\n", e);
            }
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

std::string result_word(bool dry_run, ExitCode code, bool changed) {
    if (dry_run) {
        return "planned";
    }
    if (code == ExitCode::ok) {
        return changed ? "converged" : "unchanged";
    }
    return code == ExitCode::partial ? "partial" : "failed";
}

}  // namespace

int converge(Context& ctx, db::Database& database, const ConvergeOptions& o) {
    const auto started = std::chrono::system_clock::now();
    Cluster cluster;
    const auto directory = ctx.settings.templates ? std::filesystem::path(*ctx.settings.templates)
                                                  : templates::default_directory(ctx.program);
    const templates::Renderer renderer(directory);
    std::string digest;
    std::string lvs_cf;
    std::string keepalived;
    try {
        cluster = o.cluster ? *o.cluster : database.read_cluster(o.cluster_id);
        validate_or_throw(cluster);
        // The serial number goes up only when the rendered lvs.cf changes.
        cluster.serial = 0;
        digest = fnv1a_hex(renderer.lvs_cf(cluster));
        const auto last = database.last_run(cluster.id);
        cluster.serial = !last                           ? 1
                         : last->lvs_cf_digest == digest ? last->serial
                                                         : last->serial + 1;
        if (cluster.backend == "piranha" || cluster.backend == "keepalived") {
            lvs_cf = renderer.lvs_cf(cluster);
        }
        if (cluster.backend == "keepalived") {
            keepalived = renderer.keepalived(cluster);  // refuses what it cannot write safely
        }
    } catch (const Error& e) {
        // Bad data stops the run before any host: logged too, with the reason.
        if (e.code() == ExitCode::data) {
            const auto last = database.last_run(o.cluster_id);
            database.record_run({o.cluster_id, last ? last->serial : 0, started,
                                 std::chrono::system_clock::now(), o.dry_run, "invalid",
                                 error_document(e.what(), e.code())});
        }
        throw;
    }
    const auto env = cli_environment(ctx.settings, std::move(lvs_cf), std::move(keepalived));

    UpdateSettings settings;
    settings.parallel = static_cast<std::size_t>(ctx.settings.parallel);
    settings.drain_timeout = o.drain_timeout;
    LockGuard guard(database);
    Updater updater(*env, settings, &guard);
    const auto result = updater.run(cluster, o.dry_run);
    auto code = result.code();

    auto doc = update_document(cluster, result, o.dry_run, code, digest, o.note);
    // The database may have gone away while the hosts were being changed, and the lock with it:
    // what was done is still shown, the run says it is not in the log (nothing is written
    // without the lock), and the next run converges from there.
    std::optional<Error> lost;
    if (result.stopped) {
        lost.emplace(result.stopped->code, result.stopped->reason);
    } else {
        try {
            guard.check();
            database.record_run({cluster.id, cluster.serial, started,
                                 std::chrono::system_clock::now(), o.dry_run,
                                 result_word(o.dry_run, code, result.changed()), doc});
        } catch (const Error& e) {
            if (e.code() != ExitCode::db_unavailable) {
                throw;
            }
            lost = e;
        }
    }
    std::optional<std::string> unrecorded;
    if (lost) {
        unrecorded = fmt::format("{} (the hosts are as shown; this run is not in lvsctl_runs)",
                                 lost->what());
        code = lost->code();
        doc = update_document(cluster, result, o.dry_run, code, digest,
                              o.note.empty() ? *unrecorded : o.note + "; " + *unrecorded);
    }
    if (ctx.settings.json) {
        ctx.out << doc;
    } else {
        if (!o.note.empty()) {
            fmt::print(ctx.out, "{}\n", o.note);
        }
        print_human(ctx, cluster, result, o.dry_run);
    }
    for (const auto& p : result.plan) {
        if (p.error && result.applied.empty()) {
            fmt::print(ctx.err, "lvsctl: {}\n", *p.error);
        }
    }
    for (const auto& r : result.applied) {
        for (const auto& e : r.errors) {
            fmt::print(ctx.err, "lvsctl: {}\n", e);
        }
    }
    if (unrecorded) {
        fmt::print(ctx.err, "lvsctl: {}\n", *unrecorded);
    }
    if (code == ExitCode::ok && o.dry_run && o.detailed_exitcode && result.pending()) {
        code = ExitCode::changes_pending;
    }
    return static_cast<int>(code);
}

int hook_done(Context& ctx, db::Database& database, std::int64_t cluster_id, bool no_update,
              const std::string& what) {
    if (!no_update) {
        ConvergeOptions c;
        c.cluster_id = cluster_id;
        c.note = what;
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
    const auto env = cli_environment(ctx.settings, "", "");
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
    return static_cast<int>(exit_code(reports));
}

}  // namespace lvsctl::cli
