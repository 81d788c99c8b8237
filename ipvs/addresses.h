// lvsctl::AddressKernel over rtnetlink: the interface's addresses, and batches of aliases added
// or removed with one window of acknowledgements at a time.
#pragma once

#include "ipvs/netlink.h"
#include "lvsctl/vip_plan.h"

namespace lvsctl::ipvs {

class NetlinkAddresses : public AddressKernel {
  public:
    explicit NetlinkAddresses(std::size_t window = 512);
    std::optional<int> interface_index(const std::string& name) override;
    std::vector<InterfaceAddress> addresses(int ifindex) override;
    std::vector<int> add(int ifindex, const std::vector<IpAddress>& addresses) override;
    std::vector<int> remove(int ifindex, const std::vector<InterfaceAddress>& addresses) override;

  private:
    NetlinkSocket socket_;
    std::size_t window_;
};

}  // namespace lvsctl::ipvs
