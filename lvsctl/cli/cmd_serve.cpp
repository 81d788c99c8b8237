// `lvsctl serve`: the read-only web view and the management side's metrics (docs/web-view.md).
// This file only wires: the database as the gather's source, the SSH environment `status` uses,
// the view's routes behind the HTTP server, and the signals.
#include <fmt/format.h>
#include <fmt/ostream.h>
#include <signal.h>

#include <chrono>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "checks/http_server.h"
#include "db/database.h"
#include "lvsctl/cli/app.h"
#include "lvsctl/cli/environment.h"
#include "lvsctl/lb/metrics.h"
#include "lvsctl/manage/web_view.h"

namespace lvsctl::cli {

namespace {

struct ServeOptions {
    std::string listen = "127.0.0.1:9633";
    int interval = 30;
    int runs = 10;
    std::vector<std::string> allow_hosts;
};

// The gather's reads, from one database session per gather: a session lost between gathers is
// replaced by the next one, never reused.
class DatabaseSource : public ServeSource {
  public:
    explicit DatabaseSource(db::Database& db) : db_(db) {}
    std::vector<Named> clusters() override {
        std::vector<Named> out;
        for (const auto& c : db_.list_clusters()) {
            out.push_back({c.id, c.name});
        }
        return out;
    }
    Cluster read_cluster(std::int64_t id) override { return db_.read_cluster(id); }
    std::vector<RunSummary> recent_runs(std::int64_t id, int limit) override {
        return db_.recent_runs(id, limit);
    }
    std::vector<RunCount> run_counts() override { return db_.run_counts(); }

  private:
    db::Database& db_;
};

WallTime wall_now() {
    return std::chrono::system_clock::now();
}

int run_serve(const ServeOptions& o, Context& ctx) {
    // Blocked before the server's thread starts, so that only sigtimedwait() below sees them.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    auto log = [&](const std::string& line) {
        fmt::print(ctx.err, "lvsctl serve: {}\n", line);
        ctx.err.flush();
    };

    WebView view({std::chrono::seconds(o.interval), o.allow_hosts});
    const auto where = *parse_listen_address(o.listen);  // checked by the option
    checks::HttpServer server("serve", where, [&view](const checks::HttpRequest& r) {
        auto a = view.answer(r.path, r.host, wall_now());
        return checks::HttpAnswer{fmt::format("{} {}", a.status,
                                              a.status == 200   ? "OK"
                                              : a.status == 404 ? "Not Found"
                                              : a.status == 421 ? "Misdirected Request"
                                                                : "Service Unavailable"),
                                  std::move(a.content_type), std::move(a.body),
                                  std::move(a.headers)};
    });
    log(fmt::format("serving http://{}/ (read-only)",
                    ListenAddress{where.address, server.port()}.str()));

    auto env = cli_environment(ctx, "", "");
    GatherSettings settings;
    settings.parallel = static_cast<std::size_t>(ctx.settings.parallel);
    settings.runs = o.runs;
    std::shared_ptr<const ServeSnapshot> last;
    std::uint64_t gathers = 0, failed = 0;
    for (;;) {
        const auto begun = std::chrono::steady_clock::now();
        try {
            db::Database database(ctx.settings.db, std::chrono::seconds(ctx.settings.timeout));
            DatabaseSource source(database);
            auto next =
                std::make_shared<ServeSnapshot>(gather_snapshot(source, *env, settings, wall_now));
            next->gathers = ++gathers;
            next->failed_gathers = failed;
            if (last && last->error) {
                log("the database is readable again");
            }
            last = std::move(next);
        } catch (const Error& e) {
            // The previous gather's clusters stay on view, marked stale by the error.
            auto stale =
                last ? std::make_shared<ServeSnapshot>(*last) : std::make_shared<ServeSnapshot>();
            if (!stale->error) {
                log(fmt::format("gather failed: {}", e.what()));
            }
            stale->error = e.what();
            stale->gathers = ++gathers;
            stale->failed_gathers = ++failed;
            last = std::move(stale);
        }
        view.publish(last);
        const auto due = begun + std::chrono::seconds(o.interval);
        for (;;) {
            const auto left = due - std::chrono::steady_clock::now();
            if (left <= std::chrono::steady_clock::duration::zero()) {
                break;
            }
            const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
            const timespec timeout{static_cast<time_t>(ns / 1'000'000'000),
                                   static_cast<long>(ns % 1'000'000'000)};
            const int sig = sigtimedwait(&signals, nullptr, &timeout);
            if (sig == SIGTERM || sig == SIGINT) {
                log("stopped");
                return 0;
            }
            if (sig == SIGHUP) {
                break;  // gather now
            }
        }
    }
}

}  // namespace

void setup_serve(CLI::App& parent, Registry& registry) {
    auto opts = std::make_shared<ServeOptions>();
    auto* cmd = parent.add_subcommand(
        "serve",
        "A read-only web view of every cluster, and Prometheus metrics (docs/web-view.md)");
    cmd->add_option("--listen", opts->listen, "Serve at http://ADDRESS:PORT/")
        ->check(CLI::Validator(
            [](const std::string& text) {
                return parse_listen_address(text)
                           ? std::string()
                           : "expected ADDRESS:PORT, e.g. 127.0.0.1:9633 or [::1]:9633";
            },
            "ADDRESS:PORT"))
        ->default_str(opts->listen);
    cmd->add_option("--interval", opts->interval,
                    "Seconds between two reads of the database and every host")
        ->check(CLI::Range(1, 86400))
        ->default_str(std::to_string(opts->interval));
    cmd->add_option("--runs", opts->runs, "Runs of the run log shown per cluster")
        ->check(CLI::Range(1, 1000))
        ->default_str(std::to_string(opts->runs));
    cmd->add_option("--allow-host", opts->allow_hosts,
                    "A host name the view answers to besides IP addresses and localhost "
                    "(the name a proxy passes on); repeatable")
        ->type_name("NAME");
    registry.add(cmd, opts, run_serve);
}

}  // namespace lvsctl::cli
