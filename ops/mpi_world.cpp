#include "mpi_world.hpp"

#include <cstdlib>
#include <exception>
#include <iostream>

#include "graphnn/error.hpp"

namespace graphnn::mpi_world {

namespace {

std::string interrupted_run;  // why the last run with collectives stopped early; empty: it did not

void finalize_at_exit() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;
  if (!interrupted_run.empty())
    abort("exiting after an error in a run with collectives, which the other processes may be waiting in: " +
          interrupted_run);
  MPI_Finalize();
}

// std::terminate: an exception nobody caught, on this rank.
[[noreturn]] void abort_on_uncaught() {
  std::string why = "terminated";
  if (std::exception_ptr e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      why = x.what();
    } catch (...) {
      why = "an exception that is not a std::exception";
    }
  }
  abort(why);
}

// OpenMPI's non-blocking collectives (libnbc) run an in-place allreduce, as
// graphnn's buckets are, as a reduction to rank 0 and a broadcast back: every
// byte passes through one process twice. The ring (each process reduces 1/N
// of the bucket and passes it on) is the bandwidth-optimal schedule, so
// graphnn asks for it, unless the environment (mpirun --mca ...) chose one;
// it takes effect only when graphnn initialises MPI.
void prefer_ring_allreduce() {
#if defined(OPEN_MPI)
  setenv("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "1", /*overwrite=*/0);
#endif
}

MPI_Comm node = MPI_COMM_NULL;  // node_communicator()

MPI_Comm initialised() {
  int ready = 0;
  MPI_Initialized(&ready);
  if (!ready) {
    prefer_ring_allreduce();
    int provided = 0;
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
      throw Error("distributed: MPI_Init_thread failed");
    std::atexit(finalize_at_exit);
    std::set_terminate(abort_on_uncaught);
  }
  // A collective call, made here: every process comes here once, at its
  // first call into MPI through graphnn, before any other collective of
  // ours, so none can wait in it alone (as on a first use by one rank).
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  return MPI_COMM_WORLD;
}

}  // namespace

void run_with_collectives_interrupted(const std::string& why) { interrupted_run = why.empty() ? "an error" : why; }
void run_with_collectives_completed() { interrupted_run.clear(); }
bool run_with_collectives_was_interrupted() { return !interrupted_run.empty(); }

bool launched_by_mpirun() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (std::getenv(name)) return true;
  return false;
}

MPI_Comm communicator() {
  static const MPI_Comm comm = initialised();
  return comm;
}

MPI_Comm node_communicator() {
  communicator();
  return node;
}

int rank() {
  if (!launched_by_mpirun()) return 0;
  int r = 0;
  MPI_Comm_rank(communicator(), &r);
  return r;
}

int size() {
  if (!launched_by_mpirun()) return 1;
  int n = 1;
  MPI_Comm_size(communicator(), &n);
  return n;
}

void abort(const std::string& why) {
  const std::string line = "graphnn: rank " + std::to_string(rank()) + " of " + std::to_string(size()) + ": " + why + "\n";
  std::cerr << line << std::flush;  // one write: the ranks' lines do not interleave
  MPI_Abort(communicator(), 1);
  std::abort();  // MPI_Abort does not return; this keeps [[noreturn]] honest
}

}  // namespace graphnn::mpi_world
