#pragma once

#include "modeltokenizer.h"
#include "transformer.h"

#include <QDir>
#include <QJsonObject>
#include <QString>

#include <memory>
#include <vector>

namespace studio {

// A Hugging Face model folder, opened: config, memory-mapped weights, tokenizer.
struct Checkpoint {
    QString directory;
    QString name; // folder name, or the repository name for a Hugging Face cache snapshot
    ModelConfig config;
    std::shared_ptr<const TransformerModel> model; // owns the memory-mapped weight files
    std::shared_ptr<ModelTokenizer> tokenizer;
    qint64 weightBytes = 0; // size of the safetensors files
};

// Opens config.json, model.safetensors (or the shards listed in model.safetensors.index.json) and
// the tokenizer files (GPT-2: vocab.json + merges.txt or tokenizer.json; BERT: vocab.txt with
// tokenizer_config.json). Every problem comes back as a message naming the file and what is wrong.
Result<std::shared_ptr<Checkpoint>> openCheckpoint(const QString &directory);

// config.json (or any JSON file of at most kMaxConfigBytes) as an object; a message naming the file otherwise.
Result<QJsonObject> readJsonObject(const QString &path);
// A folder's weights: model.safetensors, or the shards model.safetensors.index.json lists, mapped;
// bytes gets their total size.
Result<std::vector<std::unique_ptr<SafetensorsFile>>> openWeightFiles(const QString &directory, qint64 *bytes);
QStringList weightFileNames(const std::vector<std::unique_ptr<SafetensorsFile>> &files);
// A folder's weights bound to a model (TransformerModel or TranslationModel): a message about a
// single file names it.
template <typename Model, typename Config>
Result<std::shared_ptr<const Model>> openModelWeights(const QString &directory, const Config &config, qint64 *bytes)
{
    using R = Result<std::shared_ptr<const Model>>;
    Result<std::vector<std::unique_ptr<SafetensorsFile>>> files = openWeightFiles(directory, bytes);
    if (!files)
        return R::failure(files.error);
    const QStringList names = weightFileNames(*files.value);
    Result<std::shared_ptr<const Model>> model = Model::bind(config, std::move(*files.value));
    if (!model)
        return R::failure(names.size() == 1 ? QStringLiteral("%1: %2").arg(names.first(), model.error) : model.error);
    return model;
}
// A model folder's config.json: the folder must exist and hold one.
Result<QJsonObject> readModelConfig(const QString &directory);
// The folder's name, or "org/name" for a Hugging Face cache snapshot.
QString modelFolderName(const QDir &dir);

// The model's input for a text (and a second text for BERT), truncated to the model's positions.
struct PreparedInput {
    Encoding encoding;
    ForwardInput forward;
    int truncatedFrom = 0; // the token count before truncation, 0 when nothing was cut
};
// Tokenizes and cuts to the model's positions; a raised cancel flag ends it early with a failure.
Result<PreparedInput> prepareInput(const Checkpoint &checkpoint, const QString &text, const QString &pair = {},
                                   const std::atomic<bool> *cancel = nullptr);

// Model folders in a Hugging Face cache: <hub>/models--ORG--NAME/snapshots/<hash>/ holding a
// config.json. hub defaults to huggingface_hub's cache (HubSettings::fromEnvironment).
struct CachedModel {
    QString name; // "org/name"
    QString directory;
};
QString defaultHuggingFaceHub();
QList<CachedModel> listCachedModels(const QString &hub = defaultHuggingFaceHub());

} // namespace studio
