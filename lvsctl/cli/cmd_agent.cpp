// `lvsctl agent apply|show`: runs on the LB and converges its kernel (docs/agent-protocol.md).
#include <fmt/format.h>
#include <fmt/ostream.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
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
#include "lvsctl/cli/process.h"
#include "lvsctl/error.h"
#include "lvsctl/lb/agent_state.h"
#include "lvsctl/lb/alias_step.h"
#include "lvsctl/lb/ipvs_plan.h"
#include "lvsctl/lb/marks.h"
#include "lvsctl/protocol/agent_documents.h"
#include "lvsctl/protocol/desired_state.h"

namespace lvsctl::cli {

namespace {

struct AgentOptions {
    std::string marks;  // "", "nft" or "iptables"
    std::string state_dir = "/var/lib/lvsctl";
    bool full = false;
    // A run trusts the digests of services it left converged, unless the last full run (every
    // service's destinations dumped and compared) is older than this.
    int full_interval = 3600;
    std::int64_t cluster_id = 0;  // `show --cluster-id`: whose record; 0 = every record
};

namespace fs = std::filesystem;

class SteadyClock : public Clock {
  public:
    std::chrono::steady_clock::time_point now() override {
        return std::chrono::steady_clock::now();
    }
    void sleep(std::chrono::milliseconds duration) override {
        std::this_thread::sleep_for(duration);
    }
};

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

// std::nullopt when there is no record at `path`; Error(ExitCode::data) when it cannot be read
// as one.
std::optional<AgentState> read_record(const fs::path& path) {
    const auto text = read_file_if_exists(path);
    if (!text) {
        return std::nullopt;
    }
    return parse_agent_state(*text, path.string());
}

// The records of every cluster in the state directory, by cluster id; those that cannot be read
// are named in `unreadable`.
std::map<std::int64_t, AgentState> cluster_records(const fs::path& dir,
                                                   std::vector<std::string>& unreadable) {
    std::map<std::int64_t, AgentState> out;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const auto id = agent_record_cluster(it->path().filename().string());
        if (!id) {
            continue;
        }
        try {
            if (auto record = read_record(it->path())) {
                out.emplace(*id, std::move(*record));
            }
        } catch (const Error& e) {
            unreadable.push_back(e.what());
        }
    }
    if (ec && ec != std::errc::no_such_file_or_directory) {
        throw Error(ec == std::errc::permission_denied ? ExitCode::permission : ExitCode::internal,
                    fmt::format("{}: {}", dir.string(), ec.message()));
    }
    return out;
}

// "PATH: why" -> "why": parse_agent_state() names the file, which the caller names already.
std::string without_source(const std::string& message, const fs::path& path) {
    const auto prefix = path.string() + ": ";
    return message.starts_with(prefix) ? message.substr(prefix.size()) : message;
}

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// What a run starts from: this cluster's record (or the legacy one it adopts, or none), and
// what the other clusters' records own.
struct Ownership {
    AgentState previous;
    std::vector<OtherRecord> others;
    std::vector<std::string> errors;  // reported in the answer, and the run exits non-zero
};

// Reads the records and refuses (Error(ExitCode::data), nothing changed) when another cluster
// owns something this one wants; then adopts the legacy record or moves a corrupt one aside
// (README.md, "The LB agent").
Ownership take_ownership(const fs::path& dir, const LbDesiredState& desired,
                         const std::vector<DesiredService>& services, Context& ctx) {
    const auto id = desired.cluster_id;
    const auto own_path = dir / agent_record_name(id);
    const auto legacy_path = dir / kLegacyAgentRecord;
    std::vector<std::string> unreadable;
    auto records = cluster_records(dir, unreadable);

    Ownership out;
    std::optional<AgentState> own;
    std::optional<std::string> corrupt;  // why this cluster's record could not be read
    if (const auto it = records.find(id); it != records.end()) {
        own = std::move(it->second);
        records.erase(it);
    } else if (read_file_if_exists(own_path)) {
        // Listed among the unreadable: it is this cluster's, handled below.
        std::erase_if(unreadable, [&](const std::string& m) {
            return m.starts_with(own_path.string() + ": ");
        });
        try {
            own = read_record(own_path);
        } catch (const Error& e) {
            corrupt = without_source(e.what(), own_path);
        }
    }
    for (auto& [other, state] : records) {
        out.others.push_back({fmt::format("cluster {}", other),
                              (dir / agent_record_name(other)).string(), std::move(state)});
    }
    std::optional<AgentState> adopted;
    try {
        if (auto legacy = read_record(legacy_path)) {
            if (!own && !corrupt && legacy_record_fits(*legacy, desired.fwmark)) {
                adopted = std::move(legacy);
            } else {
                out.others.push_back({"a cluster from before per-cluster records",
                                      legacy_path.string(), std::move(*legacy)});
            }
        }
    } catch (const Error& e) {
        unreadable.push_back(fmt::format("{} (left alone)", e.what()));
    }
    for (const auto& u : unreadable) {
        // Another cluster's record lost: what it owned cannot be checked against; its own next
        // run finds any conflict.
        fmt::print(ctx.err, "lvsctl agent: warning: a record not read: {}\n", u);
    }

    Claim claim{id, {}, desired.fwmark, desired.interface, desired.website_ips};
    for (const auto& svc : services) {
        claim.services.push_back(svc.key);
    }
    if (const auto found = conflicts(claim, out.others); !found.empty()) {
        constexpr std::size_t kShown = 10;
        std::string message;
        for (std::size_t i = 0; i < found.size() && i < kShown; ++i) {
            message += (i == 0 ? "" : "; ") + found[i];
        }
        if (found.size() > kShown) {
            message += fmt::format("; and {} more", found.size() - kShown);
        }
        throw Error(ExitCode::data, message + "; nothing was changed");
    }

    if (corrupt) {
        // Failing every run until someone removes the file would keep the LB from converging;
        // the file is kept for whoever wants to look at it.
        const auto aside = fs::path(own_path.string() + fmt::format(".corrupt-{}", unix_now()));
        std::error_code ec;
        fs::rename(own_path, aside, ec);
        if (ec) {
            throw Error(
                ec == std::errc::permission_denied ? ExitCode::permission : ExitCode::internal,
                fmt::format("{}: move aside to {}: {}", own_path.string(), aside.string(),
                            ec.message()));
        }
        out.errors.push_back(fmt::format(
            "record {} could not be read ({}): moved to {}; converged from the desired state; "
            "anything only the lost record named may remain",
            own_path.string(), *corrupt, aside.string()));
    } else if (adopted) {
        std::error_code ec;
        fs::rename(legacy_path, own_path, ec);
        if (ec) {
            throw Error(
                ec == std::errc::permission_denied ? ExitCode::permission : ExitCode::internal,
                fmt::format("{}: rename to {}: {}", legacy_path.string(), own_path.string(),
                            ec.message()));
        }
        fmt::print(ctx.err, "lvsctl agent: {} is now cluster {}'s record, {}\n",
                   legacy_path.string(), id, own_path.string());
        own = std::move(adopted);
    }
    if (own) {
        out.previous = std::move(*own);
    }
    return out;
}

int run_apply(const AgentOptions& opts, Context& ctx) {
    if (!may_admin_network()) {
        throw Error(ExitCode::permission,
                    "agent apply: this process may not change the network configuration (it "
                    "lacks CAP_NET_ADMIN: run it as root); nothing was changed");
    }
    const auto desired_state = parse_desired_state(read_stream(std::cin));
    ipvs::NetlinkAddresses addresses;
    const auto ifindex = addresses.interface_index(desired_state.interface);
    if (!ifindex) {
        throw Error(ExitCode::data,
                    fmt::format("desired state: interface {} does not exist on this host",
                                desired_state.interface));
    }
    const auto desired = ipvs_services(desired_state);

    // The marks are checked before anything changes: a spec the tool cannot express must not
    // leave IPVS changed and the marks not.
    SpawnRunner runner;
    const std::string via = !opts.marks.empty()           ? opts.marks
                            : NftMarks::supported(runner) ? "nft"
                                                          : "iptables";
    IptablesMarks iptables(runner);
    NftMarks nft(runner);
    Marks& marks = via == "nft" ? static_cast<Marks&>(nft) : iptables;
    MarkSpec spec{desired_state.fwmark, desired_state.protocol, desired_state.ports,
                  desired_state.website_ips};
    marks.check(spec);

    // One run at a time on the LB, whatever the cluster: a run reads every cluster's record to
    // check what it may take, and an agent left running after an SSH timeout must not rewrite a
    // record under the next one.
    const fs::path dir(opts.state_dir);
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
        throw Error(ec == std::errc::permission_denied ? ExitCode::permission : ExitCode::internal,
                    fmt::format("{}: create: {}", dir.string(), ec.message()));
    }
    FileLock lock(dir / "agent.lock", std::chrono::seconds(ctx.settings.lock_timeout));
    auto ownership = take_ownership(dir, desired_state, desired, ctx);
    const auto& previous = ownership.previous;
    const auto path = dir / agent_record_name(desired_state.cluster_id);

