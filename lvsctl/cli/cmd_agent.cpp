// `lvsctl agent apply|show`: runs on the LB and converges its kernel (SPEC.md section 6).
#include <fmt/format.h>
#include <fmt/ostream.h>
#include <net/if.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <memory>
#include <set>
#include <thread>

#include "ipvs/addresses.h"
#include "ipvs/kernel.h"
#include "lvsctl/agent_state.h"
#include "lvsctl/cli/app.h"
#include "lvsctl/cli/files.h"
#include "lvsctl/cli/process.h"
#include "lvsctl/desired_state.h"
#include "lvsctl/error.h"
#include "lvsctl/ipvs_plan.h"
#include "lvsctl/json_output.h"
#include "lvsctl/marks.h"
#include "lvsctl/vip_plan.h"

namespace lvsctl::cli {

namespace {

struct AgentOptions {
    std::string marks;  // "", "nft" or "iptables"
    std::string state_dir = "/var/lib/lvsctl";
    bool full = false;
    // A run trusts the digests of services it left converged, unless the last full run (every
    // service's destinations dumped and compared) is older than this.
    int full_interval = 3600;
};

class SteadyClock : public Clock {
  public:
    std::chrono::steady_clock::time_point now() override {
        return std::chrono::steady_clock::now();
    }
    void sleep(std::chrono::milliseconds duration) override {
        std::this_thread::sleep_for(duration);
    }
};

std::filesystem::path state_file(const AgentOptions& opts) {
    return std::filesystem::path(opts.state_dir) / "agent-state.json";
}

AgentState load_state(const std::filesystem::path& path) {
    const auto text = read_file_if_exists(path);
    return text ? parse_agent_state(*text, path.string()) : AgentState{};
}

// The aliases half of a run: which to add and remove, and what the agent owns afterwards.
struct VipStep {
    ipvs::NetlinkAddresses& kernel;
    int ifindex;
    std::string interface;
    std::vector<std::string> done;
    std::vector<std::string> errors;

