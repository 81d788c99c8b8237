#include "lvsctl/cli/lb_seams.h"

#include <fmt/format.h>

#include <thread>

#include "lvsctl/cli/files.h"
#include "lvsctl/error.h"

namespace lvsctl::cli {

namespace fs = std::filesystem;

std::chrono::steady_clock::time_point SteadyClock::now() {
    return std::chrono::steady_clock::now();
}

void SteadyClock::sleep(std::chrono::milliseconds duration) {
    std::this_thread::sleep_for(duration);
}

namespace {
Error failed(const fs::path& what, const std::string& doing, std::error_code ec) {
    return Error(ec == std::errc::permission_denied ? ExitCode::permission : ExitCode::internal,
                 fmt::format("{}: {}: {}", what.string(), doing, ec.message()));
}
}  // namespace

std::vector<std::string> DirectoryRecords::names() {
    std::vector<std::string> out;
    std::error_code ec;
    for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
        out.push_back(it->path().filename().string());
    }
    if (ec && ec != std::errc::no_such_file_or_directory) {
        throw failed(dir_, "list", ec);
    }
    return out;
}

std::optional<std::string> DirectoryRecords::read(const std::string& name) {
    return read_file_if_exists(dir_ / name);
}

void DirectoryRecords::write(const std::string& name, const std::string& text) {
    write_file_atomic(dir_ / name, text, 0600);
}

void DirectoryRecords::write_pieces(const std::string& name, const Pieces& text) {
    write_file_atomic(dir_ / name, 0600, text);
}

void DirectoryRecords::rename(const std::string& from, const std::string& to) {
    std::error_code ec;
    fs::rename(dir_ / from, dir_ / to, ec);
    if (ec) {
        throw failed(dir_ / from, fmt::format("rename to {}", (dir_ / to).string()), ec);
    }
}

}  // namespace lvsctl::cli