    // What another cluster's record owns is never retired here, whatever this record says.
    std::set<ServiceKey> others_services;
    std::set<std::uint32_t> others_marks;
    for (const auto& other : ownership.others) {
        others_services.insert(other.state.services.begin(), other.state.services.end());
        others_marks.insert(other.state.marks.begin(), other.state.marks.end());
    }
    std::set<ServiceKey> wanted;
    for (const auto& svc : desired) {
        wanted.insert(svc.key);
    }
    std::vector<ServiceKey> retired;
    for (const auto& key : previous.services) {
        if (!wanted.contains(key) && !others_services.contains(key)) {
            retired.push_back(key);
        }
    }
    std::vector<std::uint32_t> previous_marks;
    for (auto m : previous.marks) {
        if (!others_marks.contains(m)) {
            previous_marks.push_back(m);
        }
    }
    // Ownership is recorded before anything is created, so that a run that dies half-way still
    // knows what it may have put there; and without digests, so that the run after one that died
    // half-way trusts nothing it might have left half-changed.
    AgentState owned = previous;
    owned.digests.clear();
    owned.services = retired;
    owned.services.insert(owned.services.end(), wanted.begin(), wanted.end());
    owned.marks = previous_marks;
    if (std::find(owned.marks.begin(), owned.marks.end(), desired_state.fwmark) ==
        owned.marks.end()) {
        owned.marks.push_back(desired_state.fwmark);
    }
    write_file_atomic(path, to_json(owned), 0600);

