#include "lvsctl/manage/update.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <set>

#include "lvsctl/fanout.h"

namespace lvsctl {

std::string web_name(const Server& server) {
    return "web " + server.mgmt_address.str();
}

std::string lb_name(const LoadBalancer& lb) {
    return "lb " + lb.mgmt_address.str();
}

bool UpdateResult::pending() const {
    return std::any_of(plan.begin(), plan.end(),
                       [](const HostPlan& p) { return !p.changes.empty(); });
}

bool UpdateResult::changed() const {
    return std::any_of(applied.begin(), applied.end(),
                       [](const HostReport& r) { return !r.done.empty(); });
}

ExitCode UpdateResult::code() const {
    if (stopped) {
        return stopped->code;
    }
    std::vector<HostOutcome> hosts;
    for (std::size_t i = 0; i < plan.size(); ++i) {
        const auto& p = plan[i];
        if (p.error) {  // not read: nothing was changed there
            hosts.push_back({false, true, p.failure});
        } else if (i < applied.size() && !applied[i].ok()) {
            // Failed while changing: lost or timed out half-way, its state is not known. Only a
            // refusal (the agent is not root) is known to have changed nothing there.
            const auto& r = applied[i];
            const bool untouched = r.failure == ExitCode::permission && r.done.empty();
            hosts.push_back({false, untouched, untouched ? r.failure : std::nullopt});
        }
    }
    return run_exit_code(hosts, changed());
}

LbDesiredState held_back(const LbDesiredState& desired,
                         const std::optional<std::vector<IpAddress>>& lb_website_ips,
                         const std::optional<std::vector<IpAddress>>& lb_destinations,
                         bool all_web_ok, const std::vector<IpAddress>& web_ok_addresses) {
    auto out = desired;
    if (!all_web_ok) {
        const std::set<IpAddress> there(
            lb_website_ips ? lb_website_ips->begin() : desired.website_ips.end(),
            lb_website_ips ? lb_website_ips->end() : desired.website_ips.end());
        std::erase_if(out.website_ips, [&](const IpAddress& ip) { return !there.contains(ip); });
    }
    const std::set<IpAddress> dests(
        lb_destinations ? lb_destinations->begin() : web_ok_addresses.end(),
        lb_destinations ? lb_destinations->end() : web_ok_addresses.end());
    const std::set<IpAddress> ok(web_ok_addresses.begin(), web_ok_addresses.end());
    for (auto& svc : out.services) {
        std::erase_if(svc.destinations, [&](const Destination& d) {
            return !dests.contains(d.address) && !ok.contains(d.address);
        });
    }
    // The monitor checks destinations only: a server held back leaves its checks too (the
    // agent refuses a check of an address that is no destination, docs/agent-protocol.md).
    if (out.checks) {
        std::set<IpAddress> kept;
        for (const auto& svc : out.services) {
            for (const auto& d : svc.destinations) {
                kept.insert(d.address);
            }
        }
        std::erase_if(out.checks->servers,
                      [&](const CheckedServer& s) { return !kept.contains(s.address); });
    }
    // A family whose last website IP is held back keeps its service as the LB has it: only
    // drop the IPv6 service when the cluster itself has no IPv6 website IP any more.
    return out;
}

namespace {

// One host of the run: its name, its session, what was planned and what was done there.
struct HostSlot {
    std::string name;
    std::unique_ptr<Transport> transport;
    HostPlan plan;
    HostReport report;
    // Whether the host has failed anywhere in the run so far (what the progress line counts).
    bool failed() const { return plan.error.has_value() || !report.errors.empty(); }
};

struct WebHost : HostSlot {
    const Server* server = nullptr;
    std::optional<WebServerStep> step;
    bool added = false;
};

struct LbHost : HostSlot {
    const LoadBalancer* lb = nullptr;
    std::unique_ptr<LbBackend> backend;
    LbDesiredState desired;
};

}  // namespace

void describe(const WebPlan& p, std::vector<std::string>& out) {
    for (const auto& [name, value] : p.sysctls) {
        out.push_back(fmt::format("set {} = {}", name, value));
    }
    describe_addresses(p.add, p.remove, " (after the LBs)", out);
    if (p.add.empty() && p.remove.empty() && (p.record_grows() || p.record_after)) {
        out.push_back("update the record of this cluster's website IPs on lo");
    }
}

namespace {

// Runs `fn` for one host; what it throws becomes the host's failure (error.h's policy), in its
// report and, in the read phase, in its plan.
template <typename Fn>
void guarded(HostSlot& host, bool reading, Fn&& fn) {
    if (auto e = capture_host_error(host.name, fn)) {
        if (reading) {
            host.plan.error = e->message;
            host.plan.failure = e->code;
        }
        host.report.failure = e->code;
        host.report.errors.push_back(std::move(e->message));
    }
}

// One run of Updater::run: the hosts, and the phases in README.md's order.
class Run {
  public:
    Run(UpdateEnvironment& env, const UpdateSettings& settings, const Cluster& cluster)
        : env_(env),
          settings_(settings),
          cluster_(cluster),
          website_ips_(std::make_shared<const std::vector<IpAddress>>(cluster.website_ips)),
          lb_ssh_(env.needs_ssh(cluster)) {
        webs_.resize(cluster.servers.size());
        lbs_.resize(cluster.load_balancers.size());
        for (std::size_t i = 0; i < webs_.size(); ++i) {
            webs_[i].server = &cluster.servers[i];
            webs_[i].name = web_name(cluster.servers[i]);
            webs_[i].plan.host = webs_[i].report.host = webs_[i].name;
        }
        for (std::size_t i = 0; i < lbs_.size(); ++i) {
            lbs_[i].lb = &cluster.load_balancers[i];
            lbs_[i].name = lb_name(cluster.load_balancers[i]);
            lbs_[i].plan.host = lbs_[i].report.host = lbs_[i].name;
            lbs_[i].desired =
                desired_state(cluster, cluster.load_balancers[i], settings.drain_timeout);
        }
    }

