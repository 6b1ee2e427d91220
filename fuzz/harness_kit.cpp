// The fuzz input as a file (see harness_kit.hpp).
#include "harness_kit.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <stdexcept>

namespace graphnn::fuzz {

MemoryFile::MemoryFile(const void* data, std::size_t size) : fd_(::memfd_create("graphnn_fuzz", MFD_CLOEXEC)) {
  if (fd_ < 0) throw std::runtime_error("memfd_create failed");
  const char* p = static_cast<const char*>(data);
  for (std::size_t done = 0; done < size;) {
    const ssize_t n = ::write(fd_, p + done, size - done);
    if (n <= 0) {
      ::close(fd_);
      throw std::runtime_error("memfd write failed");
    }
    done += static_cast<std::size_t>(n);
  }
}

MemoryFile::~MemoryFile() { ::close(fd_); }

std::string MemoryFile::path() const { return "/proc/self/fd/" + std::to_string(fd_); }

}  // namespace graphnn::fuzz
