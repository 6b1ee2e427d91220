// graphnn::distributed in a build without MPI: one process. Under mpirun
// every rank would silently train alone, so that is an error.
#include <cstdlib>
#include <iostream>

#include "graphnn/distributed.hpp"

namespace graphnn::distributed {

namespace {

void refuse_mpirun() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"}) {
    const char* n = std::getenv(name);
    if (n && std::atoi(n) > 1)
      throw Error(std::string("distributed: this program runs under mpirun with ") + n +
                  " processes, but graphnn was built without MPI (meson setup -Dmpi=enabled needs libopenmpi-dev); "
                  "each process would train alone");
  }
}

}  // namespace

int rank() {
  refuse_mpirun();
  return 0;
}
int size() {
  refuse_mpirun();
  return 1;
}
std::string allreduce_transport() { return "none"; }
void barrier() {}
void on_root(const std::function<void()>& work) { work(); }
void sum(double*, std::size_t) {}
void check_same(const std::string&, const std::string&) {}
void abort(const std::string& why) {
  std::cerr << "graphnn: rank 0 of 1: " << why << std::endl;
  std::abort();
}

template <class T>
void broadcast_variables(Session<T>&, const Nodes<T>&) {}
template <class T>
Node<T> mean_over_processes(const Node<T>& x) {
  return x;
}
template <class T>
Nodes<T> average_gradients(const Nodes<T>& gradients) {
  return gradients;
}

#define INSTANTIATE(T)                                                          \
  template void broadcast_variables<T>(Session<T>&, const Nodes<T>&);           \
  template Nodes<T> average_gradients<T>(const Nodes<T>&);               \
  template Node<T> mean_over_processes<T>(const Node<T>&);
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace graphnn::distributed