    // 1. Reach and read every host at once; with lbs_only, the LBs first, and the web servers
    //    only when an LB cannot tell what it has.
    void read() {
        if (!settings_.lbs_only) {
            fan_out_with_progress(settings_.progress, "reading hosts", webs_.size() + lbs_.size(),
                                  settings_.parallel, [&](std::size_t i) {
                                      return i < webs_.size() ? read_web(webs_[i])
                                                              : read_lb(lbs_[i - webs_.size()]);
                                  });
            return;
        }
        fan_out_with_progress(settings_.progress, "reading load balancers", lbs_.size(),
                              settings_.parallel, [&](std::size_t i) { return read_lb(lbs_[i]); });
        const auto blind = std::find_if(lbs_.begin(), lbs_.end(), [](const LbHost& l) {
            return l.backend && !l.plan.error &&
                   (!l.backend->website_ips() || !l.backend->destinations());
        });
        if (blind != lbs_.end()) {
            notes_.push_back(fmt::format(
                "the web servers were read too: {} cannot tell which website IPs and servers it "
                "has, so nothing new could be kept from it",
                blind->name));
            fan_out_with_progress(settings_.progress, "reading web servers", webs_.size(),
                                  settings_.parallel,
                                  [&](std::size_t i) { return read_web(webs_[i]); });
            return;
        }
        lbs_only_ = true;
        webs_.clear();
        notes_.push_back(
            "the LBs only: the web servers were neither read nor changed (lvsctl update checks "
            "and repairs them)");
        hold_back();
    }

    bool lbs_only() const { return lbs_only_; }
    std::vector<std::string> notes() const { return notes_; }

    std::vector<HostPlan> plans() const {
        std::vector<HostPlan> out;
        for (const auto& w : webs_) {
            out.push_back(w.plan);
        }
        for (const auto& l : lbs_) {
            out.push_back(l.plan);
        }
        return out;
    }

    // 2. Web servers: sysctls and new website IPs on lo.
    void add_to_web_servers() {
        fan_out_with_progress(settings_.progress, "web servers: adding", webs_.size(),
                              settings_.parallel, [&](std::size_t i) {
                                  auto& w = webs_[i];
                                  if (w.step && !w.plan.error) {
                                      guarded(w, false, [&] { w.added = w.step->add(w.report); });
                                  }
                                  return w.failed();
                              });
    }

