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

std::string replace_file_script(std::string_view fill, std::string_view then) {
    // The path (absolute) and the other values arrive as arguments, never inside the script. Few
    // processes: it runs on every host of a change. The temporary name is unique per shell ($$).
    return fmt::format(
        "set -e; dir=${{1%/*}}; [ -d \"$dir\" ] || mkdir -p -- \"$dir\"; "
        "tmp=\"$dir/.lvsctl-upload.$$\"; trap 'rm -f -- \"$tmp\"' EXIT; {}; "
        "mv -f -- \"$tmp\" \"$1\"; trap - EXIT{}{}",
        fill, then.empty() ? "" : "; ", then);
}

namespace {
// $2: the mode of a new file. The mode is set on the empty file before dd fills it, so that
// dd's fsync makes the content and the mode durable together (no `sync` process).
constexpr std::string_view kUploadFill =
    "umask 077; : > \"$tmp\"; "
    "if [ -e \"$1\" ]; then chmod --reference=\"$1\" -- \"$tmp\"; else chmod \"$2\" -- \"$tmp\"; "
    "fi; "
    "dd of=\"$tmp\" bs=65536 conv=notrunc,fsync status=none";
}  // namespace

void upload_atomically(Transport& host, std::string_view host_name, const std::string& path,
                       std::string_view content, unsigned mode) {
    if (!is_valid_command_path(path)) {
        throw Error(ExitCode::internal, fmt::format("{}: write {}: not an absolute path of plain "
                                                    "characters",
                                                    host_name, path));
    }
    const auto result = host.run_changing({"sh", "-c", replace_file_script(kUploadFill),
                                           "lvsctl-upload", path, fmt::format("{:o}", mode)},
                                          std::string(content));
    if (result.status != 0) {
        throw Error(ExitCode::partial,
                    fmt::format("{}: write {}: {}", host_name, path,
                                result.err.empty() ? fmt::format("exit status {}", result.status)
                                                   : result.err));
    }
}

}  // namespace lvsctl
