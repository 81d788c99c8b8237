// Errors that reach the user, each carrying the exit code of README.md's "Exit codes", and the
// one error policy of every fan-out over hosts (see capture_host_error below).
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace lvsctl {

enum class ExitCode : int {
    ok = 0,
    changes_pending = 2,
    partial = 3,
    usage = 64,
    data = 65,
    unreachable = 68,
    db_unavailable = 69,
    internal = 70,
    kernel = 71,
    lock_busy = 75,
    permission = 77,
    config = 78,
};

// An error whose message already names the host, the object and the reason.
class Error : public std::runtime_error {
  public:
    Error(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
    ExitCode code() const noexcept { return code_; }

  private:
    ExitCode code_;
};

// `message` as "HOST: message", unless it already starts with "HOST:".
std::string host_prefixed(std::string_view host, std::string_view message);

// Outside bytes (a server's reply, a program's output) for a message, in double quotes: at most
// `limit` bytes, printable ASCII as it is, \r \n \t \" \\ and \xNN for the rest, "..." inside the
// quotes when there was more. Nothing a host prints can break a log line or forge another.
std::string quoted(std::string_view text, std::size_t limit = 40);

// What one host's work threw, as that host's error.
struct HostError {
    ExitCode code = ExitCode::internal;
    std::string message;  // names the host
};

// The policy at every fan-out over hosts: whatever `fn` throws becomes that host's error (an
// Error keeps its exit code; any other exception is an internal error, 70), named by `host`. It
// never escapes to the other hosts or to std::terminate.
template <typename Fn>
std::optional<HostError> capture_host_error(std::string_view host, Fn&& fn) noexcept {
    try {
        fn();
        return std::nullopt;
    } catch (const Error& e) {
        return HostError{e.code(), host_prefixed(host, e.what())};
    } catch (const std::exception& e) {
        return HostError{ExitCode::internal, host_prefixed(host, e.what())};
    } catch (...) {
        return HostError{ExitCode::internal, host_prefixed(host, "unknown exception")};
    }
}

}  // namespace lvsctl
