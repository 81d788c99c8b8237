#include "lvsctl/lb/agent.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <set>

#include "lvsctl/digest.h"
#include "lvsctl/error.h"
#include "lvsctl/lb/alias_step.h"
#include "lvsctl/lb/health_record.h"

namespace lvsctl {

ExitCode AgentResult::code() const {
    if (answer.errors.empty()) {
        return ExitCode::ok;
    }
    return refused ? ExitCode::permission : ExitCode::kernel;
}

namespace {

// "PATH: why" -> "why": parse_agent_state() names the file, which the caller names already.
std::string without_source(const std::string& message, const std::string& path) {
    const auto prefix = path + ": ";
    return message.starts_with(prefix) ? message.substr(prefix.size()) : message;
}

// A record, std::nullopt when there is none; Error(ExitCode::data) when it cannot be read.
std::optional<AgentState> read_record(RecordStore& store, const std::string& name) {
    const auto text = store.read(name);
    if (!text) {
        return std::nullopt;
    }
    return parse_agent_state(*text, store.path(name));
}

// Every cluster's record, by cluster id; those that cannot be read are named in `unreadable`.
std::map<std::int64_t, AgentState> cluster_records(RecordStore& store,
                                                   std::vector<std::string>& unreadable) {
    std::map<std::int64_t, AgentState> out;
    for (const auto& name : store.names()) {
        const auto id = agent_record_cluster(name);
        if (!id) {
            continue;
        }
        try {
            if (auto record = read_record(store, name)) {
                out.emplace(*id, std::move(*record));
            }
        } catch (const Error& e) {
            unreadable.push_back(e.what());
        }
    }
    return out;
}

// What a run starts from: this cluster's record (or the legacy one it adopts, or none), what the
// other clusters' records own, and the errors and warnings found on the way.
struct Ownership {
    AgentState previous;
    std::vector<OtherRecord> others;
    std::vector<std::string> errors;  // in the answer: the run exits non-zero
    std::vector<std::string> warnings;
};

// Whether `own` already owns all that `desired` claims (its services, its mark, its website IPs
// as aliases) and nothing it owns would go: then no other record can conflict (each claim was
// checked against every record when it was first made, so records stay disjoint) and none is
// needed to tell what may be retired.
bool owns_all_and_keeps_all(const AgentState& own, const LbDesiredState& desired,
                            const std::vector<DesiredService>& services) {
    const std::set<ServiceKey> owned(own.services.begin(), own.services.end());
    std::set<ServiceKey> wanted;
    for (const auto& svc : services) {
        if (!owned.contains(svc.key)) {
            return false;
        }
        wanted.insert(svc.key);
    }
    if (wanted.size() != owned.size() || own.marks != std::vector<std::uint32_t>{desired.fwmark}) {
        return false;
    }
    std::set<IpAddress> placed(own.vips.begin(), own.vips.end());
    for (const auto& [interface, ips] : own.former) {
        placed.insert(ips.begin(), ips.end());
    }
    return std::all_of(desired.website_ips.begin(), desired.website_ips.end(),
                       [&](const IpAddress& ip) { return placed.contains(ip); });
}

// Refuses (Error(ExitCode::data), nothing changed) when another cluster owns something this one
// wants; then adopts the legacy record or moves a corrupt one aside. A run that claims nothing new
// and retires nothing reads its own record only: on an LB of 2,500 clusters the others' records
// are 2,500 files to read and parse (docs/agent-protocol.md, "Ownership records").
Ownership take_ownership(RecordStore& store, const LbDesiredState& desired,
                         const std::vector<DesiredService>& services, std::int64_t now) {
    const auto id = desired.cluster_id;
    const auto own_name = agent_record_name(id);
    try {
        if (auto own = read_record(store, own_name);
            own && owns_all_and_keeps_all(*own, desired, services)) {
            Ownership out;
            out.previous = std::move(*own);
            return out;
        }
    } catch (const Error&) {
        // Corrupt: the whole reading below moves it aside and says so.
    }
    const std::string legacy_name(kLegacyAgentRecord);
    std::vector<std::string> unreadable;
    auto records = cluster_records(store, unreadable);

    Ownership out;
    std::optional<AgentState> own;
    std::optional<std::string> corrupt;  // why this cluster's record could not be read
    if (const auto it = records.find(id); it != records.end()) {
        own = std::move(it->second);
        records.erase(it);
    } else if (store.read(own_name)) {
        // Listed among the unreadable: it is this cluster's, handled below.
        const auto own_path = store.path(own_name);
        std::erase_if(unreadable,
                      [&](const std::string& m) { return m.starts_with(own_path + ": "); });
        try {
            own = read_record(store, own_name);
        } catch (const Error& e) {
            corrupt = without_source(e.what(), own_path);
        }
    }
    for (auto& [other, state] : records) {
        out.others.push_back({fmt::format("cluster {}", other),
                              store.path(agent_record_name(other)), std::move(state)});
    }
    std::optional<AgentState> adopted;
    try {
        if (auto legacy = read_record(store, legacy_name)) {
            if (!own && !corrupt && legacy_record_fits(*legacy, desired.fwmark)) {
                adopted = std::move(legacy);
            } else {
                out.others.push_back({"a cluster from before per-cluster records",
                                      store.path(legacy_name), std::move(*legacy)});
            }
        }
    } catch (const Error& e) {
        unreadable.push_back(fmt::format("{} (left alone)", e.what()));
    }
    for (const auto& u : unreadable) {
        // Another cluster's record lost: what it owned cannot be checked against; its own next
        // run finds any conflict.
        out.warnings.push_back(fmt::format("a record not read: {}", u));
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
        const auto aside = fmt::format("{}.corrupt-{}", own_name, now);
        store.rename(own_name, aside);
        out.errors.push_back(fmt::format(
            "record {} could not be read ({}): moved to {}; converged from the desired state; "
            "anything only the lost record named may remain",
            store.path(own_name), *corrupt, store.path(aside)));
    } else if (adopted) {
        store.rename(legacy_name, own_name);
        out.warnings.push_back(fmt::format("{} is now cluster {}'s record, {}",
                                           store.path(legacy_name), id, store.path(own_name)));
        own = std::move(adopted);
    }
    if (own) {
        out.previous = std::move(*own);
    }
    return out;
}

}  // namespace

std::string Agent::via(const AgentSettings& settings) const {
    return !settings.marks.empty() ? settings.marks : marks_.nft_supported ? "nft" : "iptables";
}

void Agent::check(const LbDesiredState& desired, const AgentSettings& settings) {
    if (!addresses_.interface_index(desired.interface)) {
        throw Error(ExitCode::data,
                    fmt::format("desired state: interface {} does not exist on this host",
                                desired.interface));
    }
    // A spec the tool cannot express must not leave IPVS changed and the marks not.
    marks_for(via(settings))
        .check({desired.fwmark, desired.protocol, desired.ports, desired.website_ips});
}

std::optional<std::string> trusted_marks_via(const AgentState& record,
                                             const AgentSettings& settings) {
    const bool fresh = !record.digests.empty() && settings.now >= record.last_full &&
                       settings.now - record.last_full < settings.full_interval;
    if (!settings.marks.empty() || settings.full || !fresh ||
        (record.marks_via != "nft" && record.marks_via != "iptables")) {
        return std::nullopt;
    }
    return record.marks_via;
}

std::optional<std::string> trusted_marks_via(RecordStore& records, std::int64_t cluster_id,
                                             const AgentSettings& settings) {
    try {
        if (const auto record = read_record(records, agent_record_name(cluster_id))) {
            return trusted_marks_via(*record, settings);
        }
    } catch (const Error&) {
    }
    return std::nullopt;
}

std::string marks_digest(const MarkSpec& spec, const std::string& via) {
    auto text = fmt::format("{} {} {}", via, spec.fwmark, spec.protocol);
    for (const auto port : spec.ports) {
        fmt::format_to(std::back_inserter(text), " {}", port);
    }
    text += ';';
    for (const auto& ip : sorted_unique(spec.website_ips)) {
        text += ' ' + ip.str();
    }
    return fnv1a_hex(text);
}

std::string desired_record_name(std::int64_t cluster_id) {
    return fmt::format("desired-cluster-{}.json", cluster_id);
}

AgentResult Agent::apply(const LbDesiredState& desired_state, const AgentSettings& settings) {
    check(desired_state, settings);
    const auto ifindex = addresses_.interface_index(desired_state.interface);
    // The monitor's verdicts (health_record.h), read under the lock it writes them under: a
    // server it took out stays out, and it keeps the weights it gave.
    std::vector<std::string> health_warnings;
    std::optional<LbDesiredState> with_monitor;
    if (desired_state.checks) {
        const auto name = health_record_name(desired_state.cluster_id);
        if (const auto text = records_.read(name)) {
            try {
                const auto health = parse_health_record(*text, records_.path(name));
                if (is_current(health, settings.now)) {
                    with_monitor = with_health(desired_state, health);
                } else {
                    health_warnings.push_back(fmt::format(
                        "{}: not written by a monitor since {} (Unix time): the configured "
                        "weights apply",
                        records_.path(name), health.updated));
                }
            } catch (const Error& e) {
                health_warnings.push_back(
                    fmt::format("{}: the configured weights apply", e.what()));
            }
        }
    }
    const auto desired = ipvs_services(with_monitor ? *with_monitor : desired_state);
    const auto via = this->via(settings);
    Marks& marks = marks_for(via);
    const MarkSpec spec{desired_state.fwmark, desired_state.protocol, desired_state.ports,
                        desired_state.website_ips};

    auto ownership = take_ownership(records_, desired_state, desired, settings.now);
    const auto& previous = ownership.previous;
    const auto record = agent_record_name(desired_state.cluster_id);
    AgentResult result;
    result.warnings = ownership.warnings;
    result.warnings.insert(result.warnings.end(), health_warnings.begin(), health_warnings.end());

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
    owned.marks_digest.clear();
    owned.services = retired;
    owned.services.insert(owned.services.end(), wanted.begin(), wanted.end());
    owned.marks = previous_marks;
    if (std::find(owned.marks.begin(), owned.marks.end(), desired_state.fwmark) ==
        owned.marks.end()) {
        owned.marks.push_back(desired_state.fwmark);
    }
    records_.write(record, to_json(owned));

    // 1. IPVS: services and destinations, draining what goes.
    IpvsReconciler reconciler(ipvs_, clock_);
    const auto now = settings.now;
    const bool full = settings.full || previous.digests.empty() || now < previous.last_full ||
                      now - previous.last_full >= settings.full_interval;
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

    auto finish = [&](std::vector<std::string> done, std::vector<std::string> errors) {
        records_.write(record, to_json(owned));
        // For the monitor: the document as the management node sent it.
        records_.write_pieces(desired_record_name(desired_state.cluster_id),
                              [&](const auto& sink) { write_json(desired_state, sink); });
        result.answer.changed = report.changed() || !done.empty();
        result.answer.done = std::move(report.done);
        result.answer.done.insert(result.answer.done.end(), done.begin(), done.end());
        result.answer.changes_sent = report.changes_sent;
        result.answer.errors = ownership.errors;
        result.answer.errors.insert(result.answer.errors.end(), report.errors.begin(),
                                    report.errors.end());
        result.answer.errors.insert(result.answer.errors.end(), errors.begin(), errors.end());
        result.refused = result.refused || report.refused;
        return result;
    };
    if (!report.errors.empty()) {
        // A new website IP without its service would answer on the LB and reset connections; a
        // leaving one is kept until IPVS is as desired. The next run does both.
        return finish({}, {"marks and website IPs left as they were: the IPVS step failed"});
    }

    // 2. Marks and aliases: a new website IP is marked before its alias draws traffic; a removed
    // one loses its alias before its mark.
    std::vector<std::string> done;
    const bool switched =
        !previous.marks_via.empty() && previous.marks_via != via && !previous_marks.empty();
    if (switched) {
        // Switching between nft and iptables: the other one's sets and rules go first.
        Marks& old = previous.marks_via == "nft" ? marks_.nft : marks_.iptables;
        const MarkSpec none{
            previous_marks.front(), desired_state.protocol, desired_state.ports, {}};
        const auto m = old.apply(none, previous_marks);
        done.insert(done.end(), m.done.begin(), m.done.end());
    }
    std::vector<std::uint32_t> retired_marks;
    for (auto m : previous_marks) {
        if (m != desired_state.fwmark) {
            retired_marks.push_back(m);
        }
    }
    // With VRRP the website IPs are keepalived's on the interface: the agent adds none, and
    // removes those it added before the cluster switched (docs/ha.md).
    AliasStep aliases(addresses_, *ifindex, desired_state.interface,
                      desired_state.vrrp ? std::vector<IpAddress>{} : desired_state.website_ips,
                      {previous.interface, previous.vips, previous.former});
    const auto leaving_ips = aliases.leaving();
    // A run that trusts its digests trusts the marks as the last run left them too, while nothing
    // they are made of changed: no firewall tool runs (a process each, and `iptables-save` grows
    // with every cluster's rule). Not when IPVS lacked one of the cluster's services: the kernel
    // lost its state (a reboot, a flush), and the firewall most likely with it. A full run reads
    // and repairs them (docs/agent-protocol.md, "Marks left as they were").
    const auto wanted_marks = marks_digest(spec, via);
    const bool marks_trusted = !full && report.services_added == 0 && previous.marks_via == via &&
                               !previous.marks_digest.empty() &&
                               previous.marks_digest == wanted_marks && leaving_ips.empty() &&
                               retired_marks.empty() && !switched;
    auto apply_marks = [&](const MarkSpec& s, const std::vector<std::uint32_t>& r) {
        if (marks_trusted) {
            return;
        }
        const auto m = marks.apply(s, r);
        done.insert(done.end(), m.done.begin(), m.done.end());
    };
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
        records_.write(record, to_json(owned));
    });
    aliases.remove();
    if (!leaving_ips.empty()) {
        apply_marks(spec, retired_marks);
    }
    record_aliases(aliases.owned());
    owned.marks = {desired_state.fwmark};
    owned.marks_via = via;
    owned.marks_digest = wanted_marks;
    done.insert(done.end(), aliases.done.begin(), aliases.done.end());
    result.refused = aliases.refused;
    return finish(std::move(done), aliases.errors);
}

