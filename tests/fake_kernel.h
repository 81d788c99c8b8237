// An in-memory IPVS table that refuses what the kernel refuses, with the kernel's errno:
// EEXIST for a service or destination that exists, ESRCH for a missing service, ENOENT for a
// missing destination or an unknown scheduler. It counts the changing messages it is sent.
#pragma once

#include <cerrno>
#include <functional>
#include <map>
#include <set>

#include "lvsctl/ipvs_plan.h"
#include "lvsctl/model.h"

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

}  // namespace lvsctl::testing
