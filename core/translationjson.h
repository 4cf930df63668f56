#pragma once

#include "jsonstream.h"
#include "translationcheckpoint.h"

#include <optional>
#include <vector>

namespace studio {

// A translation run as trace JSON: "source" and "target" (the decoder's input: the start token,
// then the target's ids) with their ids and tokens, "generated" for a greedy run, and "encoder",
// "decoder" and "cross", each {"layers": [{"heads": [{"weights": rows}]}]} (cross: target rows ×
// source columns). With stages, every head also carries q, k, v, scores, scaled, masked, output
// and entropy.
struct TranslationTraceOptions {
    bool stages = false;
    std::optional<std::vector<int>> generated; // the greedy ids, with --generate
    QString stopReason;                        // why generation stopped early, if it did
    double temperature = 1.0;
};
void writeTranslationTrace(JsonStream &out, const TranslationCheckpoint &checkpoint, const PreparedTranslation &prepared,
                           const TranslationTrace &trace, const TranslationTraceOptions &options);

} // namespace studio
