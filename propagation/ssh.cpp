#include "propagation/ssh.h"

#include <fmt/format.h>
#include <libssh/libssh.h>

#include <algorithm>
#include <array>
#include <chrono>

#include "lvsctl/error.h"
#include "lvsctl/process.h"

namespace lvsctl::propagation {

namespace {

struct KeyFree {
    void operator()(ssh_key key) const { ssh_key_free(key); }
};
using Key = std::unique_ptr<ssh_key_struct, KeyFree>;

struct ChannelFree {
    void operator()(ssh_channel channel) const { ssh_channel_free(channel); }
};
using Channel = std::unique_ptr<ssh_channel_struct, ChannelFree>;

// Owns an ssh_session; disconnects it only when it was connected.
class Session {
  public:
    Session() : session_(ssh_new()) {
        if (session_ == nullptr) {
            throw Error(ExitCode::internal, "libssh: cannot allocate a session");
        }
    }
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;
    ~Session() {
        if (connected_) {
            ssh_disconnect(session_);
        }
        ssh_free(session_);
    }
    ssh_session get() const { return session_; }
    void set_connected() { connected_ = true; }
    std::string error() const { return ssh_get_error(session_); }

  private:
    ssh_session session_;
    bool connected_ = false;
};

// How long after the host's own `timeout` has killed a command lvsctl still waits for the
// channel to say so, before it gives up on the host.
constexpr std::chrono::seconds kKillAfter{5};
constexpr std::chrono::seconds kGrace{10};

class SshTransport : public Transport {
  public:
    SshTransport(std::unique_ptr<Session> session, std::string where, std::chrono::seconds timeout)
        : session_(std::move(session)), where_(std::move(where)), timeout_(timeout) {}

    ProcessResult run(const std::vector<std::string>& argv, const std::string& input) override {
        return run_until(timeout_, argv, input);
    }
    ProcessResult run_for_longer(std::chrono::seconds extra, const std::vector<std::string>& argv,
                                 const std::string& input) override {
        return run_until(timeout_ + extra, argv, input);
    }

