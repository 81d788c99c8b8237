// `lvsctl monitor`: on the LB, nanny's successor (docs/monitor.md): checks the real servers of
// the desired state `agent apply` left, and sets their weights. Wiring only; the loop is
// lb/monitor_loop.h.
#include <fmt/format.h>
#include <signal.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>

#include "checks/asio_checks.h"
#include "checks/http_server.h"
#include "ipvs/kernel.h"
#include "lvsctl/cli/app.h"
#include "lvsctl/cli/files.h"
#include "lvsctl/cli/lb_seams.h"
#include "lvsctl/cli/process.h"
#include "lvsctl/error.h"
#include "lvsctl/lb/monitor_loop.h"

namespace lvsctl::cli {

namespace {

struct MonitorOptions {
    std::int64_t cluster_id = 0;  // 0: the one the agent left a desired state for
    std::string state_dir = "/var/lib/lvsctl";
    std::string metrics_listen;  // "": no metrics
    std::size_t concurrency = 256;
    std::size_t program_concurrency = 16;
    std::size_t rounds = 0;  // 0: until SIGTERM
};

// Signals are taken synchronously: SIGTERM and SIGINT stop the loop between rounds (the table
// is left as it is), SIGHUP re-reads the desired state. Blocked before any thread starts, so
// that every thread inherits the mask and only sigtimedwait() sees them.
class ProcessEnvironment : public MonitorEnvironment {
  public:
    ProcessEnvironment(std::filesystem::path lock, std::chrono::seconds lock_timeout)
        : lock_(std::move(lock)), lock_timeout_(lock_timeout) {
        sigemptyset(&signals_);
        sigaddset(&signals_, SIGTERM);
        sigaddset(&signals_, SIGINT);
        sigaddset(&signals_, SIGHUP);
        pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
    }
    MonitorTime now() override { return MonitorClock::now(); }
    std::int64_t unix_now() override {
        return std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    }
    void sleep_until(MonitorTime until) override {
        for (;;) {
            const auto left = until - MonitorClock::now();
            if (left <= MonitorClock::duration::zero() || stop_ || reload_) {
                return;
            }
            const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
            wait(timespec{static_cast<time_t>(ns / 1'000'000'000),
                          static_cast<long>(ns % 1'000'000'000)});
        }
    }
    bool stopping() override {
        wait(timespec{0, 0});
        return stop_;
    }
    bool reload_requested() override {
        wait(timespec{0, 0});
        const bool r = reload_;
        reload_ = false;
        return r;
    }
    void log(const std::string& line) override {
        std::fprintf(stderr, "lvsctl monitor: %s\n", line.c_str());
        std::fflush(stderr);
    }
    void locked(const std::function<void()>& fn) override {
        const FileLock lock(lock_, lock_timeout_);
        fn();
    }
    bool try_locked(const std::function<void()>& fn) override {
        std::optional<FileLock> lock;
        try {
            lock.emplace(lock_, std::chrono::milliseconds(0));
        } catch (const Error& e) {
            if (e.code() == ExitCode::lock_busy) {
                return false;
            }
            throw;
        }
        fn();
        return true;
    }

  private:
    void wait(timespec timeout) {
        const int sig = sigtimedwait(&signals_, nullptr, &timeout);
        if (sig == SIGTERM || sig == SIGINT) {
            stop_ = true;
        } else if (sig == SIGHUP) {
            reload_ = true;
        }
    }

    std::filesystem::path lock_;
    std::chrono::seconds lock_timeout_;
    sigset_t signals_{};
    bool stop_ = false;
    bool reload_ = false;
};

int run_monitor(const MonitorOptions& opts, Context& ctx) {
    const std::filesystem::path dir(opts.state_dir);
    ProcessEnvironment env(dir / "agent.lock", std::chrono::seconds(ctx.settings.lock_timeout));
    ipvs::NetlinkKernel kernel;
    DirectoryRecords records(dir);
    checks::AsioCheckRunner checks;
    SpawnRunner programs(std::chrono::seconds(10), SpawnRunner::Environment::minimal);
    // After `env`: its thread starts with the signals blocked.
    std::unique_ptr<checks::MetricsServer> metrics;
    if (!opts.metrics_listen.empty()) {
        metrics = std::make_unique<checks::MetricsServer>(
            *parse_listen_address(opts.metrics_listen));  // checked by the option
        env.log(fmt::format("metrics on http://{}/metrics", opts.metrics_listen));
    }
    Monitor monitor(kernel);
    MonitorLoop loop(monitor, checks, programs, records, env, metrics.get());
    MonitorLoopSettings settings;
    settings.cluster_id = opts.cluster_id != 0 ? opts.cluster_id : monitored_cluster(records);
    settings.concurrency = opts.concurrency;
    settings.programs_parallel = opts.program_concurrency;
    if (opts.rounds > 0) {
        settings.rounds = opts.rounds;
    }
    loop.run(settings);
    env.log("stopped; the IPVS table is left as it is");
    return 0;
}

}  // namespace

void setup_monitor(CLI::App& parent, Registry& registry) {
    auto opts = std::make_shared<MonitorOptions>();
    auto* monitor = parent.add_subcommand(
        "monitor", "On the LB: check the real servers and set their weights (nanny's successor)");
    add_cluster_id(*monitor, opts->cluster_id)
        ->description("Cluster id (default: the one the agent left a desired state for)");
    monitor->add_option("--state-dir", opts->state_dir, "Where the agent left the desired state")
        ->type_name("DIR")
        ->default_str(opts->state_dir);
    monitor->add_option("--concurrency", opts->concurrency, "Checks in flight at once")
        ->check(CLI::Range(1, 4096))
        ->default_str(std::to_string(opts->concurrency));
    monitor
        ->add_option("--program-concurrency", opts->program_concurrency,
                     "Check programs and load commands running at once")
        ->check(CLI::Range(1, 256))
        ->default_str(std::to_string(opts->program_concurrency));
    monitor
        ->add_option("--metrics-listen", opts->metrics_listen,
                     "Serve Prometheus metrics at http://ADDRESS:PORT/metrics (off by default)")
        ->check(CLI::Validator(
            [](const std::string& text) {
                return parse_listen_address(text)
                           ? std::string()
                           : "expected ADDRESS:PORT, e.g. 127.0.0.1:9632 or [::1]:9632";
            },
            "ADDRESS:PORT"));
    monitor
        ->add_option("--rounds", opts->rounds, "Stop after this many rounds (0: run until SIGTERM)")
        ->check(CLI::NonNegativeNumber);
    registry.add(monitor, opts, run_monitor);
}

}  // namespace lvsctl::cli
