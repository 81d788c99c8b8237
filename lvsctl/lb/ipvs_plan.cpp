#include "lvsctl/lb/ipvs_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <iterator>
#include <set>
#include <string_view>

namespace lvsctl {

std::vector<DesiredService> ipvs_services(const LbDesiredState& state) {
    std::vector<DesiredService> out;
    for (const auto& svc : state.services) {
        DesiredService d;
        d.key = ServiceKey::fwmark_service(svc.family, svc.fwmark);
        d.settings.scheduler = svc.scheduler;
        d.settings.flags = svc.persistence > 0 ? kSvcPersistent : 0;
        d.settings.timeout = svc.persistence;
        // The kernel wants a netmask with every full service: all ones (IPv4) or 128 (IPv6).
        d.settings.netmask = svc.family == Family::inet ? 0xffffffffU : 128U;
        for (const auto& dest : svc.destinations) {
            d.dests.push_back(
                {{dest.address, dest.port}, {to_ipvs(dest.forwarding), dest.weight, 0, 0}});
        }
        out.push_back(std::move(d));
    }
    return out;
}

namespace {

// FNV-1a over raw bytes, 64 bits.
struct Fnv {
    std::uint64_t hash = 0xcbf29ce484222325ULL;
    void bytes(const void* data, std::size_t size) {
        const auto* p = static_cast<const unsigned char*>(data);
        for (std::size_t i = 0; i < size; ++i) {
            hash = (hash ^ p[i]) * 0x100000001b3ULL;
        }
    }
    void u32(std::uint32_t v) { bytes(&v, sizeof v); }
    void address(const IpAddress& a) {
        u32(static_cast<std::uint32_t>(a.family()));
        bytes(a.bytes().data(), a.bytes().size());
    }
};

// A 64-bit finaliser (splitmix64's), so that summing the destinations' hashes mixes them well.
std::uint64_t mix(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

}  // namespace

std::string service_digest(const DesiredService& service) {
    // A fingerprint to notice change, not a security boundary (the record it is kept in is the
    // agent's own, mode 0600). Linear and allocation-free but for its 16 hex digits: each
    // destination is hashed on its own and the hashes are summed, so that their order does not
    // matter (a service never has a destination twice) and nothing is sorted or formatted.
    Fnv head;
    const auto& k = service.key;
    head.u32(static_cast<std::uint32_t>(k.family));
    head.u32(k.fwmark);
    head.u32(k.protocol);
    head.address(k.address);
    head.u32(k.port);
    const auto& s = service.settings;
    head.bytes(s.scheduler.data(), s.scheduler.size());
    head.u32(s.flags);
    head.u32(s.timeout);
    head.u32(s.netmask);
    head.u32(static_cast<std::uint32_t>(service.dests.size()));
    std::uint64_t sum = 0;
    for (const auto& d : service.dests) {
        Fnv h;
        h.address(d.key.address);
        h.u32(d.key.port);
        h.u32(static_cast<std::uint32_t>(d.settings.forward));
        h.u32(d.settings.weight);
        h.u32(d.settings.upper_threshold);
        h.u32(d.settings.lower_threshold);
        sum += mix(h.hash);
    }
    return fmt::format("{:016x}", mix(head.hash) ^ sum);
}

namespace {

IpvsChange service_change(IpvsOp op, const ServiceKey& key, const ServiceSettings& settings = {}) {
    IpvsChange c;
    c.op = op;
    c.service = key;
    c.service_settings = settings;
    return c;
}

IpvsChange dest_change(IpvsOp op, const ServiceKey& service, const DestKey& dest,
                       const DestSettings& settings = {}) {
    IpvsChange c;
    c.op = op;
    c.service = service;
    c.dest = dest;
    c.dest_settings = settings;
    return c;
}

ServiceSettings comparable(ServiceSettings s) {
    s.flags &= ~kSvcHashed;
    return s;
}

// Changes in the order that keeps a service serving: services added and set first, then
// destinations added, then set, then drained, then deleted, then services deleted. The
// destinations added (all of a cold apply) go straight into the plan; the later phases, small but
// for a mass reweight or removal, are appended to it at the end.
struct Phases {
    std::vector<IpvsChange> set_dests, drains, delete_dests, delete_services;
    std::vector<std::string> draining;

