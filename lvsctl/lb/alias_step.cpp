#include "lvsctl/lb/alias_step.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

namespace lvsctl {

namespace {
std::string alias(const IpAddress& ip) {
    return fmt::format("{}/{}", ip.str(), ip.host_prefix());
}
}  // namespace

AliasStep::AliasStep(AddressKernel& kernel, int ifindex, std::string interface,
                     const std::vector<IpAddress>& desired, const OwnedAliases& owned)
    : kernel_(kernel),
      ifindex_(ifindex),
      interface_(std::move(interface)),
      desired_(desired.begin(), desired.end()),
      former_(owned.former) {
    if (owned.interface == interface_) {
        vips_.insert(owned.vips.begin(), owned.vips.end());
    } else if (!owned.interface.empty()) {
        auto& left = former_[owned.interface];
        left.insert(left.end(), owned.vips.begin(), owned.vips.end());
    }
    // Back on an interface the cluster had left: what it placed there is its own again.
    if (const auto it = former_.find(interface_); it != former_.end()) {
        vips_.insert(it->second.begin(), it->second.end());
        former_.erase(it);
    }
    const auto present = kernel_.addresses(ifindex_);
    plan_ = plan_vips(desired, present, std::vector<IpAddress>(vips_.begin(), vips_.end()));
    // Owned from now on: the host routes here that were owned or are desired. An owned address
    // no longer there (or there with another prefix, which is never removed) is forgotten.
    std::set<IpAddress> kept;
    for (const auto& a : present) {
        if (a.is_host_route() && (vips_.contains(a.address) || desired_.contains(a.address))) {
            kept.insert(a.address);
        }
    }
    vips_ = std::move(kept);
}

std::vector<IpAddress> AliasStep::leaving() const {
    std::vector<IpAddress> out;
    for (const auto& a : plan_.remove) {
        out.push_back(a.address);
    }
    for (const auto& [interface, ips] : former_) {
        for (const auto& ip : ips) {
            if (!desired_.contains(ip)) {
                out.push_back(ip);
            }
        }
    }
    return sorted_unique(std::move(out));
}

void AliasStep::failed(const std::string& what, int error) {
    if (error == EPERM || error == EACCES) {
        refused = true;
    }
    errors.push_back(fmt::format("{}: {}", what, std::strerror(error)));
}

void AliasStep::add(const std::function<void(const OwnedAliases&)>& record) {
    if (plan_.add.empty()) {
        return;
    }
    auto intent = owned();
    intent.vips.insert(intent.vips.end(), plan_.add.begin(), plan_.add.end());
    intent.vips = sorted_unique(std::move(intent.vips));
    record(intent);
    const auto results = kernel_.add(ifindex_, plan_.add);
    for (std::size_t i = 0; i < plan_.add.size(); ++i) {
        const auto what = fmt::format("add address {} to {}", alias(plan_.add[i]), interface_);
        const int error = i < results.size() ? results[i] : EIO;
        if (error == 0) {
            done.push_back(what);
            vips_.insert(plan_.add[i]);
        } else {
            failed(what, error);
        }
    }
}

void AliasStep::remove() {
    auto remove_from = [&](int index, const std::string& name,
                           const std::vector<InterfaceAddress>& addrs, auto&& gone) {
        const auto results = kernel_.remove(index, addrs);
        for (std::size_t i = 0; i < addrs.size(); ++i) {
            const auto what = fmt::format("remove address {}/{} from {}", addrs[i].address.str(),
                                          addrs[i].prefix, name);
            const int error = i < results.size() ? results[i] : EIO;
            if (error == 0 || error == EADDRNOTAVAIL) {
                done.push_back(what);
                gone(addrs[i].address);
            } else {
                failed(what, error);
            }
        }
    };
    if (!plan_.remove.empty()) {
        remove_from(ifindex_, interface_, plan_.remove,
                    [&](const IpAddress& ip) { vips_.erase(ip); });
    }
    for (auto it = former_.begin(); it != former_.end();) {
        const auto& [name, ips] = *it;
        const auto index = kernel_.interface_index(name);
        if (!index) {
            it = former_.erase(it);  // the interface is gone, and its addresses with it
            continue;
        }
        // Only what is still there as a host route is ours to remove; the rest is forgotten.
        const auto old = plan_vips({}, kernel_.addresses(*index), ips);
        std::set<IpAddress> kept;
        for (const auto& a : old.remove) {
            kept.insert(a.address);
        }
        if (!old.remove.empty()) {
            remove_from(*index, name, old.remove, [&](const IpAddress& ip) { kept.erase(ip); });
        }
        if (kept.empty()) {
            it = former_.erase(it);
        } else {
            it->second.assign(kept.begin(), kept.end());
            ++it;
        }
    }
}

OwnedAliases AliasStep::owned() const {
    return {interface_, std::vector<IpAddress>(vips_.begin(), vips_.end()), former_};
}

}  // namespace lvsctl
