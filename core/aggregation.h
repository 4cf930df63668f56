#pragma once

#include "tensor.h"

#include <vector>

namespace studio {

// Attention rollout (Abnar & Zuidema 2020): per layer Â = ½·mean_h A + ½·I with its rows
// renormalised, multiplied from the first layer up: R_0 = Â_0, R_l = Â_l · R_{l−1}. R_l (T, T) says
// how much of token i at layer l (row) comes from input token j (column). layers[l][h] is (T, T).
// Rows stay distributions (each sums to 1).
std::vector<Matrix> attentionRollout(const std::vector<std::vector<Matrix>> &layers);
// One step, for streaming: R_l from R_{l−1} (empty for the first layer) and layer l's heads.
Matrix rolloutStep(const Matrix &previous, const std::vector<Matrix> &heads);

// A display transform that leaves out special tokens ([CLS], [SEP], <s>, </s> …): their rows and
// columns are dropped and each remaining row renormalised over the remaining keys (a row left with
// no weight stays all zero). keep[i] says whether token i stays. Result (kept, kept).
Matrix withoutTokens(const Matrix &weights, const std::vector<bool> &keep);

} // namespace studio
