#include "mpi_world.hpp"  // first: <mpi.h> without the C++ bindings

#include "allreduce_transport.hpp"

#include <mpi-ext.h>

#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "graphnn/error.hpp"

namespace graphnn::allreduce_transport {
namespace {

template <class T>
MPI_Datatype mpi_type() {
  return std::is_same_v<T, double> ? MPI_DOUBLE : MPI_FLOAT;
}

bool mpi_finalized() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  return finalized != 0;
}

// A bucket of this job: a run that stops early leaves the other processes in
// its collectives, so leaving the program then must end the job (mpi_world).
template <class T>
class JobBucket : public Collective<T>::Bucket {
 public:
  void run_interrupted(const std::string& why) override {
    if (mpi_world::size() > 1) mpi_world::run_with_collectives_interrupted(why);
  }
  void run_completed() override { mpi_world::run_with_collectives_completed(); }
};

// MPI's allreduce, in place on the bucket's own storage.
template <class T>
class MpiBucket final : public JobBucket<T> {
 public:
  MpiBucket(std::size_t size, bool scaled_inputs)
      : size_(within_mpi_count(size)), storage_(size + kLine / sizeof(T)), processes_(mpi_world::size()),
        scaled_inputs_(scaled_inputs) {
    void* at = storage_.data();
    std::size_t room = storage_.size() * sizeof(T);
    data_ = static_cast<T*>(std::align(kLine, size * sizeof(T), at, room));
    if (processes_ == 1) return;  // the mean over one process is the value itself
#if defined(OMPI_HAVE_MPI_EXT_PCOLLREQ)
    // A persistent request: its schedule is built once, so a step allocates nothing of graphnn's.
    MPIX_Allreduce_init(MPI_IN_PLACE, data_, int(size_), mpi_type<T>(), MPI_SUM, mpi_world::communicator(),
                        MPI_INFO_NULL, &request_);
#endif
  }
  ~MpiBucket() override {
    if (request_ != MPI_REQUEST_NULL && !mpi_finalized()) MPI_Request_free(&request_);
  }
  T* data() override { return data_; }
  void start() override {
    if (processes_ == 1) return;
#if defined(OMPI_HAVE_MPI_EXT_PCOLLREQ)
    MPI_Start(&request_);
#else
    MPI_Iallreduce(MPI_IN_PLACE, data_, int(size_), mpi_type<T>(), MPI_SUM, mpi_world::communicator(), &request_);
#endif
  }
  void progress() override {
    if (processes_ == 1) return;
    int done = 0;
    MPI_Test(&request_, &done, MPI_STATUS_IGNORE);  // a completed persistent request stays for its wait
  }
  void wait() override {
    if (processes_ == 1) return;
    MPI_Wait(&request_, MPI_STATUS_IGNORE);
    if (scaled_inputs_) return;
    const T scale = T(1) / T(processes_);
    for (std::size_t i = 0; i < size_; ++i) data_[i] *= scale;
  }

 private:
  static std::size_t within_mpi_count(std::size_t size) {
    if (size > std::size_t(INT_MAX))
      throw Error("allreduce_mean: a bucket of " + std::to_string(size) + " elements exceeds MPI's count limit " +
                  std::to_string(INT_MAX));
    return size;
  }
  static constexpr std::size_t kLine = 64;  // data_ starts on a cache line, as the arena's buffers do
  std::size_t size_;
  std::vector<T> storage_;
  T* data_ = nullptr;
  int processes_;
  bool scaled_inputs_;
  MPI_Request request_ = MPI_REQUEST_NULL;
};

// One shared-memory window per bucket: this process's part is data(), the
// others' are read and written through their base addresses. The window stays
// in one passive epoch (lock_all) for its life; MPI_Win_sync and a barrier
// order the writes between processes, the MPI-3 idiom for shared windows.
template <class T>
class SharedMemoryBucket final : public JobBucket<T> {
 public:
  SharedMemoryBucket(std::size_t size, bool scaled_inputs) : comm_(mpi_world::node_communicator()) {
    int rank = 0, processes = 1;
    MPI_Comm_rank(comm_, &rank);
    MPI_Comm_size(comm_, &processes);
    MPI_Info info;
    MPI_Info_create(&info);
    MPI_Info_set(info, "alloc_shared_noncontig", "true");  // each part on its own pages: near its process
    T* mine = nullptr;
    const std::size_t elements = std::max<std::size_t>(size, 1);
    // A window MPI cannot make ends the job with MPI's own message (errors on a communicator are fatal).
    MPI_Win_allocate_shared(MPI_Aint(elements * sizeof(T)), int(sizeof(T)), info, comm_, &mine, &window_);
    MPI_Info_free(&info);
    // Touched here, by its owner: its pages are placed near this process, and
    // they count as used when the next bucket checks the backing directory's
    // room, which the barrier makes true for every process's part.
    std::fill(mine, mine + elements, T(0));
    MPI_Barrier(comm_);
    parts_.resize(std::size_t(processes));
    for (int r = 0; r < processes; ++r) {
      MPI_Aint part_bytes = 0;
      int unit = 0;
      MPI_Win_shared_query(window_, r, &part_bytes, &unit, &parts_[std::size_t(r)]);
    }
    MPI_Win_lock_all(MPI_MODE_NOCHECK, window_);
    mine_ = mine;
    begin_ = size * std::size_t(rank) / std::size_t(processes);
    end_ = size * std::size_t(rank + 1) / std::size_t(processes);
    scale_ = scaled_inputs ? T(1) : T(1) / T(processes);  // as MpiBucket scales: the same bits
    scaled_ = !scaled_inputs && processes > 1;
  }
  ~SharedMemoryBucket() override {
    // After an interrupted run the others may never reach MPI_Win_free: the job ends at exit, the window with it.
    if (mpi_finalized() || mpi_world::run_with_collectives_was_interrupted()) return;
    MPI_Win_unlock_all(window_);
    MPI_Win_free(&window_);  // collective: every process drops the same plans in the same order
  }
  T* data() override { return mine_; }
  // Nothing moves before every process has written its part, which wait() learns.
  void start() override {}
  void wait() override {
    synchronise();  // every process's members are written
    sum_my_slice();
    synchronise();  // every slice is summed: each part holds the means
  }

