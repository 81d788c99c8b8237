// A generic netlink socket that sends many requests per sendmsg and reads replies in bulk.
// RAII throughout: the libnl socket and messages are freed however a function is left.
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

class GenlSocket {
  public:
    // Connects and resolves `family` (the kernel loads the module for it when it can).
    // Throws Error(ExitCode::kernel) naming the family when it does not exist.
    static GenlSocket open(const std::string& family);

    int family() const { return family_; }

    // A request of this family: NLM_F_REQUEST plus `flags`, with the next sequence number.
    MessagePtr request(std::uint8_t command, std::uint8_t version, int flags);
    static std::uint32_t sequence_of(nl_msg* msg);

    // Sends the messages in as few sendmsg calls as fit the socket's buffer.
    void send(const std::vector<MessagePtr>& messages);
    // Reads one datagram and calls `visit` for each netlink message in it.
    void receive(const std::function<void(nlmsghdr&)>& visit);

    std::uint64_t messages_sent() const { return messages_sent_; }
    std::uint64_t sendmsg_calls() const { return sendmsg_calls_; }

  private:
    GenlSocket(std::unique_ptr<nl_sock, SocketDeleter> sock, int family)
        : sock_(std::move(sock)), family_(family) {}

    std::unique_ptr<nl_sock, SocketDeleter> sock_;
    int family_;
    std::uint32_t next_seq_ = 1;
    std::vector<std::uint8_t> send_buffer_;
    std::vector<std::uint8_t> receive_buffer_ = std::vector<std::uint8_t>(1 << 16);
    std::uint64_t messages_sent_ = 0;
    std::uint64_t sendmsg_calls_ = 0;
};

}  // namespace lvsctl::ipvs
