#pragma once

#include "checkpoint.h"
#include "jsonstream.h"
#include "teachingmodel.h"

#include <vector>

namespace studio {

// The trace as the command line prints it, streamed so that it never exists whole in memory:
// { model, tokens, settings, layers: [ { input, heads: [ { name, weights, [stages...] } ] } ] }
// With stages, each head also carries w_q, w_k, w_v, q, k, v, scores, scaled, masked (null where
// masked), output and entropy. Other non-finite numbers are the strings "NaN", "Infinity" and
// "-Infinity", so that an undefined number never reads as a masked one.
void writeTeachingTrace(JsonStream &out, const TeachingTrace &trace, const TeachingConfig &config,
                        const std::vector<HeadWeights> &heads, const AttentionSettings &settings, bool withStages,
                        bool withRollout = false);

// The same layout for a loaded checkpoint, written a layer at a time as the forward pass produces
// it: model.kind is the family, "ids" holds the token ids, "tokens" the vocabulary strings and
// "display_tokens" the readable ones. Every head of every layer has "weights"; heads whose stages
// were kept also have q, k, v (biases included), scores, scaled, masked, output and entropy, and
// their layer has "input", the X the heads attend over.
class ModelTraceWriter {
public:
    ModelTraceWriter(JsonStream &out, const Checkpoint &checkpoint, const PreparedInput &input);
    // The model, tokens, settings, cuts and warnings, and the opening of "layers".
    void begin();
    // Writes layer l of the trace and frees its maps, stages and input: called as each layer is done.
    void writeLayer(int layer, ModelTrace &trace);
    void end();
    // Adds "rollout": [layer][T×T] after the layers (attention rollout, built a layer at a time).
    void setRollout(bool on) { m_rollout = on; }

private:
    JsonStream &m_out;
    const Checkpoint &m_checkpoint;
    const PreparedInput &m_input;
    bool m_rollout = false;
    std::vector<Matrix> m_rollouts; // (T, T) per layer written so far
};

// "rollout": [layer][T×T] as a member of the object being written.
void writeRollout(JsonStream &out, const std::vector<Matrix> &rollout);

// A matrix as the member name: [[row], ...], with the trace's spelling of non-finite numbers.
void writeTraceMatrix(JsonStream &out, const QString &name, const Matrix &m, bool maskedStage = false);

// The stages of one head as members of the object being written: q, k, v, scores, scaled, masked
// (null where masked), weights, output, entropy.
void writeHeadStages(JsonStream &out, const HeadTrace &head);

} // namespace studio
