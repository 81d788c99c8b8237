#include "lvsctl/manage/all_clusters.h"

#include <fmt/format.h>

#include <exception>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "lvsctl/fanout.h"
#include "lvsctl/protocol/codec.h"

namespace lvsctl {

namespace {

bool failed(const ClusterOutcome& o) {
    return !o.skipped && o.code != ExitCode::ok && o.code != ExitCode::changes_pending;
}

std::string counted(std::size_t n, const char* what) {
    return fmt::format("{} {}{}", n, what, n == 1 ? "" : "s");
}

std::string name_of(const ClusterRef& c) {
    return c.name.empty() ? fmt::format("cluster {}", c.id)
                          : fmt::format("cluster {} ({})", c.id, c.name);
}

// A message on one line, without the "cluster N: " the summary line already says: "cluster 2:
// invalid data:\n  row a: ...\n  row b: ..." becomes "invalid data: row a: ...; row b: ...".
std::string one_line(const std::string& message, std::int64_t id) {
    std::string_view text = message;
    if (const auto prefix = fmt::format("cluster {}: ", id); text.starts_with(prefix)) {
        text.remove_prefix(prefix.size());
    }
    std::string out;
    while (!text.empty()) {
        const auto end = text.find('\n');
        auto part = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
        while (!part.empty() && (part.front() == ' ' || part.front() == '\t')) {
            part.remove_prefix(1);
        }
        if (part.empty()) {
            continue;
        }
        if (!out.empty()) {
            out += out.back() == ':' ? " " : "; ";
        }
        out += part;
    }
    return out;
}

}  // namespace

std::string cluster_status(const ClusterOutcome& o) {
    if (o.skipped) {
        return "skipped";
    }
    if (o.code == ExitCode::data) {
        return "invalid";
    }
    if (failed(o)) {
        return o.code == ExitCode::partial ? "partial" : "failed";
    }
    if (o.dry_run) {
        return "planned";
    }
    return o.changed ? "converged" : "unchanged";
}

std::string summary_line(const ClusterOutcome& o) {
    const auto name = name_of(o.cluster);
    if (o.skipped) {
        return name + ": skipped: another lvsctl holds its lock";
    }
    if (failed(o)) {
        std::string line = fmt::format("{}: FAILED (exit {})", name, static_cast<int>(o.code));
        if (!o.errors.empty()) {
            line += ": " + one_line(o.errors.front(), o.cluster.id);
        }
        if (o.errors.size() > 1) {
            line += fmt::format(" (and {} more {})", o.errors.size() - 1,
                                o.errors.size() == 2 ? "error" : "errors");
        }
        return line;
    }
    if (o.dry_run) {
        return o.pending ? fmt::format("{}: {} pending", name, counted(o.changes, "change"))
                         : name + ": nothing to do";
    }
    return o.changed ? fmt::format("{}: converged, {}", name, counted(o.changes, "change"))
                     : name + ": nothing to do";
}

std::string totals_line(const std::vector<ClusterOutcome>& outcomes) {
    if (outcomes.empty()) {
        return "no clusters in the database";
    }
    std::size_t converged = 0, pending = 0, nothing = 0, skipped = 0, failures = 0;
    for (const auto& o : outcomes) {
        if (o.skipped) {
            ++skipped;
        } else if (failed(o)) {
            ++failures;
        } else if (o.dry_run ? o.pending : o.changed) {
            ++(o.dry_run ? pending : converged);
        } else {
            ++nothing;
        }
    }
    std::vector<std::string> parts;
    if (converged > 0) {
        parts.push_back(fmt::format("{} converged", converged));
    }
    if (pending > 0) {
        parts.push_back(fmt::format("{} with changes pending", pending));
    }
    if (nothing > 0) {
        parts.push_back(fmt::format("{} nothing to do", nothing));
    }
    if (skipped > 0) {
        parts.push_back(fmt::format("{} skipped", skipped));
    }
    if (failures > 0) {
        parts.push_back(fmt::format("{} failed", failures));
    }
    return fmt::format("{}: {}", counted(outcomes.size(), "cluster"), fmt::join(parts, ", "));
}

int severity(ExitCode code) {
    switch (code) {
        case ExitCode::ok:
            return 0;
        case ExitCode::changes_pending:
            return 1;
        // A retry fixes these: nothing changed; something changed and a host failed; a lock
        // was busy; the database went away.
        case ExitCode::unreachable:
            return 2;
        case ExitCode::partial:
            return 3;
        case ExitCode::lock_busy:
            return 4;
        case ExitCode::db_unavailable:
            return 5;
        // A person must fix these: a host, the data, the configuration.
        case ExitCode::kernel:
            return 6;
        case ExitCode::permission:
            return 7;
        case ExitCode::data:
            return 8;
        case ExitCode::usage:
            return 9;
        case ExitCode::config:
            return 10;
        // A bug.
        case ExitCode::internal:
            return 11;
    }
    return 12;  // no such code: worse than any
}

ExitCode worst_exit_code(const std::vector<ClusterOutcome>& outcomes) {
    ExitCode worst = ExitCode::ok;
    for (const auto& o : outcomes) {
        if (!o.skipped && severity(o.code) > severity(worst)) {
            worst = o.code;
        }
    }
    return worst;
}

std::string all_clusters_document(const std::vector<ClusterOutcome>& outcomes, bool dry_run,
                                  ExitCode code) {
    auto clusters = nlohmann::ordered_json::array();
    bool changed = false;
    for (const auto& o : outcomes) {
        changed = changed || o.changed;
        nlohmann::ordered_json j = {{"cluster", {{"id", o.cluster.id}, {"name", o.cluster.name}}},
                                    {"status", cluster_status(o)},
                                    {"skipped", o.skipped}};
        if (!o.document.empty()) {
            // update's own document, its keys after these; "cluster" is its (with the serial).
            const auto run = nlohmann::ordered_json::parse(o.document);
            for (const auto& [key, value] : run.items()) {
                j[key] = value;
            }
        } else {
            j["changed"] = o.changed;
            j["errors"] = o.errors;
        }
        // What `update --cluster-id` would exit with (2 for pending changes with
        // --detailed-exitcode, which update's own document does not count).
        j["exit_code"] = static_cast<int>(o.code);
        clusters.push_back(std::move(j));
    }
    const nlohmann::ordered_json doc = {{"dry_run", dry_run},
                                        {"changed", changed},
                                        {"clusters", std::move(clusters)},
                                        {"exit_code", static_cast<int>(code)}};
    return codec::text(doc);
}

std::vector<ClusterOutcome> AllClusters::run(
    const std::vector<ClusterRef>& clusters, bool dry_run,
    const std::function<void(const ClusterOutcome&)>& done) {
    std::vector<std::optional<ClusterOutcome>> outcomes(clusters.size());
    std::mutex mutex;
    std::size_t next_to_report = 0;
    fan_out(clusters.size(), parallel_, [&](std::size_t i) {
        const auto& ref = clusters[i];
        ClusterOutcome outcome;
        // A cluster's failure is its own, never the others' (the summary line names it).
        const auto fail = [&](ExitCode code, const std::string& message) {
            outcome = ClusterOutcome{};
            outcome.code = code;
            outcome.errors = {message};
        };
        try {
            outcome = runner_.run(ref);
        } catch (const Error& e) {
            fail(e.code(), e.what());
        } catch (const std::exception& e) {
            fail(ExitCode::internal, fmt::format("internal error: {}", e.what()));
        } catch (...) {
            fail(ExitCode::internal, "internal error: unknown exception");
        }
        outcome.cluster.id = ref.id;
        if (outcome.cluster.name.empty()) {
            outcome.cluster.name = ref.name;
        }
        outcome.dry_run = dry_run;
        const std::lock_guard lock(mutex);
        outcomes[i] = std::move(outcome);
        // In the list's order: each cluster once all before it are done.
        while (next_to_report < outcomes.size() && outcomes[next_to_report]) {
            if (done) {
                done(*outcomes[next_to_report]);
            }
            ++next_to_report;
        }
    });
    std::vector<ClusterOutcome> out;
    out.reserve(outcomes.size());
    for (auto& o : outcomes) {
        out.push_back(std::move(*o));
    }
    return out;
}

}  // namespace lvsctl
