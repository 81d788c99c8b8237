// ipvs_apply: how fast lvsctl's IPVS library programs a large table, and what it sends.
//
// Builds S services x D destinations (half firewall-mark services, half TCP address:port
// services, direct routing, wrr) and runs the steps asked for against the kernel:
//   cold    reconcile from an empty table (refuses to run on a table that has services)
//   noop    reconcile the same rules again: must send no changing message
//   change  reconcile with one destination's weight changed, as the agent's run does: trusting
//           the digests the previous step left (--state, or in memory), so dumping the service
//           list and the changed service only; must send exactly one change
//   change_full  put that weight back with a full reconcile (agent apply --full): one change
//   verify  dump the whole table and compare it with the rules (and count)
//   dump    time a dump of the whole table (services, then one dump per service)
// It can also write the same rules for `ipvsadm -R` and as a keepalived.conf, so that the three
// tools program exactly the same table (bench/run does that inside user-mode Linux).
//
// A benchmark, not a test: it prints figures, and exits non-zero only when a step's result is
// wrong (a change refused, a no-op that changed something, a table that differs).
#include <fmt/format.h>
#include <malloc.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ipvs/kernel.h"
#include "lvsctl/error.h"
#include "lvsctl/lb/agent_state.h"
#include "lvsctl/lb/ipvs_plan.h"
#include "rules.h"

namespace {

using lvsctl::DesiredService;
using lvsctl::DestKey;
using lvsctl::DestSettings;
using lvsctl::ServiceKey;
using Seconds = std::chrono::duration<double>;

struct Options {
    int services = 5000;
    int dests = 20;
    int pool = 1000;  // distinct real servers, shared by the services as on a web farm
    std::size_t window = 512;
    std::vector<std::string> steps;
    bool steps_given = false;
    std::string tag;          // prefix of the result keys
    std::string results;      // append key=value lines here
    std::string ipvsadm_out;  // write the rules for `ipvsadm -R` here
    std::string keepalived_out;
    std::string state;  // where the digests live between runs (an agent-state.json)
};

[[noreturn]] void usage(int status) {
    std::fputs(
        "usage: ipvs_apply [--services N] [--dests M] [--pool P] [--window W]\n"
        "                  [--steps STEP,...] [--tag NAME] [--results FILE]\n"
        "                  [--write-ipvsadm FILE] [--write-keepalived FILE] [--state FILE]\n"
        "steps: cold noop change change_full verify dump\n"
        "       (default: cold,verify,noop,change,verify;\n"
        "       none when only --write-* is given). Defaults: 5000 services x 20 dests,\n"
        "       a pool of 1000 real servers, window 512 (changes in flight).\n",
        status == 0 ? stdout : stderr);
    std::exit(status);
}

std::vector<std::string> split(const std::string& text, char sep) {
    std::vector<std::string> out;
    std::stringstream in(text);
    for (std::string item; std::getline(in, item, sep);) {
        if (!item.empty()) {
            out.push_back(item);
        }
    }
    return out;
}

int positive(const std::string& flag, const std::string& value) {
    try {
        std::size_t used = 0;
        const long n = std::stol(value, &used);
        if (used == value.size() && n > 0 && n <= 1000000) {
            return static_cast<int>(n);
        }
    } catch (const std::exception&) {
    }
    std::fprintf(stderr, "ipvs_apply: %s wants a positive number, not '%s'\n", flag.c_str(),
                 value.c_str());
    usage(64);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        if (flag == "-h" || flag == "--help") {
            usage(0);
        }
        if (i + 1 >= argc) {
            std::fprintf(stderr, "ipvs_apply: unknown flag or missing value: %s\n", flag.c_str());
            usage(64);
        }
        const std::string value = argv[++i];
        if (flag == "--services") {
            o.services = positive(flag, value);
        } else if (flag == "--dests") {
            o.dests = positive(flag, value);
        } else if (flag == "--pool") {
            o.pool = positive(flag, value);
        } else if (flag == "--window") {
            o.window = static_cast<std::size_t>(positive(flag, value));
        } else if (flag == "--steps") {
            o.steps = split(value, ',');
            o.steps_given = true;
        } else if (flag == "--tag") {
            o.tag = value;
        } else if (flag == "--results") {
            o.results = value;
        } else if (flag == "--write-ipvsadm") {
            o.ipvsadm_out = value;
        } else if (flag == "--write-keepalived") {
            o.keepalived_out = value;
        } else if (flag == "--state") {
            o.state = value;
        } else {
            std::fprintf(stderr, "ipvs_apply: unknown flag %s\n", flag.c_str());
            usage(64);
        }
    }
    if (!o.steps_given) {
        if (o.ipvsadm_out.empty() && o.keepalived_out.empty()) {
            o.steps = {"cold", "verify", "noop", "change", "verify"};
        }
    }
    for (const auto& s : o.steps) {
        if (s != "cold" && s != "noop" && s != "change" && s != "change_full" && s != "verify" &&
            s != "dump") {
            std::fprintf(stderr, "ipvs_apply: unknown step '%s'\n", s.c_str());
            usage(64);
        }
    }
    // Two fwmark/address halves, addresses from 10.100.0.0/16 and 10.200.0.0/16.
    if (o.services > 100000 || o.pool > 60000) {
        std::fputs("ipvs_apply: at most 100000 services and a pool of 60000\n", stderr);
        usage(64);
    }
    if (o.pool < o.dests) {
        o.pool = o.dests;  // a service's destinations must be distinct
    }
    return o;
}

