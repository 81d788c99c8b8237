#include "ipvs/addresses.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include <cstring>

#include "lvsctl/error.h"

namespace lvsctl::ipvs {

namespace {

void check(int rc) {
    if (rc < 0) {
        throw Error(ExitCode::internal, "netlink: an address message outgrew its buffer");
    }
}

MessagePtr address_message(NetlinkSocket& socket, int type, int flags, int ifindex,
                           const IpAddress& address, int prefix) {
    auto msg = socket.request(type, flags | NLM_F_ACK);
    ifaddrmsg ifa{};
    ifa.ifa_family = address.is_v4() ? AF_INET : AF_INET6;
    ifa.ifa_prefixlen = static_cast<unsigned char>(prefix);
    // No duplicate address detection: a website IP is usable the moment it is there.
    ifa.ifa_flags = address.is_v4() ? 0 : IFA_F_NODAD;
    ifa.ifa_scope = RT_SCOPE_UNIVERSE;
    ifa.ifa_index = static_cast<unsigned>(ifindex);
    check(nlmsg_append(msg.get(), &ifa, sizeof ifa, NLMSG_ALIGNTO));
    const int len = address.is_v4() ? 4 : 16;
    check(nla_put(msg.get(), IFA_LOCAL, len, address.bytes().data()));
    check(nla_put(msg.get(), IFA_ADDRESS, len, address.bytes().data()));
    return msg;
}

}  // namespace

NetlinkAddresses::NetlinkAddresses(std::size_t window)
    : socket_(NetlinkSocket::open_route()), window_(window) {}

std::optional<int> NetlinkAddresses::interface_index(const std::string& name) {
    const unsigned index = ::if_nametoindex(name.c_str());
    return index == 0 ? std::nullopt : std::optional<int>(static_cast<int>(index));
}

std::vector<InterfaceAddress> NetlinkAddresses::addresses(int ifindex) {
    auto request = socket_.request(RTM_GETADDR, NLM_F_DUMP);
    ifaddrmsg ifa{};
    ifa.ifa_family = AF_UNSPEC;
    check(nlmsg_append(request.get(), &ifa, sizeof ifa, NLMSG_ALIGNTO));
    std::vector<InterfaceAddress> out;
    const int error = socket_.dump(std::move(request), [&](nlmsghdr& hdr) {
        if (hdr.nlmsg_type != RTM_NEWADDR || hdr.nlmsg_len < NLMSG_LENGTH(sizeof(ifaddrmsg))) {
            return;
        }
        const auto* msg = static_cast<const ifaddrmsg*>(nlmsg_data(&hdr));
        if (static_cast<int>(msg->ifa_index) != ifindex) {
            return;
        }
        nlattr* tb[IFA_MAX + 1] = {};
        if (nlmsg_parse(&hdr, sizeof(ifaddrmsg), tb, IFA_MAX, nullptr) < 0) {
            return;
        }
        // IFA_LOCAL is the address itself on point-to-point links; IFA_ADDRESS otherwise.
        nlattr* attr = tb[IFA_LOCAL] != nullptr ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
        const int want = msg->ifa_family == AF_INET ? 4 : msg->ifa_family == AF_INET6 ? 16 : 0;
        if (attr == nullptr || want == 0 || nla_len(attr) != want) {
            return;
        }
        char text[INET6_ADDRSTRLEN] = {};
        inet_ntop(msg->ifa_family, nla_data(attr), text, sizeof text);
        if (auto ip = IpAddress::parse(text)) {
            out.push_back({*ip, msg->ifa_prefixlen});
        }
    });
    if (error != 0) {
        throw Error(ExitCode::kernel, fmt::format("list addresses of interface {}: {}", ifindex,
                                                  std::strerror(error)));
    }
    return out;
}

std::vector<int> NetlinkAddresses::add(int ifindex, const std::vector<IpAddress>& addresses) {
    return socket_.transact(
        addresses.size(),
        [&](std::size_t i) {
            const auto& a = addresses[i];
            return address_message(socket_, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex, a,
                                   a.host_prefix());
        },
        window_);
}

std::vector<int> NetlinkAddresses::remove(int ifindex,
                                          const std::vector<InterfaceAddress>& addresses) {
    return socket_.transact(
        addresses.size(),
        [&](std::size_t i) {
            return address_message(socket_, RTM_DELADDR, 0, ifindex, addresses[i].address,
                                   addresses[i].prefix);
        },
        window_);
}

}  // namespace lvsctl::ipvs
