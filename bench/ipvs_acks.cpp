// ipvs_acks: where a cold apply's time goes, and what other ways of reading acknowledgements
// would save. An experiment beside ipvs_apply, not a second IPVS library: it sends the very
// changes lvsctl's library sends for bench/rules.h (NEW_SERVICE, then NEW_DEST), encoded by hand
// on a raw generic-netlink socket, in windows of W messages packed into sendto calls of at most
// 256 KiB (as ipvs/netlink.cpp does), and reads the kernel's answers in one of these ways:
//
//   each       NLM_F_ACK on every message, one recv per acknowledgement (what ipvs/ does today)
//   recvmmsg   NLM_F_ACK on every message, acknowledgements read with recvmmsg, W at a time
//   last       NLM_F_ACK on the last message of each window only: the kernel still answers
//              every refused message with an NLMSG_ERROR (it always reports errors), in order,
//              so one acknowledgement closes the window and every errno is still known
//   none       no NLM_F_ACK at all: the kernel's own work plus sendto, a floor (errors would
//              still arrive; nobody reads them here)
//
// Each mode flushes the table first (IPVS_CMD_FLUSH) and checks afterwards, by counting the
// lines of /proc/net/ip_vs, that every rule is in the kernel.
#include <linux/genetlink.h>
#include <linux/ip_vs.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "rules.h"

namespace {

using Seconds = std::chrono::duration<double>;
constexpr std::size_t kSendChunkBytes = 256 << 10;
constexpr int kBufferBytes = 8 << 20;

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

// ---- encoding -----------------------------------------------------------------------------

class Message {
  public:
    Message(std::uint16_t type, std::uint16_t flags, std::uint32_t seq, std::uint8_t cmd,
            std::uint8_t version) {
        bytes_.resize(NLMSG_HDRLEN + GENL_HDRLEN);
        auto* hdr = reinterpret_cast<nlmsghdr*>(bytes_.data());
        hdr->nlmsg_type = type;
        hdr->nlmsg_flags = static_cast<std::uint16_t>(NLM_F_REQUEST | flags);
        hdr->nlmsg_seq = seq;
        auto* genl = reinterpret_cast<genlmsghdr*>(bytes_.data() + NLMSG_HDRLEN);
        genl->cmd = cmd;
        genl->version = version;
    }
    void put(std::uint16_t type, const void* data, std::size_t len) {
        const std::size_t at = bytes_.size();
        bytes_.resize(at + NLA_ALIGN(NLA_HDRLEN + len), 0);
        auto* nla = reinterpret_cast<nlattr*>(bytes_.data() + at);
        nla->nla_type = type;
        nla->nla_len = static_cast<std::uint16_t>(NLA_HDRLEN + len);
        std::memcpy(bytes_.data() + at + NLA_HDRLEN, data, len);
    }
    template <typename T>
    void put(std::uint16_t type, T value) {
        put(type, &value, sizeof value);
    }
    std::size_t begin_nest(std::uint16_t type) {
        const std::size_t at = bytes_.size();
        put(static_cast<std::uint16_t>(type | NLA_F_NESTED), nullptr, 0);
        return at;
    }
    void end_nest(std::size_t at) {
        reinterpret_cast<nlattr*>(bytes_.data() + at)->nla_len =
            static_cast<std::uint16_t>(bytes_.size() - at);
    }
    std::vector<std::uint8_t>& done() {
        reinterpret_cast<nlmsghdr*>(bytes_.data())->nlmsg_len =
            static_cast<std::uint32_t>(bytes_.size());
        return bytes_;
    }

