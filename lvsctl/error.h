// Errors that reach the user, each carrying the exit code of SPEC.md section 2.
#pragma once

#include <stdexcept>
#include <string>

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

}  // namespace lvsctl