    // 3. LBs, holding back what a failed web server lacks (with lbs_only: what hold_back()
    //    held back). Returns whether every LB converged.
    bool converge_lbs() {
        bool all_web_ok = true;
        std::vector<IpAddress> web_ok;
        for (const auto& w : webs_) {
            if (w.added) {
                web_ok.push_back(w.server->address);
                if (w.server->address_v6) {
                    web_ok.push_back(*w.server->address_v6);
                }
            } else {
                all_web_ok = false;
            }
        }
        std::vector<char> lb_ok(lbs_.size(), 0);
        fan_out_with_progress(
            settings_.progress, "load balancers", lbs_.size(), settings_.parallel,
            [&](std::size_t i) {
                auto& l = lbs_[i];
                if (!l.backend || l.plan.error) {
                    return l.failed();
                }
                guarded(l, false, [&] {
                    if (lbs_only_) {  // held back already (hold_back())
                        lb_ok[i] = l.backend->apply(l.desired, l.report) ? 1 : 0;
                        return;
                    }
                    const auto ips = l.backend->website_ips();
                    if (!all_web_ok && !ips) {
                        l.report.errors.push_back(fmt::format(
                            "{}: not changed: a web server of the cluster failed, and this backend "
                            "cannot keep new website IPs and servers back",
                            l.name));
                        return;
                    }
                    const auto want =
                        held_back(l.desired, ips, l.backend->destinations(), all_web_ok, web_ok);
                    lb_ok[i] = l.backend->apply(want, l.report) ? 1 : 0;
                });
                return l.failed();
            });
        return std::all_of(lb_ok.begin(), lb_ok.end(), [](char c) { return c != 0; });
    }

    // 4. Web servers: former website IPs leave lo, once no LB sends them traffic.
    void remove_from_web_servers(bool all_lb_ok) {
        fan_out_with_progress(
            settings_.progress, "web servers: removing", webs_.size(), settings_.parallel,
            [&](std::size_t i) {
                auto& w = webs_[i];
                if (!w.added || (w.step->plan().remove.empty() && !w.step->plan().record_after)) {
                    return w.failed();
                }
                if (!all_lb_ok) {
                    if (!w.step->plan().remove.empty()) {
                        w.report.errors.push_back(
                            fmt::format("{}: former website IPs left on lo: an LB failed, and may "
                                        "still send them traffic",
                                        w.name));
                    }
                    return w.failed();
                }
                guarded(w, false, [&] { w.step->remove(w.report); });
                return w.failed();
            });
    }

    // Former website IPs that stay on lo because the run stopped before step 4.
    void note_left_on_lo(std::string_view why) {
        for (auto& w : webs_) {
            if (w.added && !w.step->plan().remove.empty()) {
                w.report.errors.push_back(
                    fmt::format("{}: former website IPs left on lo: {}", w.name, why));
            }
        }
    }

    std::vector<HostReport> reports() && {
        std::vector<HostReport> out;
        auto take = [&](HostSlot& h) {
            if (h.transport) {
                h.report.changing_commands = h.transport->changing_commands();
            }
            // Every error names its host, whichever step wrote it.
            for (auto& e : h.report.errors) {
                e = host_prefixed(h.name, e);
            }
            out.push_back(std::move(h.report));
        };
        std::for_each(webs_.begin(), webs_.end(), take);
        std::for_each(lbs_.begin(), lbs_.end(), take);
        return out;
    }

  private:
    // Reaches and reads one web server; returns whether it failed.
    bool read_web(WebHost& w) {
        guarded(w, true, [&] {
            w.transport = env_.connector().connect(w.server->mgmt_address,
                                                   static_cast<std::uint16_t>(w.server->ssh_port));
            w.step.emplace(*w.transport, w.name, cluster_.id, website_ips_);
            describe(w.step->observe(), w.plan.changes);
        });
        return w.failed();
    }

    // Reaches one LB (when its backend uses SSH), reads it through its backend and plans it;
    // returns whether it failed.
    bool read_lb(LbHost& l) {
        guarded(l, true, [&] {
            if (lb_ssh_) {
                l.transport = env_.connector().connect(l.lb->mgmt_address,
                                                       static_cast<std::uint16_t>(l.lb->ssh_port));
            }
            l.backend = env_.backend(cluster_, *l.lb, l.transport.get(), l.name);
            plan_lb(l);
        });
        return l.failed();
    }

    static void plan_lb(LbHost& l) {
        l.plan.changes = l.backend->plan(l.desired);
        l.plan.monitored = l.backend->has_monitor();
        l.plan.monitor = l.backend->monitor();
    }

