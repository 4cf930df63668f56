#pragma once

#include "checkpoint.h"
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

// The same layout for a loaded checkpoint: model.kind is "gpt2" or "bert", "ids" holds the token
// ids, "tokens" the vocabulary strings and "display_tokens" the readable ones. Every head of every
// layer has "weights"; heads whose stages were kept also have q, k, v (biases included), scores,
// scaled, masked, output and entropy, and their layer has "input", the X the heads attend over.
QJsonObject modelTraceToJson(const Checkpoint &checkpoint, const PreparedInput &input, const ModelTrace &trace);

// Every stage of one head: q, k, v, scores, scaled, masked (null where masked), weights, output, entropy.
QJsonObject headStagesToJson(const HeadTrace &head);

} // namespace studio