    // A destination that is no longer wanted: to weight 0 while it has active connections,
    // deleted once it has none or the drain time is up.
    void retire_dest(const ServiceKey& svc, const DestInfo& dest, bool expired) {
        if (dest.active_conns == 0 || expired) {
            delete_dests.push_back(dest_change(IpvsOp::delete_dest, svc, dest.key));
            return;
        }
        if (dest.settings.weight != 0) {
            auto quiet = dest.settings;
            quiet.weight = 0;
            drains.push_back(dest_change(IpvsOp::set_dest, svc, dest.key, quiet));
        }
        draining.push_back(
            fmt::format("{} in {} ({} active)", dest.key.str(), svc.str(), dest.active_conns));
    }

    void append_to(IpvsPlan& plan) && {
        for (auto* phase : {&set_dests, &drains, &delete_dests, &delete_services}) {
            plan.changes.insert(plan.changes.end(), std::make_move_iterator(phase->begin()),
                                std::make_move_iterator(phase->end()));
        }
        plan.draining = std::move(draining);
    }
};

// One observed service's destinations by key, for lookups without a node per destination; and
// which of them the desired service named. Reused from one service to the next.
struct Present {
    std::vector<const DestInfo*> by_key;
    std::vector<bool> named;  // by position in the observed service's dests

