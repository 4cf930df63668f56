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
struct TeachingTraceExtras {
    bool rollout = false; // "rollout": [layer][T×T]
    bool flow = false;    // "flow": [layer][T×T]
    bool valueWeighted = false; // "value_weighted": [layer][head][T×T], through each head's W_O
};
void writeTeachingTrace(JsonStream &out, const TeachingTrace &trace, const TeachingConfig &config,
                        const std::vector<HeadWeights> &heads, const AttentionSettings &settings, bool withStages,
                        const TeachingTraceExtras &extras = {});

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
    // The aggregates, the prediction (from the finished trace) and the closing brace.
    void end(const ModelTrace &trace);
    // Adds "rollout": [layer][T×T] after the layers (attention rollout, built a layer at a time).
    void setRollout(bool on) { m_rollout = on; }
    // Adds "flow": [layer][T×T] (attention flow; each layer's Â is kept, T² numbers, until the end).
    void setFlow(bool on) { m_flow = on; }
    // Adds "value_weighted": [layer][head][T×T], α_ij · ‖f_h(x_j)‖; the forward pass must keep
    // the value norms (ForwardOptions::keepValueNorms).
    void setValueWeighted(bool on) { m_valueWeighted = on; }
    // The display transform on every head's "weights": special tokens' rows and columns left out and
    // each row renormalised; "special_tokens" lists the positions left out.
    void setExcludeSpecial(bool on) { m_excludeSpecial = on; }
    // Adds "next_tokens": the k most likely next tokens after the last position, from the final
    // hidden state (ForwardOptions::keepFinalHidden), sorted by logit.
    void setPredict(int k) { m_predict = k; }

private:
    JsonStream &m_out;
    const Checkpoint &m_checkpoint;
    const PreparedInput &m_input;
    bool m_rollout = false;
    bool m_flow = false;
    bool m_valueWeighted = false;
    bool m_excludeSpecial = false;
    int m_predict = 0;
    std::vector<bool> m_keep;                   // per token: not special (with m_excludeSpecial)
    std::vector<Matrix> m_rollouts;             // (T, T) per layer written so far
    std::vector<Eigen::MatrixXd> m_mixed;       // Â per layer written so far, for the flow (T, T)
    std::vector<std::vector<Matrix>> m_values;  // [layer][head] value-weighted (T, T)
};

// "next_tokens": [{id, token, display, logit, prob}] of the trace's last position, best first.
void writeNextTokens(JsonStream &out, const Checkpoint &checkpoint, const ModelTrace &trace, int k);

// "rollout": [layer][T×T] as a member of the object being written.
void writeRollout(JsonStream &out, const std::vector<Matrix> &rollout);

// A matrix as the member name: [[row], ...], with the trace's spelling of non-finite numbers.
void writeTraceMatrix(JsonStream &out, const QString &name, const Matrix &m, bool maskedStage = false);

// The stages of one head as members of the object being written: q, k, v, scores, scaled, masked
// (null where masked), weights, output, entropy.
void writeHeadStages(JsonStream &out, const HeadTrace &head);
// "warnings": one line per tensor holding NaN or ±∞ (nothing when there are none).
void writeNonFiniteWarnings(JsonStream &out, const QStringList &tensors);

} // namespace studio
