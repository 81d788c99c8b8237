#include "lvsctl/lb/ipvs_plan.h"

#include "lvsctl/digest.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <set>

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

std::string service_digest(const DesiredService& service) {
    // FNV-1a over a canonical text: a fingerprint to notice change, not a security boundary
    // (the record it is kept in is the agent's own, mode 0600).
    auto dests = service.dests;
    std::sort(dests.begin(), dests.end(),
              [](const DesiredDest& a, const DesiredDest& b) { return a.key < b.key; });
    const auto& s = service.settings;
    std::string text = fmt::format("{}|{}|{}|{}|{}", service.key.str(), s.scheduler, s.flags,
                                   s.timeout, s.netmask);
    for (const auto& d : dests) {
        fmt::format_to(std::back_inserter(text), "|{} {} {} {} {}", d.key.str(),
                       static_cast<std::uint32_t>(d.settings.forward), d.settings.weight,
                       d.settings.upper_threshold, d.settings.lower_threshold);
    }
    return fnv1a_hex(text);
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

// Changes grouped so that a service never loses its last destination before the new ones are
// in: add and set first, then drain, then delete.
struct Phases {
    std::vector<IpvsChange> add_services, set_services, add_dests, set_dests, drains, delete_dests,
        delete_services;
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

    IpvsPlan flatten() && {
        IpvsPlan plan;
        for (auto* phase : {&add_services, &set_services, &add_dests, &set_dests, &drains,
                            &delete_dests, &delete_services}) {
            plan.changes.insert(plan.changes.end(), phase->begin(), phase->end());
        }
        plan.draining = std::move(draining);
        return plan;
    }
};

}  // namespace

IpvsPlan plan_ipvs(const std::vector<DesiredService>& desired,
                   const std::vector<ServiceKey>& retired,
                   const std::map<ServiceKey, ServiceInfo>& observed, bool drain_expired) {
    Phases p;
    for (const auto& want : desired) {
        const auto it = observed.find(want.key);
        if (it == observed.end()) {
            p.add_services.push_back(service_change(IpvsOp::add_service, want.key, want.settings));
            for (const auto& d : want.dests) {
                p.add_dests.push_back(dest_change(IpvsOp::add_dest, want.key, d.key, d.settings));
            }
            continue;
        }
        const auto& have = it->second;
        if (comparable(have.settings) != comparable(want.settings)) {
            p.set_services.push_back(service_change(IpvsOp::set_service, want.key, want.settings));
        }
        std::map<DestKey, const DestInfo*> present;
        for (const auto& d : have.dests) {
            present.emplace(d.key, &d);
        }
        std::set<DestKey> wanted;
        for (const auto& d : want.dests) {
            wanted.insert(d.key);
            const auto found = present.find(d.key);
            if (found == present.end()) {
                p.add_dests.push_back(dest_change(IpvsOp::add_dest, want.key, d.key, d.settings));
            } else if (found->second->settings != d.settings) {
                // SET keeps the destination and its connection counters; never delete and re-add.
                p.set_dests.push_back(dest_change(IpvsOp::set_dest, want.key, d.key, d.settings));
            }
        }
        for (const auto& d : have.dests) {
            if (!wanted.contains(d.key)) {
                p.retire_dest(want.key, d, drain_expired);
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
    return std::move(p).flatten();
}

std::map<ServiceKey, ServiceInfo> IpvsReconciler::observe(
    const std::vector<ServiceKey>& keys,
    const std::map<ServiceKey, const DesiredService*>& assumed) {
    std::map<ServiceKey, ServiceInfo> observed;
    const std::set<ServiceKey> wanted(keys.begin(), keys.end());
    for (auto& svc : kernel_.services()) {
        if (!wanted.contains(svc.key)) {
            continue;
        }
        const auto known = assumed.find(svc.key);
        if (known != assumed.end() &&
            comparable(svc.settings) == comparable(known->second->settings)) {
            for (const auto& d : known->second->dests) {
                svc.dests.push_back(DestInfo{d.key, d.settings, 0, 0, 0, {}});
            }
            auto key = svc.key;
            observed.emplace(std::move(key), std::move(svc));
            continue;
        }
        auto dests = kernel_.destinations(svc.key);
        if (!dests) {
            continue;  // deleted between the two dumps: it does not exist
        }
        svc.dests = std::move(*dests);
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
    auto finish = [&]() -> IpvsReport {
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
        const auto plan = plan_ipvs(desired, retired, observe(keys, assumed), expired);
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
                report.done.push_back(change.describe());
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
