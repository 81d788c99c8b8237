// The seed cluster's hosts as fakes for the management side's tests (update, status, the web
// view): an UpdateEnvironment over FakeConnector, and what an LB's `agent show` prints.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "fake_host.h"
#include "fixtures.h"
#include "lvsctl/manage/backends.h"
#include "lvsctl/manage/update.h"
#include "lvsctl/protocol/agent_documents.h"

namespace lvsctl::testing {

// The seed cluster's hosts as fakes: two web servers and an LB whose agent shows `show`.
class FakeEnvironment : public UpdateEnvironment {
  public:
    FakeConnector fakes;
    Connector& connector() override { return fakes; }
    bool needs_ssh(const Cluster&) const override { return true; }
    std::unique_ptr<LbBackend> backend(const Cluster&, const LoadBalancer&, Transport* host,
                                       const std::string& name) override {
        return std::make_unique<AgentBackend>(*host, name, "lvsctl");
    }
};

// What `agent show` prints for an LB that has `ips` and the seed's two servers (or `servers`).
inline std::string show(const std::vector<std::string>& ips,
                        const std::vector<std::string>& servers = {"10.39.84.43", "10.39.84.44"},
                        const std::vector<MonitorShown>& monitors = {}) {
    std::vector<ServiceInfo> services;
    if (!servers.empty()) {
        ServiceInfo svc;
        svc.key = ServiceKey::fwmark_service(Family::inet, 100);
        svc.settings = {"lblc", 0, 0, 0xffffffff};
        for (const auto& s : servers) {
            svc.dests.push_back(
                DestInfo{{ip(s.c_str()), 0}, {IpvsForward::route, 32, 0, 0}, 0, 0, 0, {}});
        }
        services.push_back(svc);
    }
    PlacedState placed{"eth1", {}, {100}, "iptables"};
    for (const auto& i : ips) {
        placed.website_ips.push_back(ip(i.c_str()));
    }
    return agent_show_document(services, placed, monitors);
}

}  // namespace lvsctl::testing