// ---- the rules ------------------------------------------------------------------------------

std::string ipvsadm_service(const ServiceKey& key) {
    return key.fwmark != 0 ? fmt::format("-f {}", key.fwmark)
                           : fmt::format("-t {}:{}", key.address.str(), key.port);
}

void write_ipvsadm(const std::vector<DesiredService>& rules, const std::string& path) {
    std::ofstream out(path);
    for (const auto& svc : rules) {
        const auto service = ipvsadm_service(svc.key);
        out << fmt::format("-A {} -s {}\n", service, svc.settings.scheduler);
        for (const auto& d : svc.dests) {
            out << fmt::format("-a {} -r {}:{} -g -w {}\n", service, d.key.address.str(),
                               d.key.port, d.settings.weight);
        }
    }
    if (!out.flush()) {
        throw lvsctl::Error(lvsctl::ExitCode::internal, "cannot write " + path);
    }
}

void write_keepalived(const std::vector<DesiredService>& rules, const std::string& path) {
    std::ofstream out(path);
    out << "# " << rules.size() << " virtual servers from bench/ipvs_apply, no checkers\n"
        << "global_defs {\n    router_id ipvs_apply_bench\n}\n";
    for (const auto& svc : rules) {
        if (svc.key.fwmark != 0) {
            out << fmt::format("virtual_server fwmark {} {{\n", svc.key.fwmark);
        } else {
            out << fmt::format("virtual_server {} {} {{\n    protocol TCP\n", svc.key.address.str(),
                               svc.key.port);
        }
        out << fmt::format("    lvs_sched {}\n    lvs_method DR\n", svc.settings.scheduler);
        for (const auto& d : svc.dests) {
            out << fmt::format("    real_server {} {} {{\n        weight {}\n    }}\n",
                               d.key.address.str(), d.key.port, d.settings.weight);
        }
        out << "}\n";
    }
    if (!out.flush()) {
        throw lvsctl::Error(lvsctl::ExitCode::internal, "cannot write " + path);
    }
}

// ---- measuring ------------------------------------------------------------------------------

class SteadyClock : public lvsctl::Clock {
  public:
    std::chrono::steady_clock::time_point now() override {
        return std::chrono::steady_clock::now();
    }
    void sleep(std::chrono::milliseconds duration) override {
        std::this_thread::sleep_for(duration);
    }
};

// Page faults: each one is a round trip through the host under user-mode Linux, so memory
// touched for the first time (or again after malloc gave it back) shows in the times.
// (CPU times are left out: UML charges nearly everything to user time.)
std::int64_t page_faults() {
    rusage r{};
    getrusage(RUSAGE_SELF, &r);
    return r.ru_minflt + r.ru_majflt;
}

// Passes everything to the real kernel and keeps the time spent in dumps and in applying, so
// that a step's time splits into dump / apply / the rest (planning, our own CPU).
class TimedKernel : public lvsctl::IpvsKernel {
  public:
    explicit TimedKernel(lvsctl::IpvsKernel& inner) : inner_(inner) {}

    std::vector<lvsctl::ServiceInfo> services() override {
        const auto start = std::chrono::steady_clock::now();
        auto out = inner_.services();
        dump += std::chrono::steady_clock::now() - start;
        ++service_dumps;
        return out;
    }
    std::optional<std::vector<lvsctl::DestInfo>> destinations(const ServiceKey& key) override {
        const auto start = std::chrono::steady_clock::now();
        auto out = inner_.destinations(key);
        dump += std::chrono::steady_clock::now() - start;
        ++dest_dumps;
        return out;
    }
    std::vector<int> apply(const std::vector<lvsctl::IpvsChange>& changes) override {
        const auto faults = page_faults();
        const auto start = std::chrono::steady_clock::now();
        auto out = inner_.apply(changes);
        applying += std::chrono::steady_clock::now() - start;
        apply_faults += page_faults() - faults;
        ++apply_calls;
        return out;
    }