  private:
    std::vector<std::uint8_t> bytes_;
};

void put_service(Message& m, const lvsctl::ServiceKey& key,
                 const lvsctl::ServiceSettings* settings) {
    const auto nest = m.begin_nest(IPVS_CMD_ATTR_SERVICE);
    m.put<std::uint16_t>(IPVS_SVC_ATTR_AF, AF_INET);
    if (key.fwmark != 0) {
        m.put<std::uint32_t>(IPVS_SVC_ATTR_FWMARK, key.fwmark);
    } else {
        m.put<std::uint16_t>(IPVS_SVC_ATTR_PROTOCOL, key.protocol);
        m.put(IPVS_SVC_ATTR_ADDR, key.address.bytes().data(), 16);
        m.put<std::uint16_t>(IPVS_SVC_ATTR_PORT, htons(key.port));
    }
    if (settings != nullptr) {
        m.put(IPVS_SVC_ATTR_SCHED_NAME, settings->scheduler.c_str(),
              settings->scheduler.size() + 1);
        ip_vs_flags flags{settings->flags, 0xffffffffU};
        m.put(IPVS_SVC_ATTR_FLAGS, &flags, sizeof flags);
        m.put<std::uint32_t>(IPVS_SVC_ATTR_TIMEOUT, settings->timeout);
        m.put<std::uint32_t>(IPVS_SVC_ATTR_NETMASK, settings->netmask);
    }
    m.end_nest(nest);
}

void put_dest(Message& m, const lvsctl::DesiredDest& d) {
    const auto nest = m.begin_nest(IPVS_CMD_ATTR_DEST);
    m.put(IPVS_DEST_ATTR_ADDR, d.key.address.bytes().data(), 16);
    m.put<std::uint16_t>(IPVS_DEST_ATTR_PORT, htons(d.key.port));
    m.put<std::uint16_t>(IPVS_DEST_ATTR_ADDR_FAMILY, AF_INET);
    m.put<std::uint32_t>(IPVS_DEST_ATTR_FWD_METHOD, static_cast<std::uint32_t>(d.settings.forward));
    m.put<std::uint32_t>(IPVS_DEST_ATTR_WEIGHT, d.settings.weight);
    m.put<std::uint32_t>(IPVS_DEST_ATTR_U_THRESH, d.settings.upper_threshold);
    m.put<std::uint32_t>(IPVS_DEST_ATTR_L_THRESH, d.settings.lower_threshold);
    m.end_nest(nest);
}

// ---- the socket ---------------------------------------------------------------------------

struct Counters {
    std::uint64_t sendto = 0, recv = 0, acks = 0, errors = 0;
};

class Socket {
  public:
    Socket() : fd_(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC)) {
        if (fd_ < 0) {
            fail("socket");
        }
        sockaddr_nl local{};
        local.nl_family = AF_NETLINK;
        if (bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
            fail("bind");
        }
        int bytes = kBufferBytes;
        setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes);
        setsockopt(fd_, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof bytes);
        int one = 1;
        setsockopt(fd_, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
    }
    ~Socket() { close(fd_); }
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;

    // Packs whole messages into sendto calls of at most kSendChunkBytes.
    void send(const std::vector<std::vector<std::uint8_t>>& messages, std::size_t begin,
              std::size_t end) {
        std::vector<std::uint8_t> buffer;
        auto flush = [&] {
            if (buffer.empty()) {
                return;
            }
            sockaddr_nl kernel{};
            kernel.nl_family = AF_NETLINK;
            if (sendto(fd_, buffer.data(), buffer.size(), 0, reinterpret_cast<sockaddr*>(&kernel),
                       sizeof kernel) != static_cast<ssize_t>(buffer.size())) {
                fail("sendto");
            }
            ++counters.sendto;
            buffer.clear();
        };
        for (std::size_t i = begin; i < end; ++i) {
            if (buffer.size() + messages[i].size() > kSendChunkBytes) {
                flush();
            }
            buffer.insert(buffer.end(), messages[i].begin(), messages[i].end());
        }
        flush();
    }

