#include "lvsctl/lb/health_record.h"

#include <vector>

namespace lvsctl {

LbDesiredState with_health(LbDesiredState desired, const HealthRecord& record) {
    if (!desired.checks) {
        return desired;
    }
    const bool quiesce = desired.checks->quiesce;
    for (auto& svc : desired.services) {
        std::vector<Destination> kept;
        for (auto d : svc.destinations) {
            const auto it = record.servers.find(d.address);
            const auto health =
                it == record.servers.end()
                    ? ServerHealth(d.weight)
                    : ServerHealth::restore(it->second.state, d.weight, it->second.weight,
                                            it->second.in_service);
            if (const auto weight = effective_weight(d.weight, &health, quiesce)) {
                d.weight = *weight;
                kept.push_back(d);
            }
        }
        svc.destinations = std::move(kept);
    }
    return desired;
}

}  // namespace lvsctl
