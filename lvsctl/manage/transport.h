// Reaching other hosts: a Connector opens a Transport to one host, which runs programs there.
// propagation::SshConnector is the real one (libssh); tests of the core have fakes.
//
// A Transport is a ProcessRunner: programs are given as argv, and every argument is quoted for
// the remote shell by shell_command(), so no string (an address, a path) is ever spliced into a
// command line.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lvsctl/address.h"
#include "lvsctl/process.h"

namespace lvsctl {

class Transport : public ProcessRunner {
  public:
    // Runs argv on the host. Throws Error when the host is lost or the command does not finish
    // within the timeout (ExitCode::unreachable); a command that fails is a ProcessResult.
    ProcessResult run(const std::vector<std::string>& argv,
                      const std::string& input = {}) override = 0;
    // Changing commands run so far (see run_changing): a converged host sees none.
    std::size_t changing_commands() const { return changing_; }
    ProcessResult run_changing(const std::vector<std::string>& argv,
                               const std::string& input = {}) {
        ++changing_;
        return run(argv, input);
    }

  private:
    std::size_t changing_ = 0;
};

class Connector {
  public:
    virtual ~Connector() = default;
    // Throws Error naming the host: ExitCode::unreachable when it cannot be reached (refused,
    // timed out), ExitCode::permission when its host key is unknown or changed, or the
    // authentication is refused.
    virtual std::unique_ptr<Transport> connect(const IpAddress& address, std::uint16_t port) = 0;
};

// `text` as one word for a POSIX shell: in single quotes, each ' as '\''.
std::string shell_quote(std::string_view text);
// argv as a command line for a POSIX shell: each argument quoted.
std::string shell_command(const std::vector<std::string>& argv);

// Replaces `path` on the host atomically (scripts/replace-file.sh): written to a temporary file
// beside it, synced, checked against posix_cksum(content), and renamed over it; the file keeps
// its mode when it exists, else gets `mode`. The directory is created when missing. Throws
// Error(ExitCode::partial) naming `host_name` and the path.
void upload_atomically(Transport& host, std::string_view host_name, const std::string& path,
                       std::string_view content, unsigned mode);

// What POSIX `cksum` prints for `data` read from stdin: "CRC LENGTH".
std::string posix_cksum(std::string_view data);

}  // namespace lvsctl
