#include "lvsctl/manage/run.h"

#include <fmt/format.h>

#include <chrono>

#include "lvsctl/digest.h"
#include "lvsctl/error.h"
#include "lvsctl/manage/backends.h"
#include "lvsctl/manage/documents.h"
#include "lvsctl/validate.h"

namespace lvsctl {

std::string run_result(bool dry_run, ExitCode code, bool changed) {
    if (dry_run) {
        return "planned";
    }
    if (code == ExitCode::ok) {
        return changed ? "converged" : "unchanged";
    }
    return code == ExitCode::partial ? "partial" : "failed";
}

namespace {

struct Prepared {
    Cluster cluster;
    std::string digest;  // of the rendered lvs.cf, serial aside
    std::string lvs_cf, keepalived;
};

Prepared prepare(RunLog& log, const ConfigRender& render, const RunRequest& request,
                 std::chrono::system_clock::time_point started) {
    Prepared p;
    try {
        p.cluster = request.cluster ? *request.cluster : log.read_cluster(request.cluster_id);
        validate_or_throw(p.cluster);
        // The serial number goes up only when the rendered lvs.cf changes.
        p.cluster.serial = 0;
        p.digest = fnv1a_hex(render.lvs_cf(p.cluster));
        const auto last = log.last_run(p.cluster.id);
        p.cluster.serial = !last                             ? 1
                           : last->lvs_cf_digest == p.digest ? last->serial
                                                             : last->serial + 1;
        const auto kind = parse_backend(p.cluster.backend)->kind;  // validated
        if (needs_lvs_cf(kind)) {
            p.lvs_cf = render.lvs_cf(p.cluster);
        }
        if (needs_keepalived_conf(kind)) {
            p.keepalived = render.keepalived(p.cluster);  // refuses what it cannot write safely
        }
    } catch (const Error& e) {
        // Bad data stops the run before any host: logged too, with the reason.
        if (e.code() == ExitCode::data) {
            const auto last = log.last_run(request.cluster_id);
            log.record_run({request.cluster_id, last ? last->serial : 0, started,
                            std::chrono::system_clock::now(), request.dry_run, "invalid",
                            error_document(e.what(), e.code())});
        }
        throw;
    }
    return p;
}

// The document's note: the request's (a hook's change), then the run's own (lbs_only's).
std::string run_note(const RunRequest& request, const UpdateResult& result) {
    auto note = request.note;
    for (const auto& n : result.notes) {
        note += (note.empty() ? "" : "; ") + n;
    }
    return note;
}

}  // namespace

RunOutcome run_cluster(RunLog& log, RunGuard& guard, const ConfigRender& render,
                       const EnvironmentFactory& environment, const RunRequest& request) {
    const auto started = std::chrono::system_clock::now();
    auto prepared = prepare(log, render, request, started);
    const auto env = environment(std::move(prepared.lvs_cf), std::move(prepared.keepalived));

    RunOutcome out;
    out.cluster = std::move(prepared.cluster);
    out.result = Updater(*env, request.settings, &guard).run(out.cluster, request.dry_run);
    out.code = out.result.code();
    const auto note = run_note(request, out.result);
    out.document =
        update_document(out.cluster, out.result, request.dry_run, out.code, prepared.digest, note);
    // The database may have gone away while the hosts were being changed, and the lock with it:
    // what was done is still shown, the run says it is not in the log (nothing is written
    // without the lock), and the next run converges from there.
    std::optional<Error> lost;
    if (out.result.stopped) {
        lost.emplace(out.result.stopped->code, out.result.stopped->reason);
    } else {
        try {
            guard.check();
            log.record_run({out.cluster.id, out.cluster.serial, started,
                            std::chrono::system_clock::now(), request.dry_run,
                            run_result(request.dry_run, out.code, out.result.changed()),
                            out.document});
        } catch (const Error& e) {
            if (e.code() != ExitCode::db_unavailable) {
                throw;
            }
            lost = e;
        }
    }
    if (lost) {
        out.unrecorded = fmt::format("{} (the hosts are as shown; this run is not in lvsctl_runs)",
                                     lost->what());
        out.code = lost->code();
        out.document =
            update_document(out.cluster, out.result, request.dry_run, out.code, prepared.digest,
                            note.empty() ? *out.unrecorded : note + "; " + *out.unrecorded);
    }
    return out;
}

}  // namespace lvsctl