namespace {
// The per-cluster files named `prefix`N.json: cluster `cluster_id`'s, or every cluster's.
std::vector<std::string> record_names(RecordStore& records, std::optional<std::int64_t> cluster_id,
                                      const char* prefix) {
    std::vector<std::string> names;
    if (cluster_id) {
        names.push_back(fmt::format("{}{}.json", prefix, *cluster_id));
    } else {
        for (const auto& name : records.names()) {
            if (record_cluster(name, prefix)) {
                names.push_back(name);
            }
        }
        std::sort(names.begin(), names.end());
    }
    return names;
}
}  // namespace

std::vector<VrrpState> Agent::vrrp_states(std::optional<std::int64_t> cluster_id, std::int64_t now,
                                          std::vector<std::string>& warnings) {
    std::vector<VrrpState> out;
    for (const auto& name : record_names(records_, cluster_id, "vrrp-cluster-")) {
        try {
            if (const auto text = records_.read(name)) {
                auto state = parse_vrrp_state(*text, records_.path(name));
                state.age = now - state.since;
                out.push_back(std::move(state));
            }
        } catch (const Error& e) {
            warnings.push_back(fmt::format("a record not read: {}", e.what()));
        }
    }
    return out;
}

std::vector<MonitorShown> Agent::monitors(std::optional<std::int64_t> cluster_id, std::int64_t now,
                                          std::vector<std::string>& warnings) {
    const auto names = record_names(records_, cluster_id, "health-cluster-");
    std::vector<MonitorShown> out;
    for (const auto& name : names) {
        try {
            if (const auto text = records_.read(name)) {
                auto record = parse_health_record(*text, records_.path(name));
                const bool current = is_current(record, now);
                const auto age = now - record.updated;
                out.push_back({std::move(record), current, age});
            }
        } catch (const Error& e) {
            warnings.push_back(fmt::format("a record not read: {}", e.what()));
        }
    }
    return out;
}

