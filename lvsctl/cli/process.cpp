#include "lvsctl/cli/process.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <optional>
#include <string_view>

#include "lvsctl/error.h"

extern char** environ;

namespace lvsctl::cli {

namespace {

class Pipe {
  public:
    Pipe() {
        if (::pipe2(fds_.data(), O_CLOEXEC) != 0) {
            throw Error(ExitCode::internal, fmt::format("pipe: {}", std::strerror(errno)));
        }
    }
    Pipe(const Pipe&) = delete;
    Pipe& operator=(const Pipe&) = delete;
    ~Pipe() {
        close_read();
        close_write();
    }
    int read_end() const { return fds_[0]; }
    int write_end() const { return fds_[1]; }
    void close_read() { close(0); }
    void close_write() { close(1); }

  private:
    void close(int i) {
        if (fds_[i] >= 0) {
            ::close(fds_[i]);
            fds_[i] = -1;
        }
    }
    std::array<int, 2> fds_{-1, -1};
};

// posix_spawn's file actions and attributes, destroyed with the scope.
class SpawnSetup {
  public:
    SpawnSetup() {
        posix_spawn_file_actions_init(&actions);
        posix_spawnattr_init(&attributes);
    }
    SpawnSetup(const SpawnSetup&) = delete;
    SpawnSetup& operator=(const SpawnSetup&) = delete;
    ~SpawnSetup() {
        posix_spawnattr_destroy(&attributes);
        posix_spawn_file_actions_destroy(&actions);
    }
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
};

// A child that is waited for whatever happens: killed with its process group first when the
// run did not see it end (a deadline, an exception).
class Child {
  public:
    explicit Child(pid_t pid) : pid_(pid) {}
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    ~Child() {
        if (pid_ > 0) {
            kill_group();
            wait();
        }
    }
    void kill_group() const {
        ::kill(-pid_, SIGKILL);
        ::kill(pid_, SIGKILL);
    }
    int wait() {
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    // The exit status, or std::nullopt when the child is still running at `deadline` (it closed
    // its output but did not end).
    std::optional<int> wait_until(std::chrono::steady_clock::time_point deadline) {
        for (;;) {
            int status = 0;
            const auto r = ::waitpid(pid_, &status, WNOHANG);
            if (r == pid_) {
                pid_ = -1;
                return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            }
            if (r < 0 && errno != EINTR) {
                return wait();
            }
            if (std::chrono::steady_clock::now() >= deadline) {
                return std::nullopt;
            }
            ::usleep(2000);
        }
    }

  private:
    pid_t pid_;
};

bool minimal_keeps(std::string_view entry) {
    for (std::string_view name : {"PATH=", "HOME=", "LANG=", "TZ=", "TMPDIR=", "USER=", "LOGNAME=",
                                  "LC_", "LVSCTL_EXEC_"}) {
        if (entry.starts_with(name)) {
            return true;
        }
    }
    return false;
}

std::vector<char*> environment_of(SpawnRunner::Environment which) {
    std::vector<char*> out;
    for (char** e = environ; *e != nullptr; ++e) {
        if (which == SpawnRunner::Environment::inherit || minimal_keeps(*e)) {
            out.push_back(*e);
        }
    }
    out.push_back(nullptr);
    return out;
}

}  // namespace

void ignore_sigpipe() {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ignore, nullptr);
}

ProcessResult SpawnRunner::run(const std::vector<std::string>& argv, const std::string& input) {
    return run_until(timeout_, argv, input);
}

ProcessResult SpawnRunner::run_for_longer(std::chrono::seconds extra,
                                          const std::vector<std::string>& argv,
                                          const std::string& input) {
    return run_until(timeout_ + extra, argv, input);
}

ProcessResult SpawnRunner::run_until(std::chrono::seconds limit,
                                     const std::vector<std::string>& args,
                                     const std::string& input) {
    Pipe in;
    Pipe out;
    Pipe err;
    SpawnSetup setup;
    posix_spawn_file_actions_adddup2(&setup.actions, in.read_end(), 0);
    posix_spawn_file_actions_adddup2(&setup.actions, out.write_end(), 1);
    posix_spawn_file_actions_adddup2(&setup.actions, err.write_end(), 2);
    // A group of its own, so that the deadline kills whatever the command started too; and
    // SIGPIPE back to its default there (we ignore it, and ignored signals are inherited).
    posix_spawnattr_setpgroup(&setup.attributes, 0);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigdefault(&setup.attributes, &defaults);
    // No signal blocked there either: `lvsctl monitor` blocks SIGTERM, SIGINT and SIGHUP to take
    // them synchronously, and a blocked mask is inherited (a load script's own `timeout` could
    // not stop what it runs).
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&setup.attributes, &none);
    posix_spawnattr_setflags(
        &setup.attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    std::vector<char*> argv;
    std::vector<std::string> copy(args);
    for (auto& a : copy) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    auto env = environment_of(environment_);
    pid_t pid = 0;
    const int rc =
        ::posix_spawnp(&pid, argv[0], &setup.actions, &setup.attributes, argv.data(), env.data());
    if (rc != 0) {
        return {127, {}, fmt::format("{}: {}", args.at(0), std::strerror(rc))};
    }
    Child child(pid);
    in.close_read();
    out.close_write();
    err.close_write();

    const auto deadline = std::chrono::steady_clock::now() + limit;
    OutputLimit collected;
    std::size_t written = 0;
    if (input.empty()) {
        in.close_write();
    }
    bool out_open = true;
    bool err_open = true;
    std::array<char, 65536> buf{};
    while (out_open || err_open) {
        std::array<pollfd, 3> fds{};
        nfds_t n = 0;
        if (out_open) {
            fds[n++] = {out.read_end(), POLLIN, 0};
        }
        if (err_open) {
            fds[n++] = {err.read_end(), POLLIN, 0};
        }
        if (in.write_end() >= 0) {
            fds[n++] = {in.write_end(), POLLOUT, 0};
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            child.kill_group();
            throw Error(ExitCode::unreachable, fmt::format("{} did not finish within {} s; killed",
                                                           args.at(0), limit.count()));
        }
        const int ready =
            ::poll(fds.data(), n, static_cast<int>(std::min<long long>(left.count(), 1000)));
        if (ready < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw Error(ExitCode::internal, fmt::format("poll: {}", std::strerror(errno)));
        }
        for (nfds_t i = 0; i < n; ++i) {
            if (fds[i].revents == 0) {
                continue;
            }
            if (fds[i].fd == in.write_end()) {
                const auto w =
                    ::write(in.write_end(), input.data() + written, input.size() - written);
                if (w > 0) {
                    written += static_cast<std::size_t>(w);
                }
                // EPIPE: the command stopped reading; its status tells what happened.
                if ((w < 0 && errno != EINTR && errno != EAGAIN) || written == input.size()) {
                    in.close_write();
                }
                continue;
            }
            const auto r = ::read(fds[i].fd, buf.data(), buf.size());
            const bool is_out = fds[i].fd == out.read_end();
            if (r > 0) {
                const auto size = static_cast<std::size_t>(r);
                if (!is_out) {
                    collected.err(buf.data(), size);
                } else if (!collected.out(buf.data(), size)) {
                    child.kill_group();
                    throw Error(ExitCode::partial, OutputLimit::too_much(args.at(0)));
                }
            } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
                (is_out ? out_open : err_open) = false;
            }
        }
    }
    in.close_write();
    const auto status = child.wait_until(deadline);
    if (!status) {
        child.kill_group();
        throw Error(ExitCode::unreachable, fmt::format("{} did not finish within {} s; killed",
                                                       args.at(0), limit.count()));
    }
    return std::move(collected).finish(*status);
}

}  // namespace lvsctl::cli