    void index(const std::vector<DestInfo>& dests) {
        by_key.clear();
        for (const auto& d : dests) {
            by_key.push_back(&d);
        }
        std::sort(by_key.begin(), by_key.end(),
                  [](const DestInfo* a, const DestInfo* b) { return a->key < b->key; });
        named.assign(dests.size(), false);
    }
    const DestInfo* find(const DestKey& key) const {
        const auto it =
            std::lower_bound(by_key.begin(), by_key.end(), key,
                             [](const DestInfo* d, const DestKey& k) { return d->key < k; });
        return it != by_key.end() && (*it)->key == key ? *it : nullptr;
    }
};

}  // namespace

IpvsPlan plan_ipvs(const std::vector<DesiredService>& desired,
                   const std::vector<ServiceKey>& retired,
                   const std::map<ServiceKey, ServiceInfo>& observed, bool drain_expired,
                   const std::set<ServiceKey>& converged) {
    IpvsPlan plan;
    std::size_t wanted_dests = 0;
    for (const auto& want : desired) {
        if (!converged.contains(want.key)) {
            wanted_dests += want.dests.size();
        }
    }
    // Room for every service and destination to be added: memory that is only touched as it is
    // used, so a no-op costs nothing for it.
    plan.changes.reserve(desired.size() + wanted_dests);
    std::vector<const ServiceInfo*> have(desired.size(), nullptr);
    std::vector<bool> skip(desired.size(), false);
    for (std::size_t i = 0; i < desired.size(); ++i) {
        if (converged.contains(desired[i].key)) {
            skip[i] = true;
            continue;
        }
        const auto it = observed.find(desired[i].key);
        if (it != observed.end()) {
            have[i] = &it->second;
        } else {
            plan.changes.push_back(
                service_change(IpvsOp::add_service, desired[i].key, desired[i].settings));
        }
    }
    for (std::size_t i = 0; i < desired.size(); ++i) {
        if (!skip[i] && have[i] != nullptr &&
            comparable(have[i]->settings) != comparable(desired[i].settings)) {
            plan.changes.push_back(
                service_change(IpvsOp::set_service, desired[i].key, desired[i].settings));
        }
    }
    Phases p;
    Present present;
    for (std::size_t i = 0; i < desired.size(); ++i) {
        const auto& want = desired[i];
        if (skip[i]) {
            continue;
        }
        if (have[i] == nullptr) {
            for (const auto& d : want.dests) {
                plan.changes.push_back(dest_change(IpvsOp::add_dest, want.key, d.key, d.settings));
            }
            continue;
        }
        const auto& dests = have[i]->dests;
        present.index(dests);
        for (const auto& d : want.dests) {
            const auto* found = present.find(d.key);
            if (found == nullptr) {
                plan.changes.push_back(dest_change(IpvsOp::add_dest, want.key, d.key, d.settings));
                continue;
            }
            present.named[static_cast<std::size_t>(found - dests.data())] = true;
            if (found->settings != d.settings) {
                // SET keeps the destination and its connection counters; never delete and re-add.
                p.set_dests.push_back(dest_change(IpvsOp::set_dest, want.key, d.key, d.settings));
            }
        }
        for (std::size_t j = 0; j < dests.size(); ++j) {
            if (!present.named[j]) {
                p.retire_dest(want.key, dests[j], drain_expired);
            }
        }
    }
    for (const auto& key : retired) {
        const auto it = observed.find(key);
        if (it == observed.end()) {
            continue;
        }
        const auto& dests = it->second.dests;
        const bool idle = std::all_of(dests.begin(), dests.end(),
                                      [](const DestInfo& d) { return d.active_conns == 0; });
        if (idle || drain_expired) {
            p.delete_services.push_back(service_change(IpvsOp::delete_service, key));
            continue;
        }
        for (const auto& d : dests) {
            if (d.active_conns > 0) {
                p.retire_dest(key, d, false);
            }
        }
    }
    std::move(p).append_to(plan);
    return plan;
}

namespace {
// Whether `have` is exactly `want`: its settings as plan_ipvs() compares them, and the same
// destinations with the same settings (a service never names a destination twice).
bool as_desired(const ServiceInfo& have, const DesiredService& want, Present& present) {
    if (comparable(have.settings) != comparable(want.settings) ||
        have.dests.size() != want.dests.size()) {
        return false;
    }
    present.index(have.dests);
    return std::all_of(want.dests.begin(), want.dests.end(), [&](const DesiredDest& d) {
        const auto* found = present.find(d.key);
        return found != nullptr && found->settings == d.settings;
    });
}
}  // namespace

std::map<ServiceKey, ServiceInfo> IpvsReconciler::observe(
    const std::vector<ServiceKey>& keys, const std::map<ServiceKey, const DesiredService*>& assumed,
    std::set<ServiceKey>* confirmed, const std::vector<DesiredService>* desired) {
    std::map<ServiceKey, ServiceInfo> observed;
    const std::set<ServiceKey> wanted(keys.begin(), keys.end());
    // The desired services by key, for as_desired().
    std::vector<const DesiredService*> by_key;
    if (desired != nullptr && confirmed != nullptr) {
        for (const auto& d : *desired) {
            by_key.push_back(&d);
        }
        std::sort(by_key.begin(), by_key.end(),
                  [](const DesiredService* a, const DesiredService* b) { return a->key < b->key; });
    }
    Present present;
    for (auto& svc : kernel_.services()) {
        if (!wanted.contains(svc.key)) {
            continue;
        }
        const auto known = assumed.find(svc.key);
        if (known != assumed.end() &&
            comparable(svc.settings) == comparable(known->second->settings)) {
            if (confirmed != nullptr) {
                confirmed->insert(svc.key);
            }
            continue;
        }
        auto dests = kernel_.destinations(svc.key);
        if (!dests) {
            continue;  // deleted between the two dumps: it does not exist
        }
        svc.dests = std::move(*dests);
        const auto want = std::lower_bound(
            by_key.begin(), by_key.end(), svc.key,
            [](const DesiredService* d, const ServiceKey& k) { return d->key < k; });
        if (want != by_key.end() && (*want)->key == svc.key && as_desired(svc, **want, present)) {
            confirmed->insert(svc.key);
            continue;
        }
        auto key = svc.key;
        observed.emplace(std::move(key), std::move(svc));
    }
    return observed;
}

namespace {
// Refusals that mean the table changed behind our back: a fresh dump and a new plan fix them.
bool is_race(const IpvsChange& change, int error) {
    switch (change.op) {
        case IpvsOp::add_service:
            return error == EEXIST;
        case IpvsOp::set_service:
        case IpvsOp::delete_service:
            return error == ESRCH;
        case IpvsOp::add_dest:
            return error == EEXIST || error == ESRCH;
        case IpvsOp::set_dest:
        case IpvsOp::delete_dest:
            return error == ESRCH || error == ENOENT;
    }
    return false;
}
}  // namespace

IpvsReport IpvsReconciler::reconcile(const std::vector<DesiredService>& desired,
                                     const std::vector<ServiceKey>& retired,
                                     std::chrono::seconds drain_timeout,
                                     std::chrono::milliseconds poll,
                                     const ServiceDigests* trusted) {
    constexpr int kMaxResyncs = 5;
    IpvsReport report;
    std::vector<ServiceKey> keys = retired;
    std::map<ServiceKey, const DesiredService*> assumed;
    ServiceDigests digests;
    for (const auto& d : desired) {
        keys.push_back(d.key);
        const auto& digest = digests[d.key] = service_digest(d);
        if (trusted != nullptr) {
            const auto found = trusted->find(d.key);
            if (found != trusted->end() && found->second == digest) {
                assumed.emplace(d.key, &d);
            }
        }
    }
    report.trusted = assumed.size();
    // Past kDescribed changes, only counts by kind: a cold apply of 100,000 destinations names the
    // first ones and counts the rest, rather than building a string for each.
    std::array<std::size_t, 6> undescribed{};
    auto finish = [&]() -> IpvsReport {
        if (report.made > kDescribed) {
            static constexpr std::array<std::string_view, 6> kinds{
                "add service",     "set service",     "delete service",
                "add destination", "set destination", "delete destination"};
            std::string counts;
            for (std::size_t i = 0; i < kinds.size(); ++i) {
                if (undescribed[i] > 0) {
                    fmt::format_to(std::back_inserter(counts), "{}{} {}",
                                   counts.empty() ? "" : ", ", undescribed[i], kinds[i]);
                }
            }
            report.done.push_back(
                fmt::format("... and {} more changes: {}", report.made - kDescribed, counts));
        }
        if (report.errors.empty()) {
            report.converged = std::move(digests);
        }
        return std::move(report);
    };
    const auto start = clock_.now();
    int resyncs = 0;
    for (;;) {
        const auto elapsed = clock_.now() - start;
        const bool expired = drain_timeout.count() == 0 || elapsed >= drain_timeout;
        std::set<ServiceKey> confirmed;
        const auto observed = observe(keys, assumed, &confirmed, &desired);
        const auto plan = plan_ipvs(desired, retired, observed, expired, confirmed);
        if (plan.converged()) {
            return finish();
        }
        const auto results = kernel_.apply(plan.changes);
        report.changes_sent += plan.changes.size();
        bool race = false;
        bool failed = false;
        for (std::size_t i = 0; i < plan.changes.size(); ++i) {
            const auto& change = plan.changes[i];
            const int error = i < results.size() ? results[i] : EIO;
            if (error == 0) {
                if (change.op == IpvsOp::add_service) {
                    ++report.services_added;
                }
                if (report.made++ < kDescribed) {
                    report.done.push_back(change.describe());
                } else {
                    ++undescribed[static_cast<std::size_t>(change.op)];
                }
            } else if (is_race(change, error) && resyncs < kMaxResyncs) {
                race = true;
            } else {
                failed = true;
                report.refused = report.refused || error == EPERM || error == EACCES;
                report.errors.push_back(
                    fmt::format("{}: {}", change.describe(), change.error_text(error)));
            }
        }
        if (failed) {
            return finish();
        }
        if (race) {
            ++resyncs;
            continue;
        }
        if (plan.draining.empty()) {
            return finish();
        }
        const auto left = drain_timeout - std::chrono::duration_cast<std::chrono::milliseconds>(
                                              clock_.now() - start);
        clock_.sleep(std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(left),
                                std::chrono::milliseconds(1), poll));
    }
}

}  // namespace lvsctl