 private:
  void synchronise() {
    MPI_Win_sync(window_);
    MPI_Barrier(comm_);
    MPI_Win_sync(window_);
  }
  // Blocks of a local accumulator keep the loops free of aliasing, so they vectorise.
  void sum_my_slice() {
    constexpr std::size_t kBlock = 1024;
    T sum[kBlock];
    for (std::size_t at = begin_; at < end_; at += kBlock) {
      const std::size_t n = std::min(kBlock, end_ - at);
      std::copy(parts_[0] + at, parts_[0] + at + n, sum);
      for (std::size_t r = 1; r < parts_.size(); ++r) {
        const T* part = parts_[r] + at;
        for (std::size_t i = 0; i < n; ++i) sum[i] += part[i];
      }
      if (scaled_)
        for (std::size_t i = 0; i < n; ++i) sum[i] *= scale_;
      for (T* part : parts_) std::copy(sum, sum + n, part + at);
    }
  }

  MPI_Comm comm_;
  MPI_Win window_ = MPI_WIN_NULL;
  T* mine_ = nullptr;
  std::vector<T*> parts_;  // every process's part, by rank
  std::size_t begin_ = 0, end_ = 0;  // the slice this process sums
  T scale_ = 1;
  bool scaled_ = false;
};

// OpenMPI puts a shared window in its osc_sm_backing_directory, a tmpfs
// (/dev/shm; a Docker container has 64 MiB there unless run with --shm-size).
// A window beyond its room ends in SIGBUS when touched, not in an error, so
// the processes check first and agree on the least room any of them sees (a
// bucket is made collectively). Earlier buckets are touched when made, so
// the room seen is what is left.
//
// The directory is OpenMPI's own value of the parameter, read through MPI's
// tool interface: it may come from the environment, mpirun --mca or a
// parameter file. Where that interface does not know it, the environment's or
// OpenMPI's default on Linux.
std::string backing_directory() {
  const char* set = std::getenv("OMPI_MCA_osc_sm_backing_directory");
  std::string directory = set && *set ? set : "/dev/shm";
  int provided = 0, index = 0, count = 0;
  if (MPI_T_init_thread(MPI_THREAD_SINGLE, &provided) != MPI_SUCCESS) return directory;
  MPI_T_cvar_handle handle;
  if (MPI_T_cvar_get_index("osc_sm_backing_directory", &index) == MPI_SUCCESS &&
      MPI_T_cvar_handle_alloc(index, nullptr, &handle, &count) == MPI_SUCCESS) {
    std::vector<char> value(std::size_t(std::max(count, 0)) + 1, '\0');
    if (MPI_T_cvar_read(handle, value.data()) == MPI_SUCCESS && value[0] != '\0') directory = value.data();
    MPI_T_cvar_handle_free(&handle);
  }
  MPI_T_finalize();
  return directory;
}

bool backing_directory_has_room(std::size_t bytes_per_process, std::string& why_not) {
  const std::string directory = backing_directory();
  const MPI_Comm node = mpi_world::node_communicator();
  int processes = 1;
  MPI_Comm_size(node, &processes);
  const double page = double(sysconf(_SC_PAGESIZE));
  const double needed = (std::ceil(double(bytes_per_process) / page) * processes + 1) * page;  // + OpenMPI's header
  struct statvfs fs {};
  double least_free = statvfs(directory.c_str(), &fs) == 0 ? double(fs.f_bavail) * double(fs.f_frsize) : -1;
  MPI_Allreduce(MPI_IN_PLACE, &least_free, 1, MPI_DOUBLE, MPI_MIN, node);
  auto size = [](double b) {
    char text[32];
    std::snprintf(text, sizeof text, b < (1 << 20) ? "%.0f bytes" : "%.1f MiB", b < (1 << 20) ? b : b / (1 << 20));
    return std::string(text);
  };
  why_not = "a bucket of " + size(double(bytes_per_process)) + " per process needs " + size(needed) + " free in " +
            directory + " (OpenMPI's osc_sm_backing_directory), where " +
            (least_free < 0 ? "some process cannot read it" : "the least free on any process is " + size(least_free));
  return least_free >= needed;
}

// Every process must take the same transport, or their calls would not match
// (a hang): GRAPHNN_ALLREDUCE may have been set for some processes only.
void check_same_everywhere(const std::string& transport) {
  int code[2] = {transport == "shared_memory", -(transport == "shared_memory")};
  MPI_Allreduce(MPI_IN_PLACE, code, 2, MPI_INT, MPI_MAX, mpi_world::communicator());
  if (code[0] != -code[1])
    throw Error("GRAPHNN_ALLREDUCE: the processes chose different transports (shared_memory on some, mpi on "
                "others); set it alike for all (mpirun -x GRAPHNN_ALLREDUCE=...)");
}

// What the buckets made so far use (allreduce_transport()).
std::atomic<int> shared_memory_buckets{0}, mpi_buckets{0};

bool shared_memory_asked() {
  const char* setting = std::getenv("GRAPHNN_ALLREDUCE");
  return setting && std::string(setting) == "shared_memory";
}

}  // namespace