    // 1. IPVS: services and destinations, draining what goes.
    ipvs::NetlinkKernel kernel;
    SteadyClock clock;
    IpvsReconciler reconciler(kernel, clock);
    const auto now = unix_now();
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
    if (!previous.marks_via.empty() && previous.marks_via != via && !previous_marks.empty()) {
        // Switching between nft and iptables: the other one's sets and rules go first.
        Marks& old = previous.marks_via == "nft" ? static_cast<Marks&>(nft) : iptables;
        MarkSpec none{previous_marks.front(), desired_state.protocol, desired_state.ports, {}};
        old.apply(none, previous_marks);
    }
    std::vector<std::uint32_t> retired_marks;
    for (auto m : previous_marks) {
        if (m != desired_state.fwmark) {
            retired_marks.push_back(m);
        }
    }
    AliasStep aliases(addresses, *ifindex, desired_state.interface, desired_state.website_ips,
                      {previous.interface, previous.vips, previous.former});
    std::vector<std::string> mark_done;
    auto apply_marks = [&](const MarkSpec& s, const std::vector<std::uint32_t>& r) {
        const auto m = marks.apply(s, r);
        mark_done.insert(mark_done.end(), m.done.begin(), m.done.end());
    };
    const auto leaving_ips = aliases.leaving();
    auto leaving = spec;
    leaving.website_ips.insert(leaving.website_ips.end(), leaving_ips.begin(), leaving_ips.end());
    leaving.website_ips = sorted_unique(std::move(leaving.website_ips));
    apply_marks(leaving_ips.empty() ? spec : leaving,
                leaving_ips.empty() ? retired_marks : std::vector<std::uint32_t>{});
    auto record_aliases = [&](const OwnedAliases& a) {
        owned.interface = a.interface;
        owned.vips = a.vips;
        owned.former = a.former;
    };
    aliases.add([&](const OwnedAliases& intent) {
        record_aliases(intent);
        write_file_atomic(path, to_json(owned), 0600);
    });
    aliases.remove();
    if (!leaving_ips.empty()) {
        apply_marks(spec, retired_marks);
    }
    record_aliases(aliases.owned());
    owned.marks = {desired_state.fwmark};
    owned.marks_via = via;
    write_file_atomic(path, to_json(owned), 0600);

