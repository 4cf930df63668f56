#pragma once

#include "tensor.h"

#include <vector>

namespace studio {

// One layer's heads mixed with the residual path: Â = ½·mean_h A + ½·I with its rows renormalised
// (a row of A that sums to 0, a query that saw no key, still gets ½ on itself), in double. (T, T)
Eigen::MatrixXd residualMixed(const std::vector<Matrix> &heads);

// Attention rollout (Abnar & Zuidema 2020): per layer Â = ½·mean_h A + ½·I with its rows
// renormalised, multiplied from the first layer up: R_0 = Â_0, R_l = Â_l · R_{l−1}. R_l (T, T) says
// how much of token i at layer l (row) comes from input token j (column). layers[l][h] is (T, T).
// Rows stay distributions (each sums to 1).
std::vector<Matrix> attentionRollout(const std::vector<std::vector<Matrix>> &layers);
// One step, for streaming: R_l from R_{l−1} (empty for the first layer) and layer l's heads.
Matrix rolloutStep(const Matrix &previous, const std::vector<Matrix> &heads);

// Value-weighted attention (Kobayashi et al. 2020): ‖α_ij · f(x_j)‖ = α_ij · ‖f(x_j)‖, with
// valueNorms[j] = ‖f(x_j)‖ = ‖(x_j W_V + b_V) W_O‖ restricted to the head. A head that puts its
// weight on a token whose value vector is tiny moves almost nothing. (T, T); empty when the sizes
// disagree.
Matrix valueWeighted(const Matrix &weights, const Eigen::Ref<const Vector> &valueNorms);

// A display transform that leaves out special tokens ([CLS], [SEP], <s>, </s> …): their rows and
// columns are dropped and each remaining row renormalised over the remaining keys (a row left with
// no weight stays all zero). keep[i] says whether token i stays. Result (kept, kept).
Matrix withoutTokens(const Matrix &weights, const std::vector<bool> &keep);

} // namespace studio
