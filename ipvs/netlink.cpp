#include "ipvs/netlink.h"

#include <fmt/format.h>
#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <map>

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
// One request: a change to IPVS or an address is a few hundred bytes (libnl's default is a page,
// which at 100,000 changes meant 400 MB of page faults).
constexpr std::size_t kMessageBytes = 1024;
// What one sendmsg carries at most; the kernel refuses more than the send buffer.
constexpr std::size_t kSendChunkBytes = 256 << 10;

void set_buffer(int fd, int force_option, int option, int bytes) {
    // SO_*BUFFORCE passes the sysctl limits as root; otherwise take what the limits allow.
    if (setsockopt(fd, SOL_SOCKET, force_option, &bytes, sizeof bytes) != 0) {
        setsockopt(fd, SOL_SOCKET, option, &bytes, sizeof bytes);
    }
}

}  // namespace

std::unique_ptr<nl_sock, SocketDeleter> NetlinkSocket::connect(int protocol) {
    std::unique_ptr<nl_sock, SocketDeleter> sock(nl_socket_alloc());
    if (!sock) {
        throw Error(ExitCode::internal, "netlink: out of memory");
    }
    if (int err = nl_connect(sock.get(), protocol); err < 0) {
        throw Error(ExitCode::kernel, fmt::format("netlink: connect: {}", nl_geterror(err)));
    }
    const int fd = nl_socket_get_fd(sock.get());
    set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, kBufferBytes);
    set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, kBufferBytes);
    int one = 1;
    // Errors come back without a copy of the request: smaller acknowledgements.
    setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
    return sock;
}

NetlinkSocket NetlinkSocket::open_generic(const std::string& family) {
    auto sock = connect(NETLINK_GENERIC);
    // genl_ctrl_resolve talks through libnl's own request/ack path, before we take the socket
    // over with sequence numbers of our own.
    const int id = genl_ctrl_resolve(sock.get(), family.c_str());
    if (id < 0) {
        throw Error(ExitCode::kernel,
                    fmt::format("netlink: no generic netlink family {} in this kernel ({}); is "
                                "its module (ip_vs) available?",
                                family, nl_geterror(id)));
    }
    return NetlinkSocket(std::move(sock), id);
}

NetlinkSocket NetlinkSocket::open_route() {
    return NetlinkSocket(connect(NETLINK_ROUTE), 0);
}

MessagePtr NetlinkSocket::generic_request(std::uint8_t command, std::uint8_t version, int flags) {
    MessagePtr msg(nlmsg_alloc_size(kMessageBytes));
    if (!msg || genlmsg_put(msg.get(), NL_AUTO_PORT, next_seq_++, family_, 0, NLM_F_REQUEST | flags,
                            command, version) == nullptr) {
        throw Error(ExitCode::internal, "netlink: cannot build a message");
    }
    return msg;
}

MessagePtr NetlinkSocket::request(int type, int flags) {
    MessagePtr msg(nlmsg_alloc_size(kMessageBytes));
    if (!msg || nlmsg_put(msg.get(), NL_AUTO_PORT, next_seq_++, type, 0, NLM_F_REQUEST | flags) ==
                    nullptr) {
        throw Error(ExitCode::internal, "netlink: cannot build a message");
    }
    return msg;
}

int error_of(nlmsghdr& hdr) {
    if (hdr.nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) {
        throw Error(ExitCode::kernel, "netlink: a truncated error message");
    }
    return -static_cast<const nlmsgerr*>(nlmsg_data(&hdr))->error;
}

std::vector<int> NetlinkSocket::transact(std::size_t count,
                                         const std::function<MessagePtr(std::size_t)>& build,
                                         std::size_t window) {
    window = window == 0 ? 1 : window;
    std::vector<int> results(count, 0);
    for (std::size_t begin = 0; begin < count; begin += window) {
        const std::size_t end = std::min(count, begin + window);
        std::vector<MessagePtr> batch;
        std::map<std::uint32_t, std::size_t> index_of;  // sequence number -> message
        for (std::size_t i = begin; i < end; ++i) {
            auto msg = build(i);
            auto* hdr = nlmsg_hdr(msg.get());
            hdr->nlmsg_flags &= ~NLM_F_ACK;
            index_of.emplace(hdr->nlmsg_seq, i);
            batch.push_back(std::move(msg));
        }
        auto* last = nlmsg_hdr(batch.back().get());
        last->nlmsg_flags |= NLM_F_ACK;
        const auto last_seq = last->nlmsg_seq;
        send(batch);
        bool answered = false;
        while (!answered) {
            receive([&](nlmsghdr& hdr) {
                if (hdr.nlmsg_type != NLMSG_ERROR) {
                    return;
                }
                const auto it = index_of.find(hdr.nlmsg_seq);
                if (it == index_of.end()) {
                    return;
                }
                results[it->second] = error_of(hdr);
                answered = answered || hdr.nlmsg_seq == last_seq;
            });
        }
    }
    return results;
}

int NetlinkSocket::dump(MessagePtr request, const std::function<void(nlmsghdr&)>& visit) {
    const auto seq = nlmsg_hdr(request.get())->nlmsg_seq;
    std::vector<MessagePtr> batch;
    batch.push_back(std::move(request));
    send(batch);
    bool done = false;
    int error = 0;
    while (!done) {
        receive([&](nlmsghdr& hdr) {
            if (hdr.nlmsg_seq != seq || done) {
                return;  // a late acknowledgement of something else: not ours to read
            }
            if (hdr.nlmsg_type == NLMSG_DONE) {
                done = true;
            } else if (hdr.nlmsg_type == NLMSG_ERROR) {
                error = error_of(hdr);
                done = true;
            } else if (error == 0) {
                visit(hdr);
            }
        });
    }
    return error;
}

void NetlinkSocket::send(const std::vector<MessagePtr>& messages) {
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

void NetlinkSocket::receive(const std::function<void(nlmsghdr&)>& visit) {
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