    Seconds dump{0}, applying{0};
    std::uint64_t service_dumps = 0, dest_dumps = 0, apply_calls = 0;
    std::int64_t apply_faults = 0;

  private:
    lvsctl::IpvsKernel& inner_;
};

class Results {
  public:
    explicit Results(const Options& o) : prefix_(o.tag.empty() ? "" : o.tag + ".") {
        if (!o.results.empty()) {
            file_.open(o.results, std::ios::app);
            if (!file_) {
                throw lvsctl::Error(lvsctl::ExitCode::internal, "cannot open " + o.results);
            }
        }
    }
    template <typename T>
    void put(const std::string& step, const std::string& key, const T& value) {
        if (file_.is_open()) {
            file_ << prefix_ << step << '.' << key << '=' << value << '\n';
            file_.flush();
        }
    }

  private:
    std::string prefix_;
    std::ofstream file_;
};

struct Figures {
    double seconds = 0;
    std::uint64_t messages = 0, sendmsgs = 0;
};

// ---- the steps ------------------------------------------------------------------------------

struct Bench {
    const Options& opts;
    Results& results;
    lvsctl::ipvs::NetlinkKernel kernel;
    SteadyClock clock;
    std::map<std::string, int> runs;   // "verify" twice: verify, verify2
    lvsctl::ServiceDigests converged;  // what the last reconcile left (the agent's record)
    std::size_t last_trusted = 0;

    void load_state() {
        std::ifstream in(opts.state);
        if (opts.state.empty() || !in) {
            return;
        }
        std::stringstream text;
        text << in.rdbuf();
        converged = lvsctl::parse_agent_state(text.str(), opts.state).digests;
    }
    void save_state() const {
        if (opts.state.empty()) {
            return;
        }
        lvsctl::AgentState state;
        state.digests = converged;
        std::ofstream out(opts.state, std::ios::trunc);
        out << lvsctl::to_json(state);
        if (!out) {
            throw lvsctl::Error(lvsctl::ExitCode::internal, "cannot write " + opts.state);
        }
    }

    std::string key_of(const std::string& step) {
        const int n = ++runs[step];
        return n == 1 ? step : fmt::format("{}{}", step, n);
    }

    // Runs one reconcile and prints/records what it took; returns the changes sent.
    // `trusting`: with the digests of the previous reconcile, as the agent's default run.
    std::size_t reconcile(const std::string& step, const std::vector<DesiredService>& desired,
                          bool trusting = false) {
        TimedKernel timed(kernel);
        lvsctl::IpvsReconciler reconciler(timed, clock);
        const auto messages = kernel.messages_sent();
        const auto sendmsgs = kernel.sendmsg_calls();
        const auto faults = page_faults();
        const auto start = std::chrono::steady_clock::now();
        const auto report =
            reconciler.reconcile(desired, {}, std::chrono::seconds(0),
                                 std::chrono::milliseconds(500), trusting ? &converged : nullptr);
        const Seconds took = std::chrono::steady_clock::now() - start;
        const auto faulted = page_faults() - faults;
        // The digests kept for the next step, as the agent keeps them in its record: the agent's
        // work after the reconcile, timed on its own (agent_ipvs times the agent's whole run).
        converged = report.converged;
        last_trusted = report.trusted;
        const auto saving = std::chrono::steady_clock::now();
        save_state();
        const Seconds saved = std::chrono::steady_clock::now() - saving;
        const auto name = key_of(step);
        const auto sent = kernel.messages_sent() - messages;
        const auto calls = kernel.sendmsg_calls() - sendmsgs;
        const double other = took.count() - timed.dump.count() - timed.applying.count();
        fmt::print(
            "{:<8} {:9.3f} s  changes {:>7}  messages {:>7}  sendmsg {:>5}  "
            "(dump {:.3f} s in {} dumps, apply {:.3f} s, plan+other {:.3f} s; "
            "{} page faults, {} in apply; {} services trusted; digests saved in {:.3f} s)\n",
            name, took.count(), report.changes_sent, sent, calls, timed.dump.count(),
            timed.service_dumps + timed.dest_dumps, timed.applying.count(), other, faulted,
            timed.apply_faults, report.trusted, saved.count());
        results.put(name, "seconds", took.count());
        results.put(name, "trusted", report.trusted);
        results.put(name, "changes", report.changes_sent);
        results.put(name, "errors", report.errors.size());
        results.put(name, "messages", sent);
        results.put(name, "sendmsg", calls);
        results.put(name, "dumps", timed.service_dumps + timed.dest_dumps);
        results.put(name, "dump_seconds", timed.dump.count());
        results.put(name, "apply_seconds", timed.applying.count());
        results.put(name, "other_seconds", other);
        results.put(name, "page_faults", faulted);
        results.put(name, "save_seconds", saved.count());
        results.put(name, "apply_page_faults", timed.apply_faults);
        for (std::size_t i = 0; i < report.errors.size() && i < 10; ++i) {
            fmt::print(stderr, "ipvs_apply: {}: {}\n", name, report.errors[i]);
        }
        if (!report.errors.empty()) {
            throw lvsctl::Error(lvsctl::ExitCode::kernel,
                                fmt::format("{}: {} changes refused", name, report.errors.size()));
        }
        return report.changes_sent;
    }

