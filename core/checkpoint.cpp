#include "checkpoint.h"

#include "hubcache.h"
#include "regularfile.h"
#include "translationmodel.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSet>

namespace studio {

Result<QJsonObject> readJsonObject(const QString &path)
{
    using R = Result<QJsonObject>;
    const Result<QByteArray> bytes = readRegularFile(path, kMaxConfigBytes);
    if (!bytes)
        return R::failure(bytes.error);
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(*bytes.value, &error);
    if (error.error != QJsonParseError::NoError)
        return R::failure(QStringLiteral("%1 is not valid JSON: %2 at byte %3").arg(QFileInfo(path).fileName(), error.errorString()).arg(error.offset));
    if (!document.isObject())
        return R::failure(QStringLiteral("%1 does not hold a JSON object").arg(QFileInfo(path).fileName()));
    return {document.object(), {}};
}

namespace {

Result<std::shared_ptr<ModelTokenizer>> openTokenizer(const QDir &dir, Architecture architecture)
{
    // Each family's tokenizer files. A new family adds its case here.
    using R = Result<std::shared_ptr<ModelTokenizer>>;
    auto lift = [](auto result) -> R {
        if (!result)
            return R::failure(result.error);
        return {std::shared_ptr<ModelTokenizer>(*result.value), {}};
    };
    switch (architecture) {
    case Architecture::Gpt2:
        if (dir.exists(QStringLiteral("vocab.json")) && dir.exists(QStringLiteral("merges.txt"))) {
            Result<std::shared_ptr<BpeTokenizer>> bpe = BpeTokenizer::fromFiles(dir.filePath(QStringLiteral("vocab.json")), dir.filePath(QStringLiteral("merges.txt")));
            if (bpe) {
                // GPT2Tokenizer: unknown pieces become unk_token, "<|endoftext|>" unless the config names another.
                QString unknown = QStringLiteral("<|endoftext|>");
                if (dir.exists(QStringLiteral("tokenizer_config.json"))) {
                    const Result<QJsonObject> config = readJsonObject(dir.filePath(QStringLiteral("tokenizer_config.json")));
                    if (!config)
                        return R::failure(config.error);
                    const QJsonValue unk = config.value->value(QStringLiteral("unk_token"));
                    if (unk.isString())
                        unknown = unk.toString();
                    else if (unk.isObject())
                        unknown = unk.toObject().value(QStringLiteral("content")).toString();
                }
                (*bpe.value)->setUnknownToken(unknown);
            }
            return lift(std::move(bpe));
        }
        if (dir.exists(QStringLiteral("tokenizer.json")))
            return lift(BpeTokenizer::fromTokenizerJson(dir.filePath(QStringLiteral("tokenizer.json"))));
        return R::failure(QStringLiteral("no tokenizer: the folder needs vocab.json and merges.txt, or tokenizer.json"));
    case Architecture::Bert:
        if (dir.exists(QStringLiteral("vocab.txt")))
            return lift(WordPieceTokenizer::fromFiles(dir.filePath(QStringLiteral("vocab.txt")), dir.filePath(QStringLiteral("tokenizer_config.json"))));
        return R::failure(QStringLiteral("no tokenizer: the folder needs vocab.txt"));
    case Architecture::Llama:
    case Architecture::Mistral:
    case Architecture::Qwen2:
        if (dir.exists(QStringLiteral("tokenizer.json"))) {
            // Byte-level BPE (Llama 3, Qwen2) or SentencePiece-style BPE (Llama 2, Mistral): the file says which.
            const Result<QByteArray> bytes = readRegularFile(dir.filePath(QStringLiteral("tokenizer.json")), kMaxTokenizerBytes);
            if (!bytes)
                return R::failure(bytes.error);
            const QJsonObject json = QJsonDocument::fromJson(*bytes.value).object();
            if (BpeTokenizer::isByteLevel(json))
                return lift(BpeTokenizer::fromTokenizerJsonBytes(*bytes.value));
            Result<std::shared_ptr<SentencePieceBpeTokenizer>> sentencePiece = SentencePieceBpeTokenizer::fromBytes(*bytes.value);
            if (sentencePiece && dir.exists(QStringLiteral("tokenizer_config.json"))) {
                const Result<QJsonObject> config = readJsonObject(dir.filePath(QStringLiteral("tokenizer_config.json")));
                if (!config)
                    return R::failure(config.error);
                if (const Status applied = (*sentencePiece.value)->applyTokenizerConfig(*config.value); !applied)
                    return R::failure(applied.error);
            }
            return lift(std::move(sentencePiece));
        }
        if (dir.exists(QStringLiteral("tokenizer.model")))
            return R::failure(QStringLiteral("no tokenizer.json: only tokenizer.model (a SentencePiece file) is there, and "
                                             "Attention Studio reads tokenizer.json (any recent Hugging Face copy of the model has it)"));
        return R::failure(QStringLiteral("no tokenizer: the folder needs tokenizer.json"));
    }
    Q_UNREACHABLE();
}

} // namespace

Result<std::vector<std::unique_ptr<SafetensorsFile>>> openWeightFiles(const QString &directory, qint64 *bytes)
{
    using R = Result<std::vector<std::unique_ptr<SafetensorsFile>>>;
    const QDir dir(directory);
    // Weights: one file, or shards listed in the index.
    QStringList weightFiles;
    if (dir.exists(QStringLiteral("model.safetensors"))) {
        weightFiles.append(QStringLiteral("model.safetensors"));
    } else if (dir.exists(QStringLiteral("model.safetensors.index.json"))) {
        const Result<QJsonObject> index = readJsonObject(dir.filePath(QStringLiteral("model.safetensors.index.json")));
        if (!index)
            return R::failure(index.error);
        const QJsonObject weightMap = index.value->value(QStringLiteral("weight_map")).toObject();
        if (weightMap.isEmpty())
            return R::failure(QStringLiteral("model.safetensors.index.json has no weight_map"));
        QSet<QString> seen;
        for (auto it = weightMap.begin(); it != weightMap.end(); ++it) {
            const QString shard = it.value().toString();
            if (shard.isEmpty() || shard.contains(QLatin1Char('/')) || shard.contains(QLatin1Char('\\')))
                return R::failure(QStringLiteral("model.safetensors.index.json: \"%1\" maps to an invalid file name").arg(it.key()));
            if (!seen.contains(shard)) {
                seen.insert(shard);
                weightFiles.append(shard);
            }
        }
        weightFiles.sort();
    } else if (dir.exists(QStringLiteral("pytorch_model.bin"))) {
        return R::failure(QStringLiteral("only pytorch_model.bin is there: Attention Studio reads model.safetensors (convert the model with the safetensors tools)"));
    } else {
        return R::failure(QStringLiteral("%1 has no model.safetensors").arg(directory));
    }

    std::vector<std::unique_ptr<SafetensorsFile>> files;
    *bytes = 0;
    for (const QString &name : weightFiles) {
        Result<std::unique_ptr<SafetensorsFile>> file = SafetensorsFile::open(dir.filePath(name));
        if (!file)
            return R::failure(file.error);
        *bytes += (*file.value)->fileSize();
        files.push_back(std::move(*file.value));
    }
    return {std::move(files), {}};
}

QString modelFolderName(const QDir &dir)
{
    // <hub>/models--org--name/snapshots/<hash>
    const QString path = dir.absolutePath();
    const QStringList parts = path.split(QLatin1Char('/'));
    if (parts.size() >= 3 && parts.at(parts.size() - 2) == QStringLiteral("snapshots")
        && parts.at(parts.size() - 3).startsWith(QStringLiteral("models--")))
        return parts.at(parts.size() - 3).mid(8).replace(QStringLiteral("--"), QStringLiteral("/"));
    return dir.dirName();
}

QStringList weightFileNames(const std::vector<std::unique_ptr<SafetensorsFile>> &files)
{
    QStringList names;
    for (const std::unique_ptr<SafetensorsFile> &file : files)
        names.append(QFileInfo(file->path()).fileName());
    return names;
}

Result<QJsonObject> readModelConfig(const QString &directory)
{
    const QDir dir(directory);
    if (!QFileInfo(directory).isDir())
        return Result<QJsonObject>::failure(QStringLiteral("%1 is not a folder").arg(directory));
    if (!dir.exists(QStringLiteral("config.json")))
        return Result<QJsonObject>::failure(QStringLiteral("%1 has no config.json: not a Hugging Face model folder").arg(directory));
    return readJsonObject(dir.filePath(QStringLiteral("config.json")));
}

Result<std::shared_ptr<Checkpoint>> openCheckpoint(const QString &directory)
{
    using R = Result<std::shared_ptr<Checkpoint>>;
    const QDir dir(directory);
    auto checkpoint = std::make_shared<Checkpoint>();
    checkpoint->directory = dir.absolutePath();
    checkpoint->name = modelFolderName(dir);

    const Result<QJsonObject> configJson = readModelConfig(directory);
    if (!configJson)
        return R::failure(configJson.error);
    if (isEncoderDecoderConfig(*configJson.value)) {
        const Result<TranslationConfig> translation = parseTranslationConfig(*configJson.value);
        return R::failure(translation ? QStringLiteral("%1 is a translation (encoder–decoder) model: this takes single-stack models "
                                                       "(GPT-2, BERT, Llama …); trace, export and the window take translation models").arg(checkpoint->name)
                                      : translation.error);
    }
    const Result<ModelConfig> config = parseModelConfig(*configJson.value);
    if (!config)
        return R::failure(config.error);
    checkpoint->config = *config.value;

    Result<std::shared_ptr<const TransformerModel>> model = openModelWeights<TransformerModel>(directory, checkpoint->config, &checkpoint->weightBytes);
    if (!model)
        return R::failure(model.error);
    checkpoint->model = *model.value;

    Result<std::shared_ptr<ModelTokenizer>> tokenizer = openTokenizer(dir, checkpoint->config.architecture);
    if (!tokenizer)
        return R::failure(tokenizer.error);
    checkpoint->tokenizer = *tokenizer.value;
    return {checkpoint, {}};
}

Result<PreparedInput> prepareInput(const Checkpoint &checkpoint, const QString &text, const QString &pair,
                                   const std::atomic<bool> *cancel)
{
    using R = Result<PreparedInput>;
    if (text.trimmed().isEmpty())
        return R::failure(QStringLiteral("the text is empty"));
    if (!pair.isEmpty() && !checkpoint.tokenizer->takesPairs())
        return R::failure(QStringLiteral("%1 takes one text; a second text is for BERT models").arg(checkpoint.name));
    Result<Encoding> encoding = checkpoint.tokenizer->encode(text, pair, cancel);
    if (!encoding)
        return R::failure(encoding.error);
    PreparedInput prepared;
    prepared.encoding = std::move(*encoding.value);
    const int limit = checkpoint.config.maxPositions;
    if (int(prepared.encoding.ids.size()) > limit) {
        // Keep the first positions the model has; never read past its position table.
        prepared.truncatedFrom = int(prepared.encoding.ids.size());
        prepared.encoding.ids.resize(size_t(limit));
        prepared.encoding.tokens.resize(limit);
        prepared.encoding.tokenTypes.resize(size_t(limit));
    }
    if (prepared.encoding.ids.empty())
        return R::failure(QStringLiteral("the text gives no tokens"));
    prepared.forward.ids = prepared.encoding.ids;
    if (checkpoint.config.traits().tokenTypes)
        prepared.forward.tokenTypes = prepared.encoding.tokenTypes;
    if (const Status valid = checkpoint.model->validate(prepared.forward); !valid)
        return R::failure(valid.error);
    return {std::move(prepared), {}};
}

QString defaultHuggingFaceHub()
{
    return HubSettings::fromEnvironment().cache;
}

QList<CachedModel> listCachedModels(const QString &hub)
{
    QList<CachedModel> models;
    const QDir hubDir(hub);
    for (const QString &repo : hubDir.entryList({QStringLiteral("models--*")}, QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name)) {
        const QDir snapshots(hubDir.filePath(repo + QStringLiteral("/snapshots")));
        for (const QString &snapshot : snapshots.entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Time)) {
            const QDir snapshotDir(snapshots.filePath(snapshot));
            if (snapshotDir.exists(QStringLiteral("config.json"))) {
                models.append({repo.mid(8).replace(QStringLiteral("--"), QStringLiteral("/")), snapshotDir.absolutePath()});
                break; // the newest snapshot of each repository
            }
        }
    }
    return models;
}

} // namespace studio