    // lbs_only, once every LB is read: each LB's desired state becomes what it may get without
    // the web servers (held_back() as if all had failed), and an LB kept from something is
    // planned again for that (read once more), so that its plan is what step 3 will do.
    void hold_back() {
        std::vector<std::size_t> again;
        for (std::size_t i = 0; i < lbs_.size(); ++i) {
            auto& l = lbs_[i];
            if (!l.backend || l.plan.error) {
                continue;
            }
            // A server the LB's monitor took out of the table is still the LB's: were it held
            // back, the agent and its monitor would forget it (docs/monitor.md).
            auto has = l.backend->destinations();
            if (const auto monitor = l.backend->monitor(); has && monitor) {
                for (const auto& [address, health] : monitor->record.servers) {
                    has->push_back(address);
                }
            }
            auto held = held_back(l.desired, l.backend->website_ips(), has,
                                  /*all_web_ok=*/false, /*web_ok_addresses=*/{});
            if (const auto kept = kept_from(l.desired, held); !kept.empty()) {
                notes_.push_back(
                    fmt::format("{}: held back until lvsctl update has checked the "
                                "web servers: {}",
                                l.name, kept));
                l.desired = std::move(held);
                again.push_back(i);
            }
        }
        fan_out_with_progress(settings_.progress, "planning load balancers", again.size(),
                              settings_.parallel, [&](std::size_t k) {
                                  auto& l = lbs_[again[k]];
                                  guarded(l, true, [&] { plan_lb(l); });
                                  return l.failed();
                              });
    }

    // What `held` lacks of `desired`, in words: "website IPs A, B; servers C" (empty: nothing).
    static std::string kept_from(const LbDesiredState& desired, const LbDesiredState& held) {
        const std::set<IpAddress> ips(held.website_ips.begin(), held.website_ips.end());
        std::set<IpAddress> kept_ips;
        for (const auto& ip : desired.website_ips) {
            if (!ips.contains(ip)) {
                kept_ips.insert(ip);
            }
        }
        std::set<IpAddress> dests;
        for (const auto& svc : held.services) {
            for (const auto& d : svc.destinations) {
                dests.insert(d.address);
            }
        }
        std::set<IpAddress> kept_servers;
        for (const auto& svc : desired.services) {
            for (const auto& d : svc.destinations) {
                if (!dests.contains(d.address)) {
                    kept_servers.insert(d.address);
                }
            }
        }
        auto words = [](std::string_view what, const std::set<IpAddress>& addresses) {
            std::vector<std::string> strings;
            for (const auto& a : addresses) {
                strings.push_back(a.str());
            }
            return fmt::format("{}{} {}", what, addresses.size() == 1 ? "" : "s",
                               fmt::join(strings, ", "));
        };
        std::vector<std::string> parts;
        if (!kept_ips.empty()) {
            parts.push_back(words("new website IP", kept_ips));
        }
        if (!kept_servers.empty()) {
            parts.push_back(words("new server", kept_servers));
        }
        return fmt::format("{}", fmt::join(parts, "; "));
    }

    UpdateEnvironment& env_;
    const UpdateSettings& settings_;
    const Cluster& cluster_;
    // What every web server is to have on lo: one list for all of them.
    const std::shared_ptr<const std::vector<IpAddress>> website_ips_;
    const bool lb_ssh_;
    std::vector<WebHost> webs_;
    std::vector<LbHost> lbs_;
    bool lbs_only_ = false;  // settings_.lbs_only, and every LB read could tell what it has
    std::vector<std::string> notes_;
};

}  // namespace

UpdateResult Updater::run(const Cluster& cluster, bool dry_run) {
    // The progress line goes once the run is over, however it ends.
    struct EndProgress {
        Progress* progress;
        ~EndProgress() {
            if (progress != nullptr) {
                progress->end();
            }
        }
    } end_progress{settings_.progress};
    Run run(env_, settings_, cluster);
    run.read();
    UpdateResult result;
    result.plan = run.plans();
    result.lbs_only = run.lbs_only();
    result.notes = run.notes();
    if (dry_run) {
        return result;
    }
    // Between phases: is the run still allowed to change hosts (the cluster's lock held)?
    auto may_go_on = [&](std::string_view before) {
        if (guard_ == nullptr) {
            return true;
        }
        try {
            guard_->check();
            return true;
        } catch (const Error& e) {
            result.stopped =
                RunStop{e.code(), fmt::format("{}; stopped before {}", e.what(), before)};
            return false;
        }
    };
    if (run.lbs_only()) {
        // No web server to change before the LBs, nor after them.
        if (may_go_on("changing any host")) {
            run.converge_lbs();
        }
    } else if (may_go_on("changing any host")) {
        run.add_to_web_servers();
        if (may_go_on("changing the LBs")) {
            const bool all_lb_ok = run.converge_lbs();
            if (may_go_on("removing former website IPs from web servers")) {
                run.remove_from_web_servers(all_lb_ok);
            } else {
                run.note_left_on_lo("the run stopped first");
            }
        }
    }
    result.applied = std::move(run).reports();
    return result;
}

}  // namespace lvsctl