    bool cold(const std::vector<DesiredService>& rules) {
        if (!kernel.services().empty()) {
            throw lvsctl::Error(lvsctl::ExitCode::usage,
                                "cold: the IPVS table is not empty (flush it: ipvsadm -C)");
        }
        const auto expected = rules.size() + rules.size() * static_cast<std::size_t>(opts.dests);
        const auto sent = reconcile("cold", rules);
        if (sent != expected) {
            fmt::print(stderr, "ipvs_apply: cold: {} changes sent, {} expected\n", sent, expected);
            return false;
        }
        return true;
    }

    bool noop(const std::vector<DesiredService>& rules) {
        const auto sent = reconcile("noop", rules);
        if (sent != 0) {
            fmt::print(stderr, "ipvs_apply: noop: {} changing messages, 0 expected\n", sent);
            return false;
        }
        return true;
    }

    bool change(std::vector<DesiredService> rules) {
        // The middle service's first destination: not at either end of the kernel's lists.
        auto& dest = rules[rules.size() / 2].dests.front();
        dest.settings.weight = dest.settings.weight == 100 ? 99 : 100;
        const auto sent = reconcile("change", rules, true);
        if (sent != 1) {
            fmt::print(stderr, "ipvs_apply: change: {} changing messages, 1 expected\n", sent);
            return false;
        }
        if (last_trusted + 1 != rules.size()) {
            fmt::print(stderr,
                       "ipvs_apply: change: {} services trusted, {} expected (no digests from "
                       "the step before? give --state)\n",
                       last_trusted, rules.size() - 1);
            return false;
        }
        return true;
    }

    // The same destination back to its weight with a full reconcile (every service's
    // destinations dumped and compared), as `agent apply --full` does.
    bool change_full(const std::vector<DesiredService>& rules) {
        const auto sent = reconcile("change_full", rules);
        if (sent != 1) {
            fmt::print(stderr, "ipvs_apply: change_full: {} changing messages, 1 expected\n", sent);
            return false;
        }
        return true;
    }

