#pragma once
// graphnn: static-graph reverse-mode automatic differentiation for neural networks.
#include "graphnn/custom.hpp"
#include "graphnn/dot.hpp"
#include "graphnn/error.hpp"
#include "graphnn/gradcheck.hpp"
#include "graphnn/gradients.hpp"
#include "graphnn/graph.hpp"
#include "graphnn/ops.hpp"
#include "graphnn/session.hpp"
#include "graphnn/shape.hpp"