  private:
    ProcessResult run_until(std::chrono::seconds limit, const std::vector<std::string>& argv,
                            const std::string& input) {
        // The host kills the command itself at the limit (coreutils' timeout, the command's whole
        // process group), so that it never outlives lvsctl's wait for it, even when the network
        // to the host is gone; lvsctl gives up on the channel a little later.
        std::vector<std::string> wrapped{"timeout",
                                         fmt::format("--kill-after={}", kKillAfter.count()),
                                         std::to_string(limit.count())};
        wrapped.insert(wrapped.end(), argv.begin(), argv.end());
        const auto command = shell_command(wrapped);
        auto lost = [&](const std::string& what) {
            return Error(ExitCode::unreachable,
                         fmt::format("{}: {}: {}", where_, what, session_->error()));
        };
        const auto start = std::chrono::steady_clock::now();
        const auto deadline = start + limit + kKillAfter + kGrace;
        auto timed_out = [&] {
            return Error(ExitCode::unreachable, fmt::format("{}: {} did not finish within {} s",
                                                            where_, argv.front(), limit.count()));
        };
        Channel channel(ssh_channel_new(session_->get()));
        if (!channel || ssh_channel_open_session(channel.get()) != SSH_OK) {
            throw lost("open a channel");
        }
        if (ssh_channel_request_exec(channel.get(), command.c_str()) != SSH_OK) {
            throw lost(fmt::format("run {}", argv.front()));
        }

        OutputLimit collected;
        std::size_t sent = 0;
        bool writing = true;
        std::array<char, 16384> buffer{};
        for (;;) {
            // Input only as far as the remote window takes it, between reads: a write never
            // blocks on a command that does not read, nor while it waits for us to read its
            // output.
            if (writing && ssh_channel_is_eof(channel.get()) != 0) {
                writing = false;  // it ended without reading all of it: its status tells
            }
            if (writing && sent < input.size()) {
                const auto window = ssh_channel_window_size(channel.get());
                if (window > 0) {
                    const auto chunk = static_cast<std::uint32_t>(std::min<std::size_t>(
                        {input.size() - sent, std::size_t{window}, std::size_t{65536}}));
                    const int n = ssh_channel_write(channel.get(), input.data() + sent, chunk);
                    if (n == SSH_ERROR) {
                        // A command that ended without reading all its input (e.g. not found:
                        // 127) closed the channel; libssh says so before the channel counts as
                        // closed or at EOF. Only a lost connection is an error here.
                        if (ssh_is_connected(session_->get()) == 0) {
                            throw lost(fmt::format("send input to {}", argv.front()));
                        }
                        writing = false;
                    } else {
                        sent += static_cast<std::size_t>(std::max(n, 0));
                    }
                }
            }
            if (writing && sent == input.size()) {
                if (ssh_channel_is_closed(channel.get()) == 0) {
                    ssh_channel_send_eof(channel.get());
                }
                writing = false;
            }
            const int n = ssh_channel_read_timeout(channel.get(), buffer.data(), buffer.size(), 0,
                                                   writing ? 5 : 50);
            if (n == SSH_ERROR) {
                throw lost(fmt::format("read the output of {}", argv.front()));
            }
            if (n > 0 && !collected.out(buffer.data(), static_cast<std::size_t>(n))) {
                throw Error(ExitCode::partial,
                            fmt::format("{}: {}", where_, OutputLimit::too_much(argv.front())));
            }
            // stderr is drained as it comes, so that a chatty command never stalls the channel.
            const int m =
                ssh_channel_read_nonblocking(channel.get(), buffer.data(), buffer.size(), 1);
            if (m == SSH_ERROR) {
                throw lost(fmt::format("read the errors of {}", argv.front()));
            }
            if (m > 0) {
                collected.err(buffer.data(), static_cast<std::size_t>(m));
            }
            if (!writing && n <= 0 && m <= 0 && ssh_channel_is_eof(channel.get()) != 0) {
                break;
            }
            if (std::chrono::steady_clock::now() > deadline) {
                throw timed_out();
            }
        }
        const int status = ssh_channel_get_exit_status(channel.get());
        ssh_channel_close(channel.get());
        // 124: the host's timeout ended it; 137: killed after --kill-after.
        if ((status == 124 || status == 137) && std::chrono::steady_clock::now() - start >= limit) {
            throw timed_out();
        }
        return std::move(collected).finish(status);
    }

    std::unique_ptr<Session> session_;
    std::string where_;
    std::chrono::seconds timeout_;
};

}  // namespace

namespace {
Key import_identity(const std::string& path) {
    ssh_key raw = nullptr;
    if (ssh_pki_import_privkey_file(path.c_str(), nullptr, nullptr, nullptr, &raw) != SSH_OK) {
        throw Error(ExitCode::config, fmt::format("--ssh-identity {}: not a private key this user "
                                                  "can read (or it has a passphrase: use the "
                                                  "agent)",
                                                  path));
    }
    return Key(raw);
}
}  // namespace

SshConnector::SshConnector(SshOptions options) : options_(std::move(options)) {
    // A bad identity is the configuration's fault, found before any host is contacted: every
    // host would refuse it alike.
    if (!options_.identity.empty()) {
        import_identity(options_.identity);
    }
}

namespace {

// The session's options: strict host-key checking against the one known_hosts file, no
// ~/.ssh/config, the connect timeout. A refused option is a bad configuration (64).
void set_options(Session& session, const SshOptions& options, const std::string& host,
                 unsigned int port, const std::string& where) {
    const auto s = session.get();
    const int verbosity = SSH_LOG_NOLOG;
    const long timeout = static_cast<long>(options.timeout.count());
    const int no = 0;
    const int yes = 1;
    bool ok = ssh_options_set(s, SSH_OPTIONS_LOG_VERBOSITY, &verbosity) == 0 &&
              ssh_options_set(s, SSH_OPTIONS_HOST, host.c_str()) == 0 &&
              ssh_options_set(s, SSH_OPTIONS_PORT, &port) == 0 &&
              ssh_options_set(s, SSH_OPTIONS_USER, options.user.c_str()) == 0 &&
              ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &timeout) == 0 &&
              ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &no) == 0 &&
              ssh_options_set(s, SSH_OPTIONS_STRICTHOSTKEYCHECK, &yes) == 0 &&
              ssh_options_set(s, SSH_OPTIONS_NODELAY, &yes) == 0 &&
              // Only the one known_hosts file decides (docs/commands.md: --known-hosts).
              ssh_options_set(s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null") == 0;
    if (ok && !options.known_hosts.empty()) {
        ok = ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, options.known_hosts.c_str()) == 0;
    }
    if (!ok) {
        throw Error(ExitCode::usage,
                    fmt::format("{}: bad SSH options: {}", where, session.error()));
    }
}

