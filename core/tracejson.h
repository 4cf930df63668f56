#pragma once

#include "teachingmodel.h"

#include <QJsonObject>

#include <vector>

namespace studio {

// The trace as the command line prints it:
// { model, tokens, settings, layers: [ { input, heads: [ { name, weights, [stages...] } ] } ] }
// With stages, each head also carries w_q, w_k, w_v, q, k, v, scores, scaled, masked (null where
// masked), output and entropy.
QJsonObject teachingTraceToJson(const TeachingTrace &trace, const TeachingConfig &config,
                                const std::vector<HeadWeights> &heads,
                                const AttentionSettings &settings, bool withStages);

} // namespace studio