    // Visits every netlink message of one datagram (recv) or of up to `many` (recvmmsg).
    template <typename Visit>
    void receive(std::size_t many, Visit&& visit) {
        if (many <= 1) {
            ssize_t got;
            do {
                got = recv(fd_, buffer_.data(), buffer_.size(), 0);
            } while (got < 0 && errno == EINTR);
            if (got < 0) {
                fail("recv");
            }
            ++counters.recv;
            walk(buffer_.data(), static_cast<std::size_t>(got), visit);
            return;
        }
        // Acknowledgements are small: 64 bytes of buffer each is plenty (NETLINK_CAP_ACK).
        constexpr std::size_t kSlot = 256;
        many = std::min<std::size_t>(many, 1024);
        std::vector<mmsghdr> msgs(many);
        std::vector<iovec> iov(many);
        if (mbuffer_.size() < many * kSlot) {
            mbuffer_.resize(many * kSlot);
        }
        for (std::size_t i = 0; i < many; ++i) {
            iov[i] = {mbuffer_.data() + i * kSlot, kSlot};
            msgs[i].msg_hdr = {};
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        int got;
        do {
            got = recvmmsg(fd_, msgs.data(), static_cast<unsigned>(many), MSG_WAITFORONE, nullptr);
        } while (got < 0 && errno == EINTR);
        if (got < 0) {
            fail("recvmmsg");
        }
        ++counters.recv;
        for (int i = 0; i < got; ++i) {
            walk(mbuffer_.data() + static_cast<std::size_t>(i) * kSlot, msgs[i].msg_len, visit);
        }
    }

    Counters counters;

  private:
    template <typename Visit>
    static void walk(std::uint8_t* data, std::size_t len, Visit& visit) {
        auto* hdr = reinterpret_cast<nlmsghdr*>(data);
        int left = static_cast<int>(len);
        for (; NLMSG_OK(hdr, left); hdr = NLMSG_NEXT(hdr, left)) {
            visit(*hdr);
        }
    }

    int fd_;
    std::vector<std::uint8_t> buffer_ = std::vector<std::uint8_t>(1 << 16);
    std::vector<std::uint8_t> mbuffer_;
};

// NLMSG_DATA is an old-style cast: the payload starts NLMSG_HDRLEN bytes in.
const std::uint8_t* payload(const nlmsghdr& hdr) {
    return reinterpret_cast<const std::uint8_t*>(&hdr) + NLMSG_HDRLEN;
}

int error_of(const nlmsghdr& hdr) {
    return -reinterpret_cast<const nlmsgerr*>(payload(hdr))->error;
}

// The generic netlink family's id, from the controller.
std::uint16_t resolve(Socket& sock, const char* name) {
    Message m(GENL_ID_CTRL, NLM_F_ACK, 1, CTRL_CMD_GETFAMILY, 1);
    m.put(CTRL_ATTR_FAMILY_NAME, name, std::strlen(name) + 1);
    sock.send({m.done()}, 0, 1);
    int id = -1;
    for (bool done = false; !done;) {
        sock.receive(1, [&](nlmsghdr& hdr) {
            if (hdr.nlmsg_type == NLMSG_ERROR) {
                if (error_of(hdr) != 0) {
                    errno = error_of(hdr);
                    fail(std::string("resolve ") + name);
                }
                done = true;
                return;
            }
            auto* attr = reinterpret_cast<const nlattr*>(payload(hdr) + GENL_HDRLEN);
            int left = static_cast<int>(hdr.nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN);
            while (left >= NLA_HDRLEN && attr->nla_len >= NLA_HDRLEN && attr->nla_len <= left) {
                const auto* bytes = reinterpret_cast<const std::uint8_t*>(attr);
                if (attr->nla_type == CTRL_ATTR_FAMILY_ID) {
                    std::uint16_t value = 0;
                    std::memcpy(&value, bytes + NLA_HDRLEN, sizeof value);
                    id = value;
                }
                left -= NLA_ALIGN(attr->nla_len);
                attr = reinterpret_cast<const nlattr*>(bytes + NLA_ALIGN(attr->nla_len));
            }
        });
    }
    if (id < 0) {
        errno = ENOENT;
        fail(std::string("resolve ") + name);
    }
    return static_cast<std::uint16_t>(id);
}

std::size_t rules_in_kernel() {
    std::ifstream in("/proc/net/ip_vs");
    std::size_t lines = 0;
    for (std::string line; std::getline(in, line);) {
        ++lines;
    }
    return lines >= 3 ? lines - 3 : 0;
}

struct Outcome {
    double seconds = 0;
    Counters counters;
    std::size_t in_kernel = 0;
};

Outcome run_mode(const std::string& mode, const std::vector<lvsctl::DesiredService>& rules,
                 std::size_t window) {
    Socket sock;
    const auto family = resolve(sock, IPVS_GENL_NAME);
    std::uint32_t seq = 100;
    {
        Message flush(family, NLM_F_ACK, seq++, IPVS_CMD_FLUSH, IPVS_GENL_VERSION);
        sock.send({flush.done()}, 0, 1);
        sock.receive(1, [](nlmsghdr&) {});
    }
    sock.counters = {};
    const auto start = std::chrono::steady_clock::now();
    // Encoding is part of the work, as in the library.
    std::vector<std::vector<std::uint8_t>> messages;
    std::vector<std::uint32_t> seqs;
    for (const auto& svc : rules) {
        Message m(family, 0, seq++, IPVS_CMD_NEW_SERVICE, IPVS_GENL_VERSION);
        put_service(m, svc.key, &svc.settings);
        messages.push_back(std::move(m.done()));
    }
    for (const auto& svc : rules) {
        for (const auto& d : svc.dests) {
            Message m(family, 0, seq++, IPVS_CMD_NEW_DEST, IPVS_GENL_VERSION);
            put_service(m, svc.key, nullptr);
            put_dest(m, d);
            messages.push_back(std::move(m.done()));
        }
    }
    const bool ack_each = mode == "each" || mode == "recvmmsg";
    for (std::size_t begin = 0; begin < messages.size(); begin += window) {
        const std::size_t end = std::min(messages.size(), begin + window);
        for (std::size_t i = begin; i < end; ++i) {
            if (ack_each || (mode == "last" && i + 1 == end)) {
                reinterpret_cast<nlmsghdr*>(messages[i].data())->nlmsg_flags |= NLM_F_ACK;
            }
        }
        sock.send(messages, begin, end);
        if (mode == "none") {
            continue;
        }
        const auto last = reinterpret_cast<nlmsghdr*>(messages[end - 1].data())->nlmsg_seq;
        std::size_t pending = ack_each ? end - begin : 1;
        while (pending > 0) {
            sock.receive(mode == "recvmmsg" ? pending : 1, [&](nlmsghdr& hdr) {
                if (hdr.nlmsg_type != NLMSG_ERROR) {
                    return;
                }
                ++sock.counters.acks;
                if (error_of(hdr) != 0) {
                    ++sock.counters.errors;
                }
                if (ack_each || hdr.nlmsg_seq == last) {
                    --pending;
                }
            });
        }
    }
    const Seconds took = std::chrono::steady_clock::now() - start;
    return {took.count(), sock.counters, rules_in_kernel()};
}

}  // namespace

