#pragma once

#include "attentionresult.h"
#include "figures.h"

#include <memory>

namespace studio {

// What a figure is drawn from: a run's result, the selected head with every stage, and the
// caption's context. Built from either kind of model, outside the window (command line, handouts).
struct FigureSource {
    AttentionResult result;
    HeadDetails details;
    FigureContext context;
};

// The teaching model on a workspace; head must exist, the text must have a token.
Result<FigureSource> teachingFigureSource(const Workspace &workspace, int head);
// A checkpoint on a text (and BERT's second sentence); layer and head must exist.
Result<FigureSource> checkpointFigureSource(const std::shared_ptr<const Checkpoint> &checkpoint, const QString &text,
                                            const QString &pair, int layer, int head, int threads = 2);

// A translation model on a source and a target (teacher forcing): one kind of its attention, whose
// layer and head must exist.
Result<FigureSource> translationFigureSource(const std::shared_ptr<const TranslationCheckpoint> &checkpoint, const QString &source,
                                             const QString &target, AttentionKind kind, int layer, int head, int threads = 2);

} // namespace studio