PlacedState Agent::placed(std::optional<std::int64_t> cluster_id,
                          std::vector<std::string>& warnings) {
    std::vector<std::string> unreadable;
    std::vector<AgentState> records;
    auto read = [&](const std::string& name) {
        try {
            if (auto record = read_record(records_, name)) {
                records.push_back(std::move(*record));
                return true;
            }
        } catch (const Error& e) {
            unreadable.push_back(e.what());
            return true;
        }
        return false;
    };
    if (cluster_id) {
        if (!read(agent_record_name(*cluster_id))) {
            read(std::string(kLegacyAgentRecord));
        }
    } else {
        for (auto& [id, record] : cluster_records(records_, unreadable)) {
            records.push_back(std::move(record));
        }
        read(std::string(kLegacyAgentRecord));
    }
    for (const auto& u : unreadable) {
        warnings.push_back(fmt::format("a record not read: {}", u));
    }

    PlacedState placed;
    std::set<std::string> interfaces;
    std::set<std::string> vias;
    std::set<std::uint32_t> marks;
    std::set<IpAddress> ips;
    for (const auto& state : records) {
        if (!state.interface.empty()) {
            interfaces.insert(state.interface);
        }
        if (!state.marks_via.empty()) {
            vias.insert(state.marks_via);
        }
        marks.insert(state.marks.begin(), state.marks.end());
        if (const auto index = addresses_.interface_index(state.interface)) {
            const std::set<IpAddress> owned(state.vips.begin(), state.vips.end());
            for (const auto& a : addresses_.addresses(*index)) {
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
    return placed;
}

}  // namespace lvsctl
