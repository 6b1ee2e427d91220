#include "mpi_world.hpp"

#include <cstdlib>
#include <exception>
#include <iostream>

#include "graphnn/error.hpp"

namespace graphnn::mpi_world {

namespace {

void finalize_at_exit() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
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

MPI_Comm initialised() {
  int ready = 0;
  MPI_Initialized(&ready);
  if (!ready) {
    int provided = 0;
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
      throw Error("distributed: MPI_Init_thread failed");
    std::atexit(finalize_at_exit);
    std::set_terminate(abort_on_uncaught);
  }
  return MPI_COMM_WORLD;
}

}  // namespace

bool launched_by_mpirun() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (std::getenv(name)) return true;
  return false;
}

MPI_Comm communicator() {
  static const MPI_Comm comm = initialised();
  return comm;
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
  std::cerr << "graphnn: rank " << rank() << " of " << size() << ": " << why << std::endl;
  MPI_Abort(communicator(), 1);
  std::abort();  // MPI_Abort does not return; this keeps [[noreturn]] honest
}

}  // namespace graphnn::mpi_world
