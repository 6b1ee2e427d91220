#pragma once
// This process's MPI job (built with MPI only; not installed). MPI is
// initialised on first use, and only when mpirun started the program, so a
// program run alone never touches MPI; it is finalised at exit. Once it runs,
// an uncaught exception on any rank ends the whole job with a message naming
// the rank and the error, instead of leaving the other ranks waiting in a
// collective.
// graphnn uses MPI's C API only; its deprecated C++ bindings are not wanted (nor their warnings).
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <string>

namespace graphnn::mpi_world {

// True when a launcher (mpirun, mpiexec, srun) started this process.
bool launched_by_mpirun();
// The job's communicator (MPI_COMM_WORLD); initialises MPI.
MPI_Comm communicator();
// The job's processes on this machine (MPI_Comm_split_type SHARED: they can
// share memory), made when MPI is initialised.
MPI_Comm node_communicator();
// 0 of 1 when the program was not launched by mpirun.
int rank();
int size();
// Prints "graphnn: rank R of N: <why>" on stderr and ends every rank of the job.
[[noreturn]] void abort(const std::string& why);
// A run with collectives stopped early on this process (an error, `why`):
// the others may wait in a collective it will never join. Until a later such
// run completes, leaving the program (returning from main after catching the
// error) ends the whole job, as an uncaught exception does, instead of
// waiting for them in MPI_Finalize.
void run_with_collectives_interrupted(const std::string& why);
void run_with_collectives_completed();
// Whether the last run with collectives stopped early: then a bucket must not
// be freed collectively (the others would never join), and exit ends the job.
bool run_with_collectives_was_interrupted();

}  // namespace graphnn::mpi_world
