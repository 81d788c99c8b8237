#include "lvsctl/manage/propagate.h"

#include <fmt/format.h>

#include "lvsctl/error.h"
#include "lvsctl/fanout.h"

namespace lvsctl {

std::vector<HostReport> deploy_web_servers(Connector& connector,
                                           const std::vector<WebTarget>& targets,
                                           std::int64_t cluster_id,
                                           const std::vector<IpAddress>& website_ips,
                                           std::size_t parallel, WebPhases phases) {
    std::vector<HostReport> reports(targets.size());
    fan_out(targets.size(), parallel, [&](std::size_t i) {
        auto& report = reports[i];
        const auto& target = targets[i];
        report.host = target.name;
        std::unique_ptr<Transport> host;
        if (auto e = capture_host_error(target.name, [&] {
                host = connector.connect(target.address, target.port);
                WebServerStep step(*host, target.name, cluster_id, website_ips);
                step.observe();
                const bool added = phases == WebPhases::remove || step.add(report);
                if (added && phases != WebPhases::add) {
                    step.remove(report);
                }
            })) {
            report.failure = e->code;
            report.errors.push_back(std::move(e->message));
        }
        if (host) {
            report.changing_commands = host->changing_commands();
        }
        for (auto& e : report.errors) {
            e = host_prefixed(target.name, e);
        }
    });
    return reports;
}

}  // namespace lvsctl
