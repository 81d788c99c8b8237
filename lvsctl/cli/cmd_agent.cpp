// `lvsctl agent apply|show`: runs on the LB and converges its kernel (docs/agent-protocol.md).
#include <fmt/format.h>
#include <fmt/ostream.h>
#include <linux/capability.h>
#include <malloc.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <thread>

#include "ipvs/addresses.h"
#include "ipvs/kernel.h"
#include "lvsctl/cli/app.h"
#include "lvsctl/cli/files.h"
#include "lvsctl/cli/lb_seams.h"
#include "lvsctl/cli/process.h"
#include "lvsctl/error.h"
#include "lvsctl/lb/agent.h"
#include "lvsctl/lb/agent_state.h"
#include "lvsctl/lb/ipvs_plan.h"
#include "lvsctl/lb/marks.h"
#include "lvsctl/protocol/agent_documents.h"
#include "lvsctl/protocol/desired_state.h"
#include "lvsctl/validate.h"

namespace lvsctl::cli {

namespace {

struct AgentOptions {
    std::string marks;  // "", "nft" or "iptables"
    std::string state_dir = "/var/lib/lvsctl";
    bool full = false;
    // A run trusts the digests of services it left converged, unless the last full run (every
    // service's destinations dumped and compared) is older than this.
    int full_interval = 3600;
    std::int64_t cluster_id = 0;        // `show --cluster-id`: whose record; 0 = every record
    std::vector<std::string> notified;  // vrrp-notify: keepalived's TYPE NAME STATE PRIORITY
};

namespace fs = std::filesystem;

// Whether this process may change the network configuration: CAP_NET_ADMIN in its effective set
// (root has it, unless a container took it away). Asked first, so that a run without it changes
// nothing rather than stopping half-way at the first refusal.
bool may_admin_network() {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
    if (::syscall(SYS_capget, &header, data) != 0) {
        return ::geteuid() == 0;
    }
    return (data[CAP_NET_ADMIN / 32].effective & (1U << (CAP_NET_ADMIN % 32))) != 0;
}

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Standard input parsed as it comes: a document of 100,000 destinations is never held as text
// (bench/README.md, "agent_ipvs").
LbDesiredState read_desired_state() {
    FdInput input(STDIN_FILENO);
    std::istream in(&input);
    try {
        auto desired = parse_desired_state(in);
        if (input.error() == 0) {
            return desired;
        }
    } catch (const Error&) {
        if (input.error() == 0) {
            throw;
        }
    }
    throw Error(ExitCode::internal,
                fmt::format("agent apply: standard input: {}", std::strerror(input.error())));
}

int run_apply(const AgentOptions& opts, Context& ctx) {
    if (!may_admin_network()) {
        throw Error(ExitCode::permission,
                    "agent apply: this process may not change the network configuration (it "
                    "lacks CAP_NET_ADMIN: run it as root); nothing was changed");
    }
    // A short-lived process: memory it frees (the parse's growing vectors, the dumps) stays in
    // its heap for what it allocates next, instead of going back to the kernel and being faulted
    // in again page by page (bench/README.md, "agent_ipvs").
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
    const auto desired = read_desired_state();
    ipvs::NetlinkKernel kernel;
    ipvs::NetlinkAddresses addresses;
    SpawnRunner runner;
    IptablesMarks iptables(runner);
    NftMarks nft(runner);
    SteadyClock clock;
    const fs::path dir(opts.state_dir);
    DirectoryRecords records(dir);
    const AgentSettings settings{opts.marks, opts.full, opts.full_interval, unix_now()};
    // The kernel is probed for nft (a process) only when the cluster's record cannot say.
    const auto recorded = trusted_marks_via(records, desired.cluster_id, settings);
    const bool nft_supported =
        opts.marks.empty() && (recorded ? *recorded == "nft" : NftMarks::supported(runner));
    Agent agent(kernel, addresses, {nft, iptables, nft_supported}, clock, records);
    agent.check(desired, settings);  // a refused document changes nothing, not even the lock

    // One run at a time on the LB, whatever the cluster: a run reads every cluster's record to
    // check what it may take, and an agent left running after an SSH timeout must not rewrite a
    // record under the next one.
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
        throw Error(ec == std::errc::permission_denied ? ExitCode::permission : ExitCode::internal,
                    fmt::format("{}: create: {}", dir.string(), ec.message()));
    }
    const FileLock lock(dir / "agent.lock", std::chrono::seconds(ctx.settings.lock_timeout));
    const auto result = agent.apply(desired, settings);
    for (const auto& w : result.warnings) {
        fmt::print(ctx.err, "lvsctl agent: warning: {}\n", w);
    }
    ctx.out << agent_answer_document(result.answer);
    for (const auto& error : result.answer.errors) {
        fmt::print(ctx.err, "lvsctl agent: {}\n", error);
    }
    return static_cast<int>(result.code());
}

// `show`: one cluster's record (the legacy one while it has none of its own), or with no
// --cluster-id every record at once. A record that cannot be read shows as empty, so that
// `update` still reaches `agent apply`, which repairs it.
int run_show(const AgentOptions& opts, Context& ctx) {
    ipvs::NetlinkKernel kernel;
    ipvs::NetlinkAddresses addresses;
    SpawnRunner runner;
    IptablesMarks iptables(runner);
    NftMarks nft(runner);
    SteadyClock clock;
    DirectoryRecords records(opts.state_dir);
    Agent agent(kernel, addresses, {nft, iptables, false}, clock, records);
    std::vector<std::string> warnings;
    const auto cluster =
        opts.cluster_id != 0 ? std::optional<std::int64_t>(opts.cluster_id) : std::nullopt;
    const auto placed = agent.placed(cluster, warnings);
    const auto monitors = agent.monitors(cluster,
                                         std::chrono::duration_cast<std::chrono::seconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count(),
                                         warnings);
    const auto vrrp = agent.vrrp_states(cluster, unix_now(), warnings);
    std::vector<SyncDaemon> daemons;
    try {
        daemons = kernel.sync_daemons();
    } catch (const Error& e) {
        warnings.push_back(e.what());
    }
    for (const auto& w : warnings) {
        fmt::print(ctx.err, "lvsctl agent: warning: {}\n", w);
    }
    ctx.out << agent_show_document(kernel.table(), placed, monitors, vrrp, daemons);
    return 0;
}

// `vrrp-notify`: keepalived's notify hook for a cluster with ha = vrrp (docs/ha.md). keepalived
// appends TYPE ("INSTANCE" or "GROUP"), NAME, STATE and PRIORITY; the state is recorded in the
// state directory, where `agent show` finds it.
int run_vrrp_notify(const AgentOptions& opts, Context& ctx) {
    const auto& a = opts.notified;
    if (a.size() < 3) {
        throw Error(ExitCode::usage,
                    "agent vrrp-notify: expected keepalived's TYPE NAME STATE "
                    "[PRIORITY]");
    }
    VrrpState state;
    state.cluster_id = opts.cluster_id;
    static const std::set<std::string> kStates = {"MASTER", "BACKUP", "FAULT", "STOP", "DELETED"};
    if (!kStates.contains(a[2]) || !is_valid_cluster_name(a[1])) {
        throw Error(ExitCode::usage, fmt::format("agent vrrp-notify: {} {}: not a VRRP instance "
                                                 "and one of keepalived's states",
                                                 lvsctl::quoted(a[1]), lvsctl::quoted(a[2])));
    }
    state.instance = a[1];
    state.state = a[2];
    if (a.size() > 3) {
        try {
            state.priority = std::stoll(a[3]);
        } catch (const std::exception&) {
            state.priority = 0;
        }
    }
    state.since = unix_now();
    std::error_code ec;
    fs::create_directories(opts.state_dir, ec);
    DirectoryRecords records(opts.state_dir);
    records.write(vrrp_record_name(opts.cluster_id), vrrp_state_document(state));
    fmt::print(ctx.err, "lvsctl agent: cluster {}: VRRP instance {} is now {}\n", opts.cluster_id,
               state.instance, state.state);
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
        ->type_name("DIR")
        ->default_str(opts->state_dir);
    apply->add_flag("--full", opts->full,
                    "Compare every service's destinations with the kernel's, changed or not, "
                    "and read the firewall marks back");
    apply
        ->add_option("--full-interval", opts->full_interval,
                     "Seconds after which a run is a full one anyway")
        ->check(CLI::NonNegativeNumber)
        ->default_str(std::to_string(opts->full_interval));
    registry.add(apply, opts, run_apply);

    auto* show = group->add_subcommand("show", "Print the local state as JSON");
    show->add_option("--state-dir", opts->state_dir, "Where the agent records what it owns")
        ->type_name("DIR")
        ->default_str(opts->state_dir);
    add_cluster_id(*show, opts->cluster_id)
        ->description("Show what this cluster's agent placed (default: every cluster's)");
    registry.add(show, opts, run_show);

    auto* notify = group->add_subcommand(
        "vrrp-notify", "keepalived's notify hook: record a cluster's VRRP state (docs/ha.md)");
    notify->add_option("--state-dir", opts->state_dir, "Where the agent records what it owns")
        ->type_name("DIR")
        ->default_str(opts->state_dir);
    add_cluster_id(*notify, opts->cluster_id)->required();
    notify->add_option("notified", opts->notified, "TYPE NAME STATE PRIORITY, from keepalived")
        ->required();
    registry.add(notify, opts, run_vrrp_notify);
}

}  // namespace lvsctl::cli
