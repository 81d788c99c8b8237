#include "lvsctl/transport.h"

#include <fmt/format.h>

#include "lvsctl/error.h"
#include "lvsctl/validate.h"

namespace lvsctl {

std::string shell_quote(std::string_view text) {
    std::string out = "'";
    for (const char c : text) {
        if (c == '\'') {
            out += "'\\''";
        } else {
            out += c;
        }
    }
    out += '\'';
    return out;
}

std::string shell_command(const std::vector<std::string>& argv) {
    std::string out;
    for (const auto& arg : argv) {
        if (!out.empty()) {
            out += ' ';
        }
        out += shell_quote(arg);
    }
    return out;
}

namespace {
// A fixed script; the path (absolute) and mode arrive as its arguments, never inside it. Few
// processes: it runs on every host of a change. The temporary name is unique per shell ($$);
// `sync FILE` flushes that file (coreutils 8.24 and later; older ones sync everything).
constexpr const char* kUploadScript =
    "set -e; dir=${1%/*}; [ -d \"$dir\" ] || mkdir -p -- \"$dir\"; "
    "tmp=\"$dir/.lvsctl-upload.$$\"; trap 'rm -f -- \"$tmp\"' EXIT; "
    "cat > \"$tmp\"; "
    "if [ -e \"$1\" ]; then chmod --reference=\"$1\" -- \"$tmp\"; else chmod \"$2\" -- \"$tmp\"; "
    "fi; "
    "sync -- \"$tmp\" 2>/dev/null || sync; mv -f -- \"$tmp\" \"$1\"; trap - EXIT";
}  // namespace

void upload_atomically(Transport& host, std::string_view host_name, const std::string& path,
                       std::string_view content, unsigned mode) {
    if (!is_valid_command_path(path)) {
        throw Error(ExitCode::internal, fmt::format("{}: write {}: not an absolute path of plain "
                                                    "characters",
                                                    host_name, path));
    }
    const auto result = host.run_changing(
        {"sh", "-c", kUploadScript, "lvsctl-upload", path, fmt::format("{:o}", mode)},
        std::string(content));
    if (result.status != 0) {
        throw Error(ExitCode::partial,
                    fmt::format("{}: write {}: {}", host_name, path,
                                result.err.empty() ? fmt::format("exit status {}", result.status)
                                                   : result.err));
    }
}

}  // namespace lvsctl
