// lvsctl::IpvsKernel over generic netlink (family "IPVS").
#pragma once

#include <cstddef>

#include "ipvs/netlink.h"
#include "lvsctl/lb/ipvs_plan.h"

namespace lvsctl::ipvs {

class NetlinkKernel : public IpvsKernel {
  public:
    // `window`: changes in flight before their acknowledgements are read.
    explicit NetlinkKernel(std::size_t window = 512);

    std::vector<ServiceInfo> services() override;
    std::optional<std::vector<DestInfo>> destinations(const ServiceKey& service) override;
    std::vector<int> apply(const std::vector<IpvsChange>& changes) override;

    // Every service with its destinations.
    std::vector<ServiceInfo> table();

    // The connection sync daemons running (none, a master, a backup, or both).
    std::vector<SyncDaemon> sync_daemons();

    std::uint64_t messages_sent() const { return socket_.messages_sent(); }
    std::uint64_t sendmsg_calls() const { return socket_.sendmsg_calls(); }

  private:
    NetlinkSocket socket_;
    std::size_t window_;
};

}  // namespace lvsctl::ipvs
