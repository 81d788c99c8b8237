#include "ipvs/netlink.h"

#include <fmt/format.h>
#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "lvsctl/error.h"

namespace lvsctl::ipvs {

void SocketDeleter::operator()(nl_sock* sock) const {
    nl_socket_free(sock);
}
void MessageDeleter::operator()(nl_msg* msg) const {
    nlmsg_free(msg);
}

namespace {

// Large enough that a window of acknowledgements never overflows it (keepalived's ENOBUFS).
constexpr int kBufferBytes = 8 << 20;
// What one sendmsg carries at most; the kernel refuses more than the send buffer.
constexpr std::size_t kSendChunkBytes = 256 << 10;

void set_buffer(int fd, int force_option, int option, int bytes) {
    // SO_*BUFFORCE passes the sysctl limits as root; otherwise take what the limits allow.
    if (setsockopt(fd, SOL_SOCKET, force_option, &bytes, sizeof bytes) != 0) {
        setsockopt(fd, SOL_SOCKET, option, &bytes, sizeof bytes);
    }
}

}  // namespace

GenlSocket GenlSocket::open(const std::string& family) {
    std::unique_ptr<nl_sock, SocketDeleter> sock(nl_socket_alloc());
    if (!sock) {
        throw Error(ExitCode::internal, "netlink: out of memory");
    }
    if (int err = genl_connect(sock.get()); err < 0) {
        throw Error(ExitCode::kernel, fmt::format("netlink: connect: {}", nl_geterror(err)));
    }
    const int id = genl_ctrl_resolve(sock.get(), family.c_str());
    if (id < 0) {
        throw Error(ExitCode::kernel,
                    fmt::format("netlink: no generic netlink family {} in this kernel ({}); is "
                                "its module (ip_vs) available?",
                                family, nl_geterror(id)));
    }
    const int fd = nl_socket_get_fd(sock.get());
    set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, kBufferBytes);
    set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, kBufferBytes);
    int one = 1;
    // Errors come back without a copy of the request: smaller acknowledgements.
    setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
    return GenlSocket(std::move(sock), id);
}

MessagePtr GenlSocket::request(std::uint8_t command, std::uint8_t version, int flags) {
    MessagePtr msg(nlmsg_alloc());
    if (!msg || genlmsg_put(msg.get(), NL_AUTO_PORT, next_seq_++, family_, 0, NLM_F_REQUEST | flags,
                            command, version) == nullptr) {
        throw Error(ExitCode::internal, "netlink: cannot build a message");
    }
    return msg;
}

std::uint32_t GenlSocket::sequence_of(nl_msg* msg) {
    return nlmsg_hdr(msg)->nlmsg_seq;
}

void GenlSocket::send(const std::vector<MessagePtr>& messages) {
    const int fd = nl_socket_get_fd(sock_.get());
    auto flush = [&] {
        if (send_buffer_.empty()) {
            return;
        }
        sockaddr_nl kernel{};
        kernel.nl_family = AF_NETLINK;
        const auto sent = sendto(fd, send_buffer_.data(), send_buffer_.size(), 0,
                                 reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
        if (sent < 0 || static_cast<std::size_t>(sent) != send_buffer_.size()) {
            throw Error(ExitCode::kernel, fmt::format("netlink: send: {}", std::strerror(errno)));
        }
        ++sendmsg_calls_;
        send_buffer_.clear();
    };
    for (const auto& msg : messages) {
        const nlmsghdr* hdr = nlmsg_hdr(msg.get());
        const std::size_t aligned = NLMSG_ALIGN(hdr->nlmsg_len);
        if (send_buffer_.size() + aligned > kSendChunkBytes) {
            flush();
        }
        const auto* bytes = reinterpret_cast<const std::uint8_t*>(hdr);
        send_buffer_.insert(send_buffer_.end(), bytes, bytes + hdr->nlmsg_len);
        send_buffer_.resize(send_buffer_.size() + (aligned - hdr->nlmsg_len), 0);
        ++messages_sent_;
    }
    flush();
}

void GenlSocket::receive(const std::function<void(nlmsghdr&)>& visit) {
    const int fd = nl_socket_get_fd(sock_.get());
    ssize_t got = 0;
    do {
        got = recv(fd, receive_buffer_.data(), receive_buffer_.size(), 0);
    } while (got < 0 && errno == EINTR);
    if (got < 0) {
        throw Error(ExitCode::kernel, fmt::format("netlink: receive: {}", std::strerror(errno)));
    }
    auto* hdr = reinterpret_cast<nlmsghdr*>(receive_buffer_.data());
    int left = static_cast<int>(got);
    for (; nlmsg_ok(hdr, left); hdr = nlmsg_next(hdr, &left)) {
        visit(*hdr);
    }
}

}  // namespace lvsctl::ipvs
