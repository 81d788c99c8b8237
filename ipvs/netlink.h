// A netlink socket (generic or route) that sends many requests per sendmsg and reads replies in
// bulk. RAII throughout: the libnl socket and messages are freed however a function is left.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

struct nl_sock;
struct nl_msg;
struct nlmsghdr;

namespace lvsctl::ipvs {

struct SocketDeleter {
    void operator()(nl_sock* sock) const;
};
struct MessageDeleter {
    void operator()(nl_msg* msg) const;
};
using MessagePtr = std::unique_ptr<nl_msg, MessageDeleter>;

class NetlinkSocket {
  public:
    // Generic netlink, resolving `family` (the kernel loads the module for it when it can).
    // Throws Error(ExitCode::kernel) naming the family when it does not exist.
    static NetlinkSocket open_generic(const std::string& family);
    // rtnetlink (addresses, links).
    static NetlinkSocket open_route();

    int family() const { return family_; }  // the generic family's id

    // A generic netlink request of this family: NLM_F_REQUEST plus `flags`, next sequence.
    MessagePtr generic_request(std::uint8_t command, std::uint8_t version, int flags);
    // A plain request of `type` (RTM_*), whose payload the caller appends.
    MessagePtr request(int type, int flags);

    // Sends `count` messages, built on demand by `build(i)` one window at a time (so only a
    // window of them ever exists), with at most `window` unacknowledged. Only the last message
    // of a window asks for an acknowledgement: the kernel reports every refused message anyway,
    // in order, so when the last one is answered the whole window is. The receive buffer never
    // holds more than a window of answers however many messages there are (no ENOBUFS).
    // Returns one errno per message (0 = done), matched by sequence number.
    std::vector<int> transact(std::size_t count,
                              const std::function<MessagePtr(std::size_t)>& build,
                              std::size_t window);

    // Sends a dump request and hands each reply to `visit`; returns the kernel's errno (0 = ok).
    int dump(MessagePtr request, const std::function<void(nlmsghdr&)>& visit);

    std::uint64_t messages_sent() const { return messages_sent_; }
    std::uint64_t sendmsg_calls() const { return sendmsg_calls_; }

  private:
    NetlinkSocket(std::unique_ptr<nl_sock, SocketDeleter> sock, int family)
        : sock_(std::move(sock)), family_(family) {}
    static std::unique_ptr<nl_sock, SocketDeleter> connect(int protocol);

    void send(const std::vector<MessagePtr>& messages);
    void receive(const std::function<void(nlmsghdr&)>& visit);

    std::unique_ptr<nl_sock, SocketDeleter> sock_;
    int family_;
    std::uint32_t next_seq_ = 1;
    std::vector<std::uint8_t> send_buffer_;
    std::vector<std::uint8_t> receive_buffer_ = std::vector<std::uint8_t>(1 << 16);
    std::uint64_t messages_sent_ = 0;
    std::uint64_t sendmsg_calls_ = 0;
};

// The errno carried by an NLMSG_ERROR message (0 for an acknowledgement).
int error_of(nlmsghdr& hdr);

}  // namespace lvsctl::ipvs
