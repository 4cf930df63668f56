#pragma once

#include <Eigen/Core>

namespace studio {

// Row-major so a matrix read from a file or written to JSON maps row by row.
using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vector = Eigen::VectorXf;
using RowVector = Eigen::Matrix<float, 1, Eigen::Dynamic>;

} // namespace studio