    // The table as ipvsadm would show it must be the rules, whichever tool programmed it;
    // after `change` (and before `change_one`) the changed weight is expected.
    bool verify(const std::vector<DesiredService>& rules, bool changed) {
        auto want = rules;
        if (changed) {
            auto& dest = want[want.size() / 2].dests.front();
            dest.settings.weight = dest.settings.weight == 100 ? 99 : 100;
        }
        const auto messages = kernel.messages_sent();
        const auto start = std::chrono::steady_clock::now();
        const auto table = kernel.table();
        const Seconds took = std::chrono::steady_clock::now() - start;
        std::map<ServiceKey, const lvsctl::ServiceInfo*> have;
        std::size_t dests = 0;
        for (const auto& svc : table) {
            have.emplace(svc.key, &svc);
            dests += svc.dests.size();
        }
        std::size_t wrong = 0;
        auto complain = [&](const std::string& what) {
            if (++wrong <= 10) {
                fmt::print(stderr, "ipvs_apply: verify: {}\n", what);
            }
        };
        for (const auto& svc : want) {
            const auto it = have.find(svc.key);
            if (it == have.end()) {
                complain(fmt::format("{} is missing", svc.key.str()));
                continue;
            }
            if (it->second->settings != svc.settings) {
                complain(fmt::format(
                    "{} has other settings ({} flags {:#x} timeout {} netmask {:#x})",
                    svc.key.str(), it->second->settings.scheduler, it->second->settings.flags,
                    it->second->settings.timeout, it->second->settings.netmask));
            }
            std::map<DestKey, DestSettings> got;
            for (const auto& d : it->second->dests) {
                got.emplace(d.key, d.settings);
            }
            for (const auto& d : svc.dests) {
                const auto found = got.find(d.key);
                if (found == got.end()) {
                    complain(fmt::format("{} lacks {}", svc.key.str(), d.key.str()));
                } else if (found->second != d.settings) {
                    complain(fmt::format("{} {}: {} weight {}, want {} weight {}", svc.key.str(),
                                         d.key.str(), lvsctl::to_string(found->second.forward),
                                         found->second.weight,
                                         lvsctl::to_string(d.settings.forward), d.settings.weight));
                }
            }
            if (got.size() != svc.dests.size()) {
                complain(fmt::format("{} has {} destinations, want {}", svc.key.str(), got.size(),
                                     svc.dests.size()));
            }
        }
        if (table.size() != want.size()) {
            complain(fmt::format("{} services in the table, want {}", table.size(), want.size()));
        }
        const auto name = key_of("verify");
        fmt::print("{:<8} {:9.3f} s  services {} dests {} ({} messages): {}\n", name, took.count(),
                   table.size(), dests, kernel.messages_sent() - messages,
                   wrong == 0 ? "the table is the rules" : fmt::format("{} differences", wrong));
        results.put(name, "seconds", took.count());
        results.put(name, "services", table.size());
        results.put(name, "dests", dests);
        results.put(name, "ok", wrong == 0 ? 1 : 0);
        return wrong == 0;
    }

    void dump() {
        const auto messages = kernel.messages_sent();
        const auto sendmsgs = kernel.sendmsg_calls();
        const auto start = std::chrono::steady_clock::now();
        const auto table = kernel.table();
        const Seconds took = std::chrono::steady_clock::now() - start;
        std::size_t dests = 0;
        for (const auto& svc : table) {
            dests += svc.dests.size();
        }
        const auto name = key_of("dump");
        fmt::print("{:<8} {:9.3f} s  services {} dests {}  messages {}  sendmsg {}\n", name,
                   took.count(), table.size(), dests, kernel.messages_sent() - messages,
                   kernel.sendmsg_calls() - sendmsgs);
        results.put(name, "seconds", took.count());
        results.put(name, "messages", kernel.messages_sent() - messages);
    }
};

int run(const Options& opts) {
    const auto rules = bench::make_rules(opts.services, opts.dests, opts.pool);
    if (!opts.ipvsadm_out.empty()) {
        write_ipvsadm(rules, opts.ipvsadm_out);
    }
    if (!opts.keepalived_out.empty()) {
        write_keepalived(rules, opts.keepalived_out);
    }
    if (opts.steps.empty()) {
        return 0;
    }
    Results results(opts);
    fmt::print("ipvs_apply: {} services x {} destinations ({} rules), window {}\n", opts.services,
               opts.dests,
               static_cast<std::size_t>(opts.services) * (1 + static_cast<std::size_t>(opts.dests)),
               opts.window);
    std::fflush(stdout);
    Bench bench{opts, results, lvsctl::ipvs::NetlinkKernel(opts.window), {}, {}, {}, 0};
    bench.load_state();
    bool ok = true;
    bool changed = false;
    for (const auto& step : opts.steps) {
        if (step == "cold") {
            ok = bench.cold(rules) && ok;
        } else if (step == "noop") {
            ok = bench.noop(rules) && ok;
        } else if (step == "change") {
            ok = bench.change(rules) && ok;
            changed = true;
        } else if (step == "change_full") {
            ok = bench.change_full(rules) && ok;
            changed = false;
        } else if (step == "verify") {
            ok = bench.verify(rules, changed) && ok;
        } else if (step == "dump") {
            bench.dump();
        }
        std::fflush(stdout);
    }
    return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    // The malloc settings `agent apply` runs the reconciler with (lvsctl/cli/cmd_agent.cpp): what
    // a step frees (a dump's buffers, the cold apply's changes) is kept for what it allocates
    // next, not returned to the kernel and faulted in again page by page.
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
    try {
        return run(parse(argc, argv));
    } catch (const lvsctl::Error& e) {
        std::fprintf(stderr, "ipvs_apply: %s\n", e.what());
        return static_cast<int>(e.code());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ipvs_apply: %s\n", e.what());
        return 70;
    }
}
