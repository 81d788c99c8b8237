// An in-memory IPVS table that refuses what the kernel refuses, with the kernel's errno:
// EEXIST for a service or destination that exists, ESRCH for a missing service, ENOENT for a
// missing destination or an unknown scheduler. It counts the changing messages it is sent.
#pragma once

#include <algorithm>
#include <cerrno>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "lvsctl/lb/ipvs_plan.h"
#include "lvsctl/model.h"
#include "lvsctl/vip_plan.h"

namespace lvsctl::testing {

class FakeKernel : public IpvsKernel {
  public:
    std::map<ServiceKey, ServiceInfo> table;
    std::size_t messages = 0;  // changing messages received
    std::size_t apply_calls = 0;
    std::size_t dest_dumps = 0;  // destinations() calls
    // Runs before each batch is applied: lets a test change the table behind the caller's back.
    std::function<void(FakeKernel&)> before_apply;

    std::vector<ServiceInfo> services() override {
        std::vector<ServiceInfo> out;
        for (const auto& [key, svc] : table) {
            auto copy = svc;
            copy.dests.clear();
            copy.settings.flags |= kSvcHashed;  // as the kernel reports it
            out.push_back(std::move(copy));
        }
        return out;
    }

    std::optional<std::vector<DestInfo>> destinations(const ServiceKey& key) override {
        ++dest_dumps;
        const auto it = table.find(key);
        if (it == table.end()) {
            return std::nullopt;
        }
        return it->second.dests;
    }

    std::vector<int> apply(const std::vector<IpvsChange>& changes) override {
        ++apply_calls;
        if (before_apply) {
            auto hook = std::move(before_apply);
            before_apply = nullptr;
            hook(*this);
        }
        std::vector<int> results;
        for (const auto& c : changes) {
            ++messages;
            results.push_back(apply_one(c));
        }
        return results;
    }

    void add(const ServiceKey& key, const ServiceSettings& settings) {
        table[key] = ServiceInfo{key, settings, {}, {}};
    }
    DestInfo* dest(const ServiceKey& svc, const DestKey& key) {
        auto it = table.find(svc);
        if (it == table.end()) {
            return nullptr;
        }
        for (auto& d : it->second.dests) {
            if (d.key == key) {
                return &d;
            }
        }
        return nullptr;
    }

  private:
    int apply_one(const IpvsChange& c) {
        const auto it = table.find(c.service);
        switch (c.op) {
            case IpvsOp::add_service:
                if (it != table.end()) {
                    return EEXIST;
                }
                if (!is_known_scheduler(c.service_settings.scheduler)) {
                    return ENOENT;
                }
                add(c.service, c.service_settings);
                return 0;
            case IpvsOp::set_service:
                if (it == table.end()) {
                    return ESRCH;
                }
                if (!is_known_scheduler(c.service_settings.scheduler)) {
                    return ENOENT;
                }
                it->second.settings = c.service_settings;
                return 0;
            case IpvsOp::delete_service:
                if (it == table.end()) {
                    return ESRCH;
                }
                table.erase(it);
                return 0;
            default:
                break;
        }
        if (it == table.end()) {
            return ESRCH;
        }
        auto& dests = it->second.dests;
        auto d = std::find_if(dests.begin(), dests.end(),
                              [&](const auto& x) { return x.key == c.dest; });
        switch (c.op) {
            case IpvsOp::add_dest:
                if (d != dests.end()) {
                    return EEXIST;
                }
                dests.push_back(DestInfo{c.dest, c.dest_settings, 0, 0, 0, {}});
                return 0;
            case IpvsOp::set_dest:
                if (d == dests.end()) {
                    return ENOENT;
                }
                d->settings = c.dest_settings;
                return 0;
            case IpvsOp::delete_dest:
                if (d == dests.end()) {
                    return ENOENT;
                }
                dests.erase(d);
                return 0;
            default:
                return EINVAL;
        }
    }
};

// Time that passes only when the code under test sleeps; `on_sleep` runs at each sleep.
class FakeClock : public Clock {
  public:
    std::chrono::steady_clock::time_point t{};
    std::function<void()> on_sleep;
    std::size_t sleeps = 0;
    std::chrono::steady_clock::time_point now() override { return t; }
    void sleep(std::chrono::milliseconds d) override {
        t += d;
        ++sleeps;
        if (on_sleep) {
            on_sleep();
        }
    }
};

// Interfaces and their addresses, refusing as rtnetlink does: EEXIST for an address already on
// the interface, EADDRNOTAVAIL for one that is not there, ENODEV for an unknown interface.
class FakeAddresses : public AddressKernel {
  public:
    std::map<std::string, int> interfaces;                      // name -> index
    std::map<int, std::vector<InterfaceAddress>> addresses_of;  // index -> addresses
    std::map<IpAddress, int> refuse;  // an address whose add or remove fails with this errno
    // Runs before each add(), with the addresses about to be added.
    std::function<void(const std::vector<IpAddress>&)> before_add;

    int interface(const std::string& name) {
        const auto it = interfaces.find(name);
        if (it != interfaces.end()) {
            return it->second;
        }
        const int index = static_cast<int>(interfaces.size()) + 2;  // 1 is lo
        interfaces[name] = index;
        addresses_of[index];
        return index;
    }
    bool has(const std::string& name, const IpAddress& ip) {
        const auto& list = addresses_of[interface(name)];
        return std::any_of(list.begin(), list.end(),
                           [&](const InterfaceAddress& a) { return a.address == ip; });
    }

    std::optional<int> interface_index(const std::string& name) override {
        const auto it = interfaces.find(name);
        return it == interfaces.end() ? std::nullopt : std::optional<int>(it->second);
    }
    std::vector<InterfaceAddress> addresses(int ifindex) override { return addresses_of[ifindex]; }
    std::vector<int> add(int ifindex, const std::vector<IpAddress>& ips) override {
        if (before_add) {
            before_add(ips);
        }
        std::vector<int> out;
        for (const auto& ip : ips) {
            auto& list = addresses_of[ifindex];
            if (const auto r = refuse.find(ip); r != refuse.end()) {
                out.push_back(r->second);
            } else if (std::any_of(list.begin(), list.end(),
                                   [&](const InterfaceAddress& a) { return a.address == ip; })) {
                out.push_back(EEXIST);
            } else {
                list.push_back({ip, ip.host_prefix()});
                out.push_back(0);
            }
        }
        return out;
    }
    std::vector<int> remove(int ifindex, const std::vector<InterfaceAddress>& addrs) override {
        std::vector<int> out;
        for (const auto& a : addrs) {
            auto& list = addresses_of[ifindex];
            const auto it = std::find_if(list.begin(), list.end(), [&](const InterfaceAddress& x) {
                return x.address == a.address && x.prefix == a.prefix;
            });
            if (const auto r = refuse.find(a.address); r != refuse.end()) {
                out.push_back(r->second);
            } else if (it == list.end()) {
                out.push_back(EADDRNOTAVAIL);
            } else {
                list.erase(it);
                out.push_back(0);
            }
        }
        return out;
    }
};

}  // namespace lvsctl::testing
