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

}  // namespace

ProcessResult SpawnRunner::run(const std::vector<std::string>& args, const std::string& input) {
    Pipe in;
    Pipe out;
    Pipe err;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in.read_end(), 0);
    posix_spawn_file_actions_adddup2(&actions, out.write_end(), 1);
    posix_spawn_file_actions_adddup2(&actions, err.write_end(), 2);
    std::vector<char*> argv;
    std::vector<std::string> copy(args);
    for (auto& a : copy) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    pid_t pid = 0;
    const int rc = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        return {127, {}, fmt::format("{}: {}", args.at(0), std::strerror(rc))};
    }
    in.close_read();
    out.close_write();
    err.close_write();

    // A child that stops reading must not make us die writing to it.
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    struct sigaction previous {};
    ::sigaction(SIGPIPE, &ignore, &previous);

    ProcessResult result;
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
        const bool writing = in.write_end() >= 0;
        if (writing) {
            fds[n++] = {in.write_end(), POLLOUT, 0};
        }
        if (::poll(fds.data(), n, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
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
                if (w < 0 && errno != EINTR && errno != EAGAIN) {
                    in.close_write();
                } else if (written == input.size()) {
                    in.close_write();
                }
                continue;
            }
            const auto r = ::read(fds[i].fd, buf.data(), buf.size());
            auto& sink = fds[i].fd == out.read_end() ? result.out : result.err;
            if (r > 0) {
                sink.append(buf.data(), static_cast<std::size_t>(r));
            } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
                (fds[i].fd == out.read_end() ? out_open : err_open) = false;
            }
        }
    }
    in.close_write();
    ::sigaction(SIGPIPE, &previous, nullptr);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return result;
}

}  // namespace lvsctl::cli
