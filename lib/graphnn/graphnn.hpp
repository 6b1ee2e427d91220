#pragma once
// graphnn: static-graph reverse-mode automatic differentiation for neural networks.
// The engine: graphs, ops, gradients, sessions.
#include "graphnn/custom.hpp"
#include "graphnn/dot.hpp"
#include "graphnn/error.hpp"
#include "graphnn/gradcheck.hpp"
#include "graphnn/gradients.hpp"
#include "graphnn/incremental.hpp"
#include "graphnn/graph.hpp"
#include "graphnn/ops.hpp"
#include "graphnn/session.hpp"
#include "graphnn/shape.hpp"
// The training stack built on it.
#include "graphnn/data.hpp"
#include "graphnn/layers.hpp"
#include "graphnn/metrics.hpp"
#include "graphnn/optimizers.hpp"
#include "graphnn/plots.hpp"
#include "graphnn/runtime_info.hpp"
#include "graphnn/sequential.hpp"
#include "graphnn/serialize.hpp"
#include "graphnn/training_log.hpp"