    report.done.insert(report.done.end(), mark_done.begin(), mark_done.end());
    report.done.insert(report.done.end(), aliases.done.begin(), aliases.done.end());
    auto errors = ownership.errors;
    errors.insert(errors.end(), report.errors.begin(), report.errors.end());
    errors.insert(errors.end(), aliases.errors.begin(), aliases.errors.end());
    ctx.out << agent_answer_document({report.changed(), errors, report.done, report.changes_sent});
    for (const auto& error : errors) {
        fmt::print(ctx.err, "lvsctl agent: {}\n", error);
    }
    if (errors.empty()) {
        return 0;
    }
    return static_cast<int>(report.refused || aliases.refused ? ExitCode::permission
                                                              : ExitCode::kernel);
}

// `show`: one cluster's record (the legacy one while it has none of its own), or with no
// --cluster-id every record at once. A record that cannot be read shows as empty, so that
// `update` still reaches `agent apply`, which repairs it.
int run_show(const AgentOptions& opts, Context& ctx) {
    ipvs::NetlinkKernel kernel;
    const fs::path dir(opts.state_dir);
    std::vector<std::string> unreadable;
    std::vector<AgentState> records;
    auto read = [&](const fs::path& path) {
        try {
            if (auto record = read_record(path)) {
                records.push_back(std::move(*record));
                return true;
            }
        } catch (const Error& e) {
            unreadable.push_back(e.what());
            return true;
        }
        return false;
    };
    if (opts.cluster_id != 0) {
        if (!read(dir / agent_record_name(opts.cluster_id))) {
            read(dir / kLegacyAgentRecord);
        }
    } else {
        for (auto& [id, record] : cluster_records(dir, unreadable)) {
            records.push_back(std::move(record));
        }
        read(dir / kLegacyAgentRecord);
    }
    for (const auto& u : unreadable) {
        fmt::print(ctx.err, "lvsctl agent: warning: a record not read: {}\n", u);
    }

    // The records' union: the interface and the tool all of them name, or "" when they differ.
    PlacedState placed;
    std::set<std::string> interfaces;
    std::set<std::string> vias;
    std::set<std::uint32_t> marks;
    std::set<IpAddress> ips;
    ipvs::NetlinkAddresses addresses;
    for (const auto& state : records) {
        if (!state.interface.empty()) {
            interfaces.insert(state.interface);
        }
        if (!state.marks_via.empty()) {
            vias.insert(state.marks_via);
        }
        marks.insert(state.marks.begin(), state.marks.end());
        if (const auto index = addresses.interface_index(state.interface)) {
            const std::set<IpAddress> owned(state.vips.begin(), state.vips.end());
            for (const auto& a : addresses.addresses(*index)) {
                if (owned.contains(a.address) && a.is_host_route()) {
                    ips.insert(a.address);
                }
            }
        }
    }
    placed.interface = interfaces.size() == 1 ? *interfaces.begin() : "";
    placed.marks_via = vias.size() == 1 ? *vias.begin() : "";
    placed.marks.assign(marks.begin(), marks.end());
    placed.website_ips.assign(ips.begin(), ips.end());
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
    add_cluster_id(*show, opts->cluster_id)
        ->description("Show what this cluster's agent placed (default: every cluster's)");
    registry.add(show, opts, run_show);
}

}  // namespace lvsctl::cli