std::string choose(const std::string& setting, int here, int processes) {
  const std::string value = setting.empty() ? "auto" : setting;
  if (value != "auto" && value != "mpi" && value != "shared_memory")
    throw Error("GRAPHNN_ALLREDUCE='" + value + "': expected auto, mpi or shared_memory");
  const bool one_machine = here == processes;
  if (value == "shared_memory" && !one_machine)
    throw Error("GRAPHNN_ALLREDUCE=shared_memory needs every process of the job on one machine; this one shares "
                "memory with " + std::to_string(here) + " of the " + std::to_string(processes) + " processes");
  return value == "mpi" || !one_machine ? "mpi" : "shared_memory";
}

std::string chosen() {
  static const std::string transport = [] {
    const char* setting = std::getenv("GRAPHNN_ALLREDUCE");
    int here = 1;
    MPI_Comm_size(mpi_world::node_communicator(), &here);
    return choose(setting ? setting : "", here, mpi_world::size());
  }();
  return transport;
}

std::string in_use() {
  const bool shared = shared_memory_buckets > 0, mpi = mpi_buckets > 0;
  return shared && mpi ? "shared_memory and mpi" : shared ? "shared_memory" : mpi ? "mpi" : chosen();
}

template <class T>
std::unique_ptr<typename Collective<T>::Bucket> make_bucket(std::size_t size, bool scaled_inputs) {
  // One process (no mpirun) never touches MPI: its MpiBucket does nothing.
  if (mpi_world::size() == 1) return std::make_unique<MpiBucket<T>>(size, scaled_inputs);
  check_same_everywhere(chosen());
  std::string why_not;
  if (chosen() == "shared_memory" && backing_directory_has_room(std::max<std::size_t>(size, 1) * sizeof(T), why_not)) {
    ++shared_memory_buckets;
    return std::make_unique<SharedMemoryBucket<T>>(size, scaled_inputs);
  }
  if (chosen() == "shared_memory" && shared_memory_asked())
    throw Error("GRAPHNN_ALLREDUCE=shared_memory: " + why_not + "; GRAPHNN_ALLREDUCE=auto takes MPI's allreduce then");
  ++mpi_buckets;  // mpi, or auto where shared memory has no room
  return std::make_unique<MpiBucket<T>>(size, scaled_inputs);
}

#define INSTANTIATE(T) \
  template std::unique_ptr<typename Collective<T>::Bucket> make_bucket<T>(std::size_t, bool);
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace graphnn::allreduce_transport
