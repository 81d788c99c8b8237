#include "lvsctl/cli/files.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
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

bool refused(int error) {
    return error == EACCES || error == EPERM;
}

[[noreturn]] void fail(const std::filesystem::path& path, const char* what) {
    const int error = errno;
    throw Error(refused(error) ? ExitCode::permission : ExitCode::internal,
                fmt::format("{}: {}: {}", path.string(), what, std::strerror(error)));
}

}  // namespace

std::string read_stream(std::istream& in) {
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

FdInput::int_type FdInput::underflow() {
    if (gptr() < egptr()) {
        return traits_type::to_int_type(*gptr());
    }
    ssize_t n = 0;
    do {
        n = ::read(fd_, buffer_.data(), buffer_.size());
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
        error_ = n < 0 ? errno : 0;
        return traits_type::eof();
    }
    setg(buffer_.data(), buffer_.data(), buffer_.data() + n);
    return traits_type::to_int_type(*gptr());
}

std::optional<std::string> read_file_if_exists(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        const int error = errno;
        std::error_code ec;
        if (!std::filesystem::exists(path, ec) && !ec) {
            return std::nullopt;
        }
        throw Error(refused(error) ? ExitCode::permission : ExitCode::data,
                    fmt::format("{}: cannot be read: {}", path.string(), std::strerror(error)));
    }
    return read_stream(in);
}

void write_file_atomic(const std::filesystem::path& path, const std::string& content,
                       unsigned mode) {
    write_file_atomic(path, mode, [&](const TextSink& put) { put(content); });
}

void write_file_atomic(const std::filesystem::path& path, unsigned mode,
                       const std::function<void(const TextSink&)>& produce) {
    const auto dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec && refused(ec.value())) {
        throw Error(ExitCode::permission,
                    fmt::format("{}: create: {}", dir.string(), std::strerror(ec.value())));
    }
    auto temp = (dir / ("." + path.filename().string() + ".XXXXXX")).string();
    Fd fd(::mkstemp(temp.data()));
    if (fd.get() < 0) {
        fail(temp, "create");
    }
    auto cleanup = [&] { ::unlink(temp.c_str()); };
    const auto write_all = [&](std::string_view piece) {
        std::size_t written = 0;
        while (written < piece.size()) {
            const auto n = ::write(fd.get(), piece.data() + written, piece.size() - written);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0) {
                fail(temp, "write");  // the temporary file goes below
            }
            written += static_cast<std::size_t>(n);
        }
    };
    try {
        produce(write_all);
    } catch (...) {
        cleanup();
        throw;
    }
    if (::fchmod(fd.get(), mode) != 0 || ::fsync(fd.get()) != 0 || ::close(fd.release()) != 0) {
        const int error = errno;
        cleanup();
        errno = error;
        fail(temp, "fsync");
    }
    if (::rename(temp.c_str(), path.c_str()) != 0) {
        const int error = errno;
        cleanup();
        errno = error;
        fail(path, "rename");
    }
    Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY));
    if (dir_fd.get() >= 0) {
        ::fsync(dir_fd.get());  // the rename itself survives a crash
    }
}

FileLock::FileLock(const std::filesystem::path& path, std::chrono::milliseconds timeout) {
    Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (fd.get() < 0) {
        fail(path, "open the lock");
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    // Polled rather than a blocking flock() under alarm(): no signal handler, no process-wide
    // state, and a wait of a tenth of a second at most beyond the holder's release.
    while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno == EINTR) {
            continue;
        }
        if (errno != EWOULDBLOCK) {
            fail(path, "lock");
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            throw Error(
                ExitCode::lock_busy,
                fmt::format("{}: held by another run (still there after {} s); try "
                            "again later",
                            path.string(),
                            std::chrono::duration_cast<std::chrono::seconds>(timeout).count()));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    fd_ = fd.release();
}

FileLock::~FileLock() {
    if (fd_ >= 0) {
        ::close(fd_);  // releases the lock
    }
}

}  // namespace lvsctl::cli
