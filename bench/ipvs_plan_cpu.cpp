// The reconciler's own CPU for a cold apply, without a kernel (issue 17): the same rules as
// bench/run (bench/rules.h) reconciled against a kernel that has nothing and accepts every change
// at no cost, so what is timed is what lvsctl adds to the kernel's work: digests, observing,
// planning, the changes and the report. Runs on the host; no UML, no root.
//
//   build/gcc/bench/ipvs_plan_cpu [--services 5000] [--dests 20] [--pool 1000] [--rounds 5]
#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "lvsctl/lb/ipvs_plan.h"
#include "rules.h"

namespace {

using namespace lvsctl;

// Nothing in the table; every change accepted.
class NullKernel : public IpvsKernel {
  public:
    std::vector<ServiceInfo> services() override { return {}; }
    std::optional<std::vector<DestInfo>> destinations(const ServiceKey&) override {
        return std::nullopt;
    }
    std::vector<int> apply(const std::vector<IpvsChange>& changes) override {
        sent += changes.size();
        return std::vector<int>(changes.size(), 0);
    }
    std::size_t sent = 0;
};

// A table that holds the rules: dumps are copies of it, changes are accepted and not applied.
class TableKernel : public IpvsKernel {
  public:
    explicit TableKernel(const std::vector<DesiredService>& rules) {
        for (const auto& r : rules) {
            ServiceInfo info{r.key, r.settings, {}, {}};
            list.push_back(info);
            for (const auto& d : r.dests) {
                info.dests.push_back(DestInfo{d.key, d.settings, 0, 0, 0, {}});
            }
            table.emplace(r.key, std::move(info.dests));
        }
    }
    std::vector<ServiceInfo> services() override { return list; }
    std::optional<std::vector<DestInfo>> destinations(const ServiceKey& key) override {
        const auto it = table.find(key);
        if (it == table.end()) {
            return std::nullopt;
        }
        return it->second;
    }
    std::vector<int> apply(const std::vector<IpvsChange>& changes) override {
        sent += changes.size();
        return std::vector<int>(changes.size(), 0);
    }
    std::vector<ServiceInfo> list;
    std::map<ServiceKey, std::vector<DestInfo>> table;
    std::size_t sent = 0;
};

class NoClock : public Clock {
  public:
    std::chrono::steady_clock::time_point now() override { return {}; }
    void sleep(std::chrono::milliseconds) override {}
};

long peak_rss_kib() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
}

}  // namespace

int main(int argc, char** argv) {
    int services = 5000, dests = 20, pool = 1000, rounds = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view flag = argv[i];
        const int value = std::atoi(argv[i + 1]);
        if (flag == "--services") {
            services = value;
        } else if (flag == "--dests") {
            dests = value;
        } else if (flag == "--pool") {
            pool = value;
        } else if (flag == "--rounds") {
            rounds = value;
        } else {
            fmt::print(stderr,
                       "usage: ipvs_plan_cpu [--services N] [--dests N] [--pool N] "
                       "[--rounds N]\n");
            return 64;
        }
    }
    const auto rules = bench::make_rules(services, dests, pool);
    std::vector<double> took;
    std::size_t changes = 0, described = 0;
    for (int r = 0; r < rounds; ++r) {
        NullKernel kernel;
        NoClock clock;
        IpvsReconciler reconciler(kernel, clock);
        const auto start = std::chrono::steady_clock::now();
        const auto report = reconciler.reconcile(rules, {}, std::chrono::seconds(0));
        took.push_back(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        changes = kernel.sent;
        described = report.done.size();
    }
    std::sort(took.begin(), took.end());
    fmt::print(
        "cold reconcile without a kernel, {} x {}: {} changes, {} described; "
        "median {:.3f} s, best {:.3f} s of {} rounds\n",
        services, dests, changes, described, took[took.size() / 2], took.front(), rounds);

    // A full no-op reconcile against a table that has the rules (dumps are vector copies, so
    // this includes a little of what the kernel's dump would cost us).
    TableKernel table(rules);
    std::vector<double> noop;
    for (int r = 0; r < rounds; ++r) {
        NoClock clock;
        IpvsReconciler reconciler(table, clock);
        const auto start = std::chrono::steady_clock::now();
        const auto report = reconciler.reconcile(rules, {}, std::chrono::seconds(0));
        noop.push_back(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        if (report.made != 0) {
            fmt::print(stderr, "ipvs_plan_cpu: the no-op changed {} things\n", report.made);
            return 1;
        }
    }
    std::sort(noop.begin(), noop.end());
    fmt::print(
        "full no-op reconcile against a copy of the table: median {:.3f} s, best {:.3f} s; "
        "peak RSS {:.1f} MiB\n",
        noop[noop.size() / 2], noop.front(), static_cast<double>(peak_rss_kib()) / 1024);
    return 0;
}