int main(int argc, char** argv) {
    int services = 5000, dests = 20, pool = 1000;
    std::size_t window = 512;
    std::vector<std::string> modes;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        const std::string value = argv[i + 1];
        if (flag == "--services") {
            services = std::atoi(value.c_str());
        } else if (flag == "--dests") {
            dests = std::atoi(value.c_str());
        } else if (flag == "--pool") {
            pool = std::atoi(value.c_str());
        } else if (flag == "--window") {
            window = static_cast<std::size_t>(std::atol(value.c_str()));
        } else if (flag == "--mode") {
            modes.push_back(value);
        } else {
            std::fprintf(stderr,
                         "usage: ipvs_acks [--services N] [--dests M] [--pool P] "
                         "[--window W] [--mode each|recvmmsg|last|none]...\n");
            return 64;
        }
    }
    if (services <= 0 || dests <= 0 || window == 0) {
        std::fputs("ipvs_acks: services, dests and window must be positive\n", stderr);
        return 64;
    }
    if (modes.empty()) {
        modes = {"each", "recvmmsg", "last", "none"};
    }
    const auto rules = bench::make_rules(services, dests, std::max(pool, dests));
    const std::size_t want =
        static_cast<std::size_t>(services) * (1 + static_cast<std::size_t>(dests));
    int status = 0;
    try {
        for (const auto& mode : modes) {
            if (mode != "each" && mode != "recvmmsg" && mode != "last" && mode != "none") {
                std::fprintf(stderr, "ipvs_acks: unknown mode %s\n", mode.c_str());
                return 64;
            }
            const auto o = run_mode(mode, rules, window);
            std::printf(
                "acks %-8s window %5zu: %8.3f s  %zu messages  sendto %llu  recv calls %llu  "
                "acks read %llu (errors %llu)  rules in kernel %zu%s\n",
                mode.c_str(), window, o.seconds, want,
                static_cast<unsigned long long>(o.counters.sendto),
                static_cast<unsigned long long>(o.counters.recv),
                static_cast<unsigned long long>(o.counters.acks),
                static_cast<unsigned long long>(o.counters.errors), o.in_kernel,
                o.in_kernel == want ? "" : " (WRONG)");
            std::fflush(stdout);
            if (o.in_kernel != want || o.counters.errors != 0) {
                status = 1;
            }
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ipvs_acks: %s\n", e.what());
        return 70;
    }
    return status;
}
