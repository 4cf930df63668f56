#include "translationcheckpoint.h"

#include "checkpoint.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonArray>

namespace studio {

bool isTranslationFolder(const QString &directory)
{
    const Result<QJsonObject> config = readModelConfig(directory);
    return config && isEncoderDecoderConfig(*config.value);
}

Result<std::shared_ptr<TranslationCheckpoint>> openTranslationCheckpoint(const QString &directory)
{
    using R = Result<std::shared_ptr<TranslationCheckpoint>>;
    Result<QJsonObject> json = readModelConfig(directory);
    if (!json)
        return R::failure(json.error);
    const QDir dir(directory);
    auto checkpoint = std::make_shared<TranslationCheckpoint>();
    checkpoint->directory = dir.absolutePath();
    checkpoint->name = modelFolderName(dir);
    // generate() reads its start, end and banned tokens from generation_config.json where there is one.
    if (dir.exists(QStringLiteral("generation_config.json"))) {
        const Result<QJsonObject> generation = readJsonObject(dir.filePath(QStringLiteral("generation_config.json")));
        if (!generation)
            return R::failure(generation.error);
        for (const QString &key : {QStringLiteral("decoder_start_token_id"), QStringLiteral("eos_token_id"), QStringLiteral("bad_words_ids")})
            if (generation.value->contains(key))
                json.value->insert(key, generation.value->value(key));
    }
    const Result<TranslationConfig> config = parseTranslationConfig(*json.value);
    if (!config)
        return R::failure(config.error);
    checkpoint->config = *config.value;
    Result<std::shared_ptr<const TranslationModel>> model = openModelWeights<TranslationModel>(directory, checkpoint->config, &checkpoint->weightBytes);
    if (!model)
        return R::failure(model.error);
    checkpoint->model = *model.value;
    Result<std::shared_ptr<TranslationTokenizer>> tokenizer = Result<std::shared_ptr<TranslationTokenizer>>::failure({});
    if (checkpoint->config.t5()) {
        Result<std::shared_ptr<T5Tokenizer>> t5 = T5Tokenizer::fromFolder(directory);
        tokenizer = t5 ? Result<std::shared_ptr<TranslationTokenizer>>{*t5.value, {}} : Result<std::shared_ptr<TranslationTokenizer>>::failure(t5.error);
    } else {
        Result<std::shared_ptr<MarianTokenizer>> marian = MarianTokenizer::fromFolder(directory);
        tokenizer = marian ? Result<std::shared_ptr<TranslationTokenizer>>{*marian.value, {}}
                           : Result<std::shared_ptr<TranslationTokenizer>>::failure(marian.error);
    }
    if (!tokenizer)
        return R::failure(tokenizer.error);
    if ((*tokenizer.value)->sourceVocabularySize() > checkpoint->config.vocabSize)
        return R::failure(QStringLiteral("vocab.json holds %1 tokens, more than the model's %2").arg((*tokenizer.value)->sourceVocabularySize()).arg(checkpoint->config.vocabSize));
    checkpoint->tokenizer = *tokenizer.value;
    return {checkpoint, {}};
}

namespace {

// The decoder's input [start] + ids, with its spellings, cut to the model's positions.
void setDecoderInput(const TranslationCheckpoint &checkpoint, const std::vector<int> &ids, const QStringList &pieces, PreparedTranslation &prepared)
{
    const int start = checkpoint.config.decoderStartId;
    prepared.input.decoderIds = {start};
    prepared.decoderTokens = {checkpoint.tokenizer->targetTokenForId(start)};
    prepared.decoderPieces = prepared.decoderTokens;
    const int room = checkpoint.config.maxPositions - 1;
    if (int(ids.size()) > room)
        prepared.truncatedFrom = std::max(prepared.truncatedFrom, int(ids.size()) + 1);
    for (size_t i = 0; i < ids.size() && int(i) < room; ++i) {
        prepared.input.decoderIds.push_back(ids[i]);
        QString token = checkpoint.tokenizer->targetTokenForId(ids[i]);
        prepared.decoderTokens.append(token.isEmpty() ? QStringLiteral("<%1>").arg(ids[i]) : token);
        prepared.decoderPieces.append(i < size_t(pieces.size()) ? pieces.at(qsizetype(i)) : prepared.decoderTokens.last());
    }
}

Result<PreparedTranslation> prepareSource(const TranslationCheckpoint &checkpoint, const QString &source)
{
    using R = Result<PreparedTranslation>;
    Result<Encoding> encoded = checkpoint.tokenizer->encode(source);
    if (!encoded)
        return R::failure(encoded.error);
    PreparedTranslation prepared;
    prepared.source = std::move(*encoded.value);
    const int limit = checkpoint.config.maxPositions;
    if (int(prepared.source.ids.size()) > limit) {
        // The first positions the model has, and the end token the encoder expects last.
        prepared.truncatedFrom = int(prepared.source.ids.size());
        prepared.source.ids.resize(size_t(limit));
        prepared.source.tokens.resize(limit);
        prepared.source.tokenTypes.resize(size_t(limit));
        prepared.source.ids.back() = checkpoint.tokenizer->eosId();
        prepared.source.tokens.last() = checkpoint.tokenizer->tokenForId(checkpoint.tokenizer->eosId());
    }
    prepared.input.sourceIds = prepared.source.ids;
    return {std::move(prepared), {}};
}

} // namespace

Result<PreparedTranslation> prepareTranslation(const TranslationCheckpoint &checkpoint, const QString &source, const QString &target)
{
    using R = Result<PreparedTranslation>;
    Result<PreparedTranslation> prepared = prepareSource(checkpoint, source);
    if (!prepared)
        return prepared;
    if (!target.isEmpty()) {
        Result<Encoding> encoded = checkpoint.tokenizer->encodeTarget(target);
        if (!encoded)
            return R::failure(encoded.error);
        prepared.value->targetIds = encoded.value->ids;
        prepared.value->targetPieces = encoded.value->tokens;
    }
    setDecoderInput(checkpoint, prepared.value->targetIds, prepared.value->targetPieces, *prepared.value);
    if (const Status valid = checkpoint.model->validate(prepared.value->input); !valid)
        return R::failure(valid.error);
    return prepared;
}

Result<PreparedTranslation> prepareTranslationIds(const TranslationCheckpoint &checkpoint, const QString &source, const std::vector<int> &generated)
{
    using R = Result<PreparedTranslation>;
    Result<PreparedTranslation> prepared = prepareSource(checkpoint, source);
    if (!prepared)
        return prepared;
    prepared.value->targetIds = generated;
    for (int id : generated)
        prepared.value->targetPieces.append(checkpoint.tokenizer->targetTokenForId(id));
    setDecoderInput(checkpoint, generated, prepared.value->targetPieces, *prepared.value);
    if (const Status valid = checkpoint.model->validate(prepared.value->input); !valid)
        return R::failure(valid.error);
    return prepared;
}

Result<GreedyTranslation> translateGreedy(const TranslationCheckpoint &checkpoint, const QString &source, int steps, bool stopAtEnd,
                                          const std::atomic<bool> *cancel, const std::function<void(int, const GreedyTranslation &)> &stepDone)
{
    using R = Result<GreedyTranslation>;
    GreedyTranslation result;
    TranslationTrace encoded;
    for (int step = 0; step < steps; ++step) {
        if (step + 1 >= checkpoint.config.maxPositions) {
            result.stopReason = QStringLiteral("the model has no more positions (%1)").arg(checkpoint.config.maxPositions);
            break;
        }
        const Result<PreparedTranslation> prepared = prepareTranslationIds(checkpoint, source, result.ids);
        if (!prepared)
            return R::failure(prepared.error);
        TranslationTrace trace = checkpoint.model->forward(prepared.value->input, 2, cancel, step > 0 ? &encoded : nullptr);
        if (trace.cancelled)
            return R::failure(QStringLiteral("cancelled"));
        if (step == 0)
            encoded = trace;
        const GreedyStep choice = checkpoint.model->greedyChoice(checkpoint.model->logits(trace.decoderOutput.row(trace.decoderOutput.rows() - 1)));
        if (choice.id < 0) {
            result.stopReason = QStringLiteral("the logits are not numbers (the weights hold NaN)");
            break;
        }
        result.ids.push_back(choice.id);
        result.topLogits.push_back(choice.logit);
        if (stepDone)
            stepDone(step, result);
        if (choice.id == checkpoint.config.eosId) {
            result.endStep = step;
            if (stopAtEnd) {
                result.stopReason = QStringLiteral("the model ended the sentence");
                break;
            }
        }
    }
    return {std::move(result), {}};
}

} // namespace studio
