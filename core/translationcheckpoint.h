#pragma once

#include "mariantokenizer.h"
#include "translationmodel.h"

#include <QString>
#include <QStringList>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>

namespace studio {

// A translation (encoder–decoder) model folder, opened: config, memory-mapped weights, tokenizer.
struct TranslationCheckpoint {
    QString directory;
    QString name;
    TranslationConfig config;
    std::shared_ptr<const TranslationModel> model;
    std::shared_ptr<const TranslationTokenizer> tokenizer;
    qint64 weightBytes = 0;
};

// Whether a folder's config.json describes an encoder–decoder model (false when it cannot be read:
// opening it as a checkpoint then says why).
bool isTranslationFolder(const QString &directory);
// Opens config.json (with generation_config.json's start, end and banned tokens where present),
// the weights and Marian's tokenizer; every problem is a message naming the file.
Result<std::shared_ptr<TranslationCheckpoint>> openTranslationCheckpoint(const QString &directory);

// A source and a target made ready for the model.
struct PreparedTranslation {
    Encoding source;            // the source pieces and ids, </s> included
    std::vector<int> targetIds; // the target's own ids, </s> included (empty for no target)
    QStringList targetPieces;
    QStringList decoderTokens;  // the decoder input as the vocabulary spells it: [start] + target
    QStringList decoderPieces;  // the same with the target's own pieces (a piece unknown to the vocabulary as typed)
    TranslationInput input;
    int truncatedFrom = 0;      // the source's or target's length before it was cut to the positions
};
// Teacher forcing: the decoder reads [decoder start] + the target's ids. An empty target gives the
// start token alone (what Translate begins from).
Result<PreparedTranslation> prepareTranslation(const TranslationCheckpoint &checkpoint, const QString &source, const QString &target);
// The same with the decoder's ids given (generated): [start] + ids.
Result<PreparedTranslation> prepareTranslationIds(const TranslationCheckpoint &checkpoint, const QString &source, const std::vector<int> &generated);

// Greedy translation: each step runs the decoder on [start] + the ids so far and takes the best
// token (banned ids never); stops after `steps` tokens, or at </s> when stopAtEnd (it is kept).
struct GreedyTranslation {
    std::vector<int> ids;
    std::vector<double> topLogits;
    std::optional<int> endStep; // the step that produced </s>
    QString stopReason;         // why it stopped before `steps`, for messages
};
Result<GreedyTranslation> translateGreedy(const TranslationCheckpoint &checkpoint, const QString &source, int steps, bool stopAtEnd,
                                          const std::atomic<bool> *cancel = nullptr,
                                          const std::function<void(int step, const GreedyTranslation &sofar)> &stepDone = {});

} // namespace studio
