#include "lvsctl/cli/files.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "lvsctl/error.h"

namespace lvsctl::cli {

namespace {

class Fd {
  public:
    explicit Fd(int fd) : fd_(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    int get() const { return fd_; }
    int release() { return std::exchange(fd_, -1); }

  private:
    int fd_;
};

[[noreturn]] void fail(const std::filesystem::path& path, const char* what) {
    throw Error(ExitCode::internal,
                fmt::format("{}: {}: {}", path.string(), what, std::strerror(errno)));
}

}  // namespace

std::string read_stream(std::istream& in) {
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::optional<std::string> read_file_if_exists(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        if (!std::filesystem::exists(path)) {
            return std::nullopt;
        }
        throw Error(ExitCode::data, fmt::format("{}: cannot be read", path.string()));
    }
    return read_stream(in);
}

void write_file_atomic(const std::filesystem::path& path, const std::string& content,
                       unsigned mode) {
    const auto dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    auto temp = (dir / ("." + path.filename().string() + ".XXXXXX")).string();
    Fd fd(::mkstemp(temp.data()));
    if (fd.get() < 0) {
        fail(temp, "create");
    }
    auto cleanup = [&] { ::unlink(temp.c_str()); };
    std::size_t written = 0;
    while (written < content.size()) {
        const auto n = ::write(fd.get(), content.data() + written, content.size() - written);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            cleanup();
            fail(temp, "write");
        }
        written += static_cast<std::size_t>(n);
    }
    if (::fchmod(fd.get(), mode) != 0 || ::fsync(fd.get()) != 0 || ::close(fd.release()) != 0) {
        cleanup();
        fail(temp, "fsync");
    }
    if (::rename(temp.c_str(), path.c_str()) != 0) {
        cleanup();
        fail(path, "rename");
    }
    Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY));
    if (dir_fd.get() >= 0) {
        ::fsync(dir_fd.get());  // the rename itself survives a crash
    }
}

}  // namespace lvsctl::cli