// The host's key must be the one in known_hosts; anything else is refused (77).
void check_host_key(Session& session, const SshOptions& options, const std::string& where) {
    const auto known =
        options.known_hosts.empty() ? std::string("~/.ssh/known_hosts") : options.known_hosts;
    switch (ssh_session_is_known_server(session.get())) {
        case SSH_KNOWN_HOSTS_OK:
            return;
        case SSH_KNOWN_HOSTS_CHANGED:
            throw Error(
                ExitCode::permission,
                fmt::format("{}: the host key differs from the one in {} (a changed host or "
                            "a man in the middle); refused",
                            where, known));
        case SSH_KNOWN_HOSTS_OTHER:
            throw Error(ExitCode::permission,
                        fmt::format("{}: the host offers a key of another type than the one in {}; "
                                    "refused",
                                    where, known));
        case SSH_KNOWN_HOSTS_UNKNOWN:
        case SSH_KNOWN_HOSTS_NOT_FOUND:
            throw Error(ExitCode::permission,
                        fmt::format("{}: the host key is not in {}; refused (add it there after "
                                    "checking its fingerprint)",
                                    where, known));
        case SSH_KNOWN_HOSTS_ERROR:
        default:
            throw Error(ExitCode::permission,
                        fmt::format("{}: checking the host key against {}: {}", where, known,
                                    session.error()));
    }
}

// Public-key authentication only: the --ssh-identity file, or the agent and default keys.
void authenticate(Session& session, const SshOptions& options, const std::string& where) {
    int auth = SSH_AUTH_ERROR;
    if (!options.identity.empty()) {
        const auto key = import_identity(options.identity);
        auth = ssh_userauth_publickey(session.get(), nullptr, key.get());
    } else {
        auth = ssh_userauth_publickey_auto(session.get(), nullptr, nullptr);
    }
    if (auth == SSH_AUTH_ERROR) {
        throw Error(ExitCode::unreachable,
                    fmt::format("{}: authentication: {}", where, session.error()));
    }
    if (auth != SSH_AUTH_SUCCESS) {
        throw Error(ExitCode::permission,
                    fmt::format("{}: public-key authentication refused", where));
    }
}

}  // namespace

std::unique_ptr<Transport> SshConnector::connect(const IpAddress& address, std::uint16_t port) {
    const auto host = address.str();
    const auto where = fmt::format(
        "ssh {}@{}", options_.user,
        address.is_v4() ? fmt::format("{}:{}", host, port) : fmt::format("[{}]:{}", host, port));
    auto session = std::make_unique<Session>();
    set_options(*session, options_, host, port, where);
    if (ssh_connect(session->get()) != SSH_OK) {
        throw Error(ExitCode::unreachable, fmt::format("{}: connect: {}", where, session->error()));
    }
    session->set_connected();
    check_host_key(*session, options_, where);
    authenticate(*session, options_, where);
    return std::make_unique<SshTransport>(std::move(session), where, options_.timeout);
}

}  // namespace lvsctl::propagation
