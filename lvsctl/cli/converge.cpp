#include "lvsctl/cli/converge.h"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "lvsctl/cli/environment.h"
#include "lvsctl/cli/progress.h"

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
        print_result(ctx, timer, *hook.update, hook.what);
        if (hook.removed && !ctx.settings.json) {
            fmt::print(ctx.out, "{}\n", *hook.removed);
        }
        if (hook.cleanup) {
            if (!ctx.settings.json) {
                for (const auto& line : hook.cleanup->changes) {
                    fmt::print(ctx.out, "{}: {}\n", hook.cleanup->host, line);
                }
            }
            for (const auto& e : hook.cleanup->errors) {
                fmt::print(ctx.err, "lvsctl: {}\n", e);
            }
        }
        return hook.exit_code;  // the run's; server remove's: the cleanup's
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

int converge_all(Context& ctx, const api::AllOptions& options) {
    auto o = options;
    // Each cluster's line as soon as it and those before it are done, its errors on stderr named
    // by the cluster.
    o.done = [&](const api::ClusterRun& c) {
        if (!ctx.settings.json) {
            fmt::print(ctx.out, "{}\n", c.summary);
            ctx.out.flush();
        }
        for (const auto& e : c.errors) {
            fmt::print(ctx.err, "lvsctl: {}\n", e);
        }
    };
    auto connection = api::Connection::open(api_options(ctx, nullptr));
    const auto result = connection.update_all(o);
    if (ctx.settings.json) {
        ctx.out << result.document;
    } else {
        fmt::print(ctx.out, "{}\n", result.summary);
    }
    return result.exit_code;
}

}  // namespace lvsctl::cli