    void add(const std::vector<IpAddress>& ips, std::set<IpAddress>& owned) {
        const auto results = kernel.add(ifindex, ips);
        for (std::size_t i = 0; i < ips.size(); ++i) {
            const auto what = fmt::format("add address {}/{} to {}", ips[i].str(),
                                          ips[i].is_v4() ? 32 : 128, interface);
            if (results[i] == 0) {
                done.push_back(what);
                owned.insert(ips[i]);
            } else {
                errors.push_back(fmt::format("{}: {}", what, std::strerror(results[i])));
            }
        }
    }
    void remove(int index, const std::string& name, const std::vector<InterfaceAddress>& addrs,
                std::set<IpAddress>& owned) {
        const auto results = kernel.remove(index, addrs);
        for (std::size_t i = 0; i < addrs.size(); ++i) {
            const auto what = fmt::format("remove address {}/{} from {}", addrs[i].address.str(),
                                          addrs[i].prefix, name);
            if (results[i] == 0 || results[i] == EADDRNOTAVAIL) {
                done.push_back(what);
                owned.erase(addrs[i].address);
            } else {
                errors.push_back(fmt::format("{}: {}", what, std::strerror(results[i])));
            }
        }
    }
};

int run_apply(const AgentOptions& opts, Context& ctx) {
    const auto desired_state = parse_desired_state(read_stream(std::cin));
    ipvs::NetlinkAddresses addresses;
    const auto ifindex = addresses.interface_index(desired_state.interface);
    if (!ifindex) {
        throw Error(ExitCode::data,
                    fmt::format("desired state: interface {} does not exist on this host",
                                desired_state.interface));
    }
    const auto desired = ipvs_services(desired_state);
    const auto path = state_file(opts);
    const auto previous = load_state(path);

    std::set<ServiceKey> wanted;
    for (const auto& svc : desired) {
        wanted.insert(svc.key);
    }
    std::vector<ServiceKey> retired;
    for (const auto& key : previous.services) {
        if (!wanted.contains(key)) {
            retired.push_back(key);
        }
    }
    // Ownership is recorded before anything is created, so that a run that dies half-way still
    // knows what it may have put there; and without digests, so that the run after one that died
    // half-way trusts nothing it might have left half-changed.
    AgentState owned = previous;
    owned.digests.clear();
    for (const auto& key : wanted) {
        if (std::find(owned.services.begin(), owned.services.end(), key) == owned.services.end()) {
            owned.services.push_back(key);
        }
    }
    if (std::find(owned.marks.begin(), owned.marks.end(), desired_state.fwmark) ==
        owned.marks.end()) {
        owned.marks.push_back(desired_state.fwmark);
    }
    write_file_atomic(path, to_json(owned), 0600);

    // 1. IPVS: services and destinations, draining what goes.
    ipvs::NetlinkKernel kernel;
    SteadyClock clock;
    IpvsReconciler reconciler(kernel, clock);
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    const bool full = opts.full || previous.digests.empty() || now < previous.last_full ||
                      now - previous.last_full >= opts.full_interval;
    auto report =
        reconciler.reconcile(desired, retired, std::chrono::seconds(desired_state.drain_timeout),
                             std::chrono::milliseconds(500), full ? nullptr : &previous.digests);
    owned.digests = report.converged;
    if (full && report.errors.empty()) {
        owned.last_full = now;
    }
    owned.services.assign(wanted.begin(), wanted.end());
    for (const auto& [key, info] : reconciler.observe(retired)) {
        owned.services.push_back(key);
    }

    // 2. Marks and aliases: a new website IP is marked before its alias draws traffic; a removed
    // one loses its alias before its mark.
    SpawnRunner runner;
    const std::string via = !opts.marks.empty()           ? opts.marks
                            : NftMarks::supported(runner) ? "nft"
                                                          : "iptables";
    IptablesMarks iptables(runner);
    NftMarks nft(runner);
    Marks& marks = via == "nft" ? static_cast<Marks&>(nft) : iptables;
    if (!previous.marks_via.empty() && previous.marks_via != via && !previous.marks.empty()) {
        // Switching between nft and iptables: the other one's sets and rules go first.
        Marks& old = previous.marks_via == "nft" ? static_cast<Marks&>(nft) : iptables;
        MarkSpec none{previous.marks.front(), desired_state.protocol, desired_state.ports, {}};
        old.apply(none, previous.marks);
    }
    MarkSpec spec{desired_state.fwmark, desired_state.protocol, desired_state.ports,
                  desired_state.website_ips};
    std::vector<std::uint32_t> retired_marks;
    for (auto m : previous.marks) {
        if (m != desired_state.fwmark) {
            retired_marks.push_back(m);
        }
    }
    const bool same_interface = previous.interface == desired_state.interface;
    const auto present = addresses.addresses(*ifindex);
    const auto plan = plan_vips(desired_state.website_ips, present,
                                same_interface ? previous.vips : std::vector<IpAddress>{});
    // Owned afterwards: what we placed here before, desired IPs already here as host routes
    // (taken over), and what we add now; less what we remove.
    std::set<IpAddress> vips;
    if (same_interface) {
        vips.insert(previous.vips.begin(), previous.vips.end());
    }
    const std::set<IpAddress> desired_ips(desired_state.website_ips.begin(),
                                          desired_state.website_ips.end());
    for (const auto& a : present) {
        if (a.is_host_route() && desired_ips.contains(a.address)) {
            vips.insert(a.address);
        }
    }
    VipStep step{addresses, *ifindex, desired_state.interface, {}, {}};
    std::vector<std::string> mark_done;
    auto apply_marks = [&](const MarkSpec& s, const std::vector<std::uint32_t>& r) {
        const auto m = marks.apply(s, r);
        mark_done.insert(mark_done.end(), m.done.begin(), m.done.end());
    };
    auto leaving = spec;
    for (const auto& a : plan.remove) {
        leaving.website_ips.push_back(a.address);
    }
    apply_marks(plan.remove.empty() ? spec : leaving,
                plan.remove.empty() ? retired_marks : std::vector<std::uint32_t>{});
    step.add(plan.add, vips);
    step.remove(*ifindex, desired_state.interface, plan.remove, vips);
    if (!same_interface && !previous.interface.empty()) {
        if (const auto old = addresses.interface_index(previous.interface)) {
            const auto old_plan = plan_vips({}, addresses.addresses(*old), previous.vips);
            std::set<IpAddress> old_owned(previous.vips.begin(), previous.vips.end());
            step.remove(*old, previous.interface, old_plan.remove, old_owned);
        }
    }
    if (!plan.remove.empty()) {
        apply_marks(spec, retired_marks);
    }
    owned.interface = desired_state.interface;
    owned.vips.assign(vips.begin(), vips.end());
    owned.marks = {desired_state.fwmark};
    owned.marks_via = via;
    write_file_atomic(path, to_json(owned), 0600);

    report.done.insert(report.done.end(), mark_done.begin(), mark_done.end());
    report.done.insert(report.done.end(), step.done.begin(), step.done.end());
    auto errors = report.errors;
    errors.insert(errors.end(), step.errors.begin(), step.errors.end());
    ctx.out << agent_report_document(report, errors);
    for (const auto& error : errors) {
        fmt::print(ctx.err, "lvsctl agent: {}\n", error);
    }
    return errors.empty() ? 0 : static_cast<int>(ExitCode::kernel);
}

int run_show(const AgentOptions& opts, Context& ctx) {
    ipvs::NetlinkKernel kernel;
    const auto state = load_state(state_file(opts));
    PlacedState placed{state.interface, {}, state.marks, state.marks_via};
    ipvs::NetlinkAddresses addresses;
    if (const auto index = addresses.interface_index(state.interface)) {
        const std::set<IpAddress> owned(state.vips.begin(), state.vips.end());
        for (const auto& a : addresses.addresses(*index)) {
            if (owned.contains(a.address) && a.is_host_route()) {
                placed.website_ips.push_back(a.address);
            }
        }
    }
    ctx.out << agent_show_document(kernel.table(), placed);
    return 0;
}

}  // namespace

void setup_agent(CLI::App& parent, Registry& registry) {
    auto* group = parent.add_subcommand("agent", "On the LB: converge or show the local kernel");
    group->require_subcommand(1);

    auto opts = std::make_shared<AgentOptions>();
    auto* apply =
        group->add_subcommand("apply", "Read the desired state (JSON) on stdin, converge");
    apply->add_option("--marks", opts->marks, "Firewall marks through nft or iptables")
        ->check(CLI::IsMember({"nft", "iptables"}));
    apply->add_option("--state-dir", opts->state_dir, "Where the agent records what it owns")
        ->default_str(opts->state_dir);
    apply->add_flag("--full", opts->full,
                    "Compare every service's destinations with the kernel's, changed or not");
    apply
        ->add_option("--full-interval", opts->full_interval,
                     "Seconds after which a run is a full one anyway")
        ->check(CLI::NonNegativeNumber)
        ->default_str(std::to_string(opts->full_interval));
    registry.add(apply, opts, run_apply);

    auto* show = group->add_subcommand("show", "Print the local state as JSON");
    show->add_option("--state-dir", opts->state_dir, "Where the agent records what it owns")
        ->default_str(opts->state_dir);
    registry.add(show, opts, run_show);
}

}  // namespace lvsctl::cli
