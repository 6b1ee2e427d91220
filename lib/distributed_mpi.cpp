// graphnn::distributed over MPI (built with MPI): ranks from the job, sums and
// the model check with MPI collectives, gradients averaged by allreduce_mean.

#include "mpi_world.hpp"  // first: <mpi.h> without the C++ bindings

#include <cstdint>
#include <exception>
#include <sstream>

#include "allreduce_transport.hpp"
#include "graphnn/allreduce.hpp"
#include "graphnn/distributed.hpp"

namespace graphnn::distributed {

int rank() { return mpi_world::rank(); }
int size() { return mpi_world::size(); }

std::string allreduce_transport() { return size() == 1 ? "none" : allreduce_transport::in_use(); }

void barrier() {
  if (size() > 1) MPI_Barrier(mpi_world::communicator());
}

void sum(double* values, std::size_t count) {
  if (size() > 1) MPI_Allreduce(MPI_IN_PLACE, values, int(count), MPI_DOUBLE, MPI_SUM, mpi_world::communicator());
}

namespace {

// Rank 0's `text`, on every process.
std::string rank0_text(const std::string& text) {
  const MPI_Comm comm = mpi_world::communicator();
  unsigned long length = text.size();
  MPI_Bcast(&length, 1, MPI_UNSIGNED_LONG, 0, comm);
  std::string root_text = rank() == 0 ? text : std::string(length, ' ');
  MPI_Bcast(root_text.data(), int(length), MPI_CHAR, 0, comm);
  return root_text;
}

}  // namespace

void on_root(const std::function<void()>& work) {
  if (size() == 1) return work();
  std::exception_ptr failure;
  std::string why;
  if (rank() == 0) try {
      work();
    } catch (const std::exception& e) {
      failure = std::current_exception();
      why = e.what();
    } catch (...) {
      failure = std::current_exception();
      why = "an exception that is not a std::exception";
    }
  int failed = failure != nullptr;
  MPI_Bcast(&failed, 1, MPI_INT, 0, mpi_world::communicator());
  if (!failed) return;
  const std::string roots_why = rank0_text(why);
  if (failure) std::rethrow_exception(failure);
  throw Error("rank 0, which writes for every process: " + roots_why);
}

void abort(const std::string& why) { mpi_world::abort(why); }

namespace {

std::uint64_t fnv1a(const std::string& text) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::string hex(std::uint64_t v) {
  std::ostringstream os;
  os << "0x" << std::hex << v;
  return os.str();
}

}  // namespace

void check_same(const std::string& what, const std::string& text) {
  const int n = size();
  if (n == 1) return;
  const MPI_Comm comm = mpi_world::communicator();
  std::vector<std::uint64_t> digests(std::size_t(n), 0);
  const std::uint64_t mine = fnv1a(text);
  MPI_Allgather(&mine, 1, MPI_UINT64_T, digests.data(), 1, MPI_UINT64_T, comm);
  int differs = -1;
  for (int r = 1; r < n && differs < 0; ++r)
    if (digests[std::size_t(r)] != digests[0]) differs = r;
  if (differs < 0) return;
  // Every process knows; rank 0's text explains the difference.
  const std::string root_text = rank0_text(text);
  throw Error("distributed: " + what + " differ between the processes: rank " + std::to_string(differs) +
              " has digest " + hex(digests[std::size_t(differs)]) + ", rank 0 " + hex(digests[0]) + "; rank 0 has " +
              root_text + "; this process (rank " + std::to_string(rank()) + ") has " + text);
}

template <class T>
void broadcast_variables(Session<T>& session, const Nodes<T>& variables) {
  if (size() == 1) return;
  check_same("the variables (names and shapes)", describe_variables(variables));
  const MPI_Datatype type = std::is_same_v<T, double> ? MPI_DOUBLE : MPI_FLOAT;
  for (const Node<T>& v : variables)
    MPI_Bcast(session.variable_data(v), int(session.value(v).size()), type, 0, mpi_world::communicator());
}

template <class T>
Node<T> mean_over_processes(const Node<T>& x) {
  return size() == 1 ? x : allreduce_mean(x);
}

template <class T>
Nodes<T> average_gradients(const Nodes<T>& gradients) {
  Nodes<T> mean;
  for (const Node<T>& g : gradients) mean.push_back(mean_over_processes(g));
  return mean;
}

#define INSTANTIATE(T)                                                          \
  template void broadcast_variables<T>(Session<T>&, const Nodes<T>&);           \
  template Nodes<T> average_gradients<T>(const Nodes<T>&);               \
  template Node<T> mean_over_processes<T>(const Node<T>&);
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace graphnn::distributed
