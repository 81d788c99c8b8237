// `lvsctl serve`: the read-only web view and the management side's metrics (docs/web-view.md).
// This file only wires: the database as the gather's source, the SSH environment `status` uses,
// the view's routes behind the HTTP server, and the signals.
#include <fmt/format.h>
#include <fmt/ostream.h>
#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
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

// Every `interval` a gather (a fresh database session, every cluster, every host), published to
// the view; now() starts the next one at once; stop() ends the loop once the gather in flight,
// if any, is done.
class Gatherer {
  public:
    Gatherer(Context& ctx, const ServeOptions& o, WebView& view,
             std::function<void(const std::string&)> log)
        : ctx_(ctx),
          options_(o),
          view_(view),
          log_(std::move(log)),
          env_(cli_environment(ctx, "", "")),
          thread_([this] { loop(); }) {}
    Gatherer(const Gatherer&) = delete;
    Gatherer& operator=(const Gatherer&) = delete;
    ~Gatherer() {
        if (thread_.joinable()) {
            thread_.detach();  // stop() gave up on it; the process is about to end
        }
    }

    void now() {
        const std::lock_guard lock(mutex_);
        due_now_ = true;
        wake_.notify_all();
    }

    // Whether the loop ended within `wait`.
    bool stop(std::chrono::seconds wait) {
        std::unique_lock lock(mutex_);
        stopping_ = true;
        wake_.notify_all();
        if (!wake_.wait_for(lock, wait, [this] { return ended_; })) {
            return false;
        }
        lock.unlock();
        thread_.join();
        return true;
    }

  private:
    void loop() {
        GatherSettings settings;
        settings.parallel = static_cast<std::size_t>(ctx_.settings.parallel);
        settings.runs = options_.runs;
        std::shared_ptr<const ServeSnapshot> last;
        std::uint64_t gathers = 0, failed = 0;
        std::unique_lock lock(mutex_);
        while (!stopping_) {
            lock.unlock();
            const auto begun = std::chrono::steady_clock::now();
            last = gather(settings, last, ++gathers, failed);
            view_.publish(last);
            lock.lock();
            wake_.wait_until(lock, begun + std::chrono::seconds(options_.interval),
                             [this] { return stopping_ || due_now_; });
            due_now_ = false;
        }
        ended_ = true;
        wake_.notify_all();
    }

    std::shared_ptr<const ServeSnapshot> gather(const GatherSettings& settings,
                                                const std::shared_ptr<const ServeSnapshot>& last,
                                                std::uint64_t gathers, std::uint64_t& failed) {
        try {
            db::Database database(ctx_.settings.db, std::chrono::seconds(ctx_.settings.timeout));
            DatabaseSource source(database);
            auto next =
                std::make_shared<ServeSnapshot>(gather_snapshot(source, *env_, settings, wall_now));
            next->gathers = gathers;
            next->failed_gathers = failed;
            if (last && last->error) {
                log_("the database is readable again");
            }
            return next;
        } catch (const Error& e) {
            // The previous gather's clusters stay on view, marked stale by the error.
            auto stale =
                last ? std::make_shared<ServeSnapshot>(*last) : std::make_shared<ServeSnapshot>();
            if (!stale->error) {
                log_(fmt::format("gather failed: {}", e.what()));
            }
            stale->error = e.what();
            stale->gathers = gathers;
            stale->failed_gathers = ++failed;
            return stale;
        }
    }

    Context& ctx_;
    const ServeOptions& options_;
    WebView& view_;
    std::function<void(const std::string&)> log_;
    std::unique_ptr<UpdateEnvironment> env_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;  // under mutex_
    bool due_now_ = false;   // under mutex_
    bool ended_ = false;     // under mutex_
    std::thread thread_;     // last: starts once the rest is set up
};

int run_serve(const ServeOptions& o, Context& ctx) {
    // Blocked before the server's thread starts, so that only sigwaitinfo() below sees them.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::mutex log_mutex;  // the gatherer's thread logs too
    auto log = [&](const std::string& line) {
        const std::lock_guard lock(log_mutex);
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

    // The gathers run on a thread of their own, so that a signal is answered at once even while a
    // gather waits for a slow host.
    Gatherer gatherer(ctx, o, view, log);
    for (;;) {
        const int sig = sigwaitinfo(&signals, nullptr);
        if (sig == SIGHUP) {
            gatherer.now();
        } else if (sig == SIGTERM || sig == SIGINT) {
            break;
        }
    }
    if (!gatherer.stop(std::chrono::seconds(5))) {
        // A gather is still reading a host: it changes nothing anywhere, so there is nothing to
        // finish; leave without waiting for its deadline.
        log("stopped during a gather");
        std::_Exit(0);
    }
    log("stopped");
    return 0;
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
