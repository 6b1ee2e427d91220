// A build without MPI (-Dmpi=disabled, or no OpenMPI): graphnn::distributed is
// one process, and a program that mpirun starts several times refuses to train
// alone on each.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "test_util.hpp"

#include <cstdlib>

TEST_CASE("without MPI: rank 0 of 1, and mpirun with several processes is an error") {
  ::unsetenv("OMPI_COMM_WORLD_SIZE");
  CHECK(gn::distributed::rank() == 0);
  CHECK(gn::distributed::size() == 1);
  ::setenv("OMPI_COMM_WORLD_SIZE", "2", 1);  // as mpirun -np 2 sets it
  CHECK_ERROR(gn::distributed::size(), "distributed: this program runs under mpirun with 2 processes",
              "graphnn was built without MPI", "-Dmpi=enabled");
  xt::xarray<double> x = {1.0, 2.0, 3.0};  // a column: {{1.0}, {2.0}} is ambiguous in xtensor
  x.reshape({3, 1});
  const xt::xarray<double> y = x * 2.0;
  gn::Sequential<double> m(gn::Linear<double>(1, 1));
  CHECK_ERROR(m.fit(x, y, test::quiet(1, 2)), "built without MPI");
  ::unsetenv("OMPI_COMM_WORLD_SIZE");
}
