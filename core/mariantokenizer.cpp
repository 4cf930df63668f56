#include "mariantokenizer.h"

#include "regularfile.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>

#include <sentencepiece_processor.h>

#include <algorithm>
#include <functional>

namespace studio {

namespace {

const QString kMetaspace = QStringLiteral("\u2581"); // ▁

Result<QHash<QString, int>> readVocabulary(const QString &path)
{
    using R = Result<QHash<QString, int>>;
    const Result<QByteArray> bytes = readRegularFile(path, kMaxTokenizerBytes);
    if (!bytes)
        return R::failure(bytes.error);
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(*bytes.value, &error);
    const QString name = QFileInfo(path).fileName();
    if (error.error != QJsonParseError::NoError)
        return R::failure(QStringLiteral("%1 is not valid JSON: %2 at byte %3").arg(name, error.errorString()).arg(error.offset));
    if (!document.isObject())
        return R::failure(QStringLiteral("%1 does not hold a JSON object of pieces and ids").arg(name));
    QHash<QString, int> vocab;
    const QJsonObject object = document.object();
    for (auto it = object.begin(); it != object.end(); ++it) {
        const double id = it.value().toDouble(-1);
        if (!it.value().isDouble() || id < 0 || id > 1e9 || id != double(int(id)))
            return R::failure(QStringLiteral("%1: \"%2\" has no valid id").arg(name, it.key()));
        vocab.insert(it.key(), int(id));
    }
    if (vocab.isEmpty())
        return R::failure(QStringLiteral("%1 is empty").arg(name));
    return {std::move(vocab), {}};
}

// A token's spelling in tokenizer_config.json: a string, or an object with "content".
QString tokenSpelling(const QJsonValue &value, const QString &fallback)
{
    if (value.isString())
        return value.toString();
    if (value.isObject())
        return value.toObject().value(QStringLiteral("content")).toString(fallback);
    return fallback;
}

// tokenizer_config.json, if the folder has one (empty otherwise).
Result<QJsonObject> readTokenizerConfig(const QDir &dir)
{
    if (!dir.exists(QStringLiteral("tokenizer_config.json")))
        return {QJsonObject(), {}};
    const Result<QByteArray> bytes = readRegularFile(dir.filePath(QStringLiteral("tokenizer_config.json")), kMaxConfigBytes);
    if (!bytes)
        return Result<QJsonObject>::failure(bytes.error);
    const QJsonDocument document = QJsonDocument::fromJson(*bytes.value);
    if (!document.isObject())
        return Result<QJsonObject>::failure(QStringLiteral("tokenizer_config.json does not hold a JSON object"));
    return {document.object(), {}};
}

// A SentencePiece model file, read by us (regular files only, bounded) and parsed by the library.
Status loadSentencePiece(const QDir &dir, const QString &name, sentencepiece::SentencePieceProcessor &processor, const QString &what)
{
    if (!dir.exists(name))
        return Status::failure(QStringLiteral("no tokenizer: the folder needs %1 (%2)").arg(name, what));
    const Result<QByteArray> bytes = readRegularFile(dir.filePath(name), kMaxTokenizerBytes);
    if (!bytes)
        return Status::failure(bytes.error);
    const sentencepiece::util::Status loaded = processor.LoadFromSerializedProto(std::string_view(bytes.value->constData(), size_t(bytes.value->size())));
    if (!loaded.ok())
        return Status::failure(QStringLiteral("%1 is not a SentencePiece model: %2").arg(name, QString::fromStdString(loaded.ToString())));
    return Status::success();
}

// The text in order: the special tokens written in it (leftmost first, the longest at one place;
// specials must be sorted longest first) to special(), what lies between them to chunk().
Status splitOnSpecialTokens(const QString &text, const QStringList &specials, const std::function<Status(const QString &)> &chunk,
                            const std::function<void(const QString &)> &special)
{
    qsizetype at = 0;
    while (at <= text.size()) {
        qsizetype next = -1;
        QString found;
        for (const QString &candidate : specials) {
            const qsizetype index = text.indexOf(candidate, at);
            if (index >= 0 && (next < 0 || index < next)) {
                next = index;
                found = candidate;
            }
        }
        if (const QString part = text.mid(at, next < 0 ? -1 : next - at); !part.isEmpty())
            if (const Status done = chunk(part); !done)
                return done;
        if (next < 0)
            break;
        special(found);
        at = next + found.size();
    }
    return Status::success();
}

// SentencePiece's pieces of a text.
Result<std::vector<std::string>> sentencePieces(const sentencepiece::SentencePieceProcessor &processor, const QString &text)
{
    std::vector<std::string> pieces;
    const QByteArray utf8 = text.toUtf8();
    const sentencepiece::util::Status encoded = processor.Encode(std::string_view(utf8.constData(), size_t(utf8.size())), &pieces);
    if (!encoded.ok())
        return Result<std::vector<std::string>>::failure(QStringLiteral("SentencePiece could not split the text: %1").arg(QString::fromStdString(encoded.ToString())));
    return {std::move(pieces), {}};
}

} // namespace

QString TranslationTokenizer::displayToken(const QString &token) const
{
    if (m_specialTokens.contains(token))
        return token;
    QString shown = token;
    return shown.replace(kMetaspace, QStringLiteral("\u2423")); // ␣
}

QByteArray TranslationTokenizer::tokenText(const QString &token) const
{
    if (m_specialTokens.contains(token))
        return token.toUtf8();
    QString text = token;
    return text.replace(kMetaspace, QStringLiteral(" ")).toUtf8();
}

struct MarianTokenizer::Processors {
    sentencepiece::SentencePieceProcessor source;
    sentencepiece::SentencePieceProcessor target;
};

MarianTokenizer::MarianTokenizer() : m_processors(std::make_unique<Processors>()) {}
MarianTokenizer::~MarianTokenizer() = default;

Result<std::shared_ptr<MarianTokenizer>> MarianTokenizer::fromFolder(const QString &directory)
{
    using R = Result<std::shared_ptr<MarianTokenizer>>;
    const QDir dir(directory);
    std::shared_ptr<MarianTokenizer> tokenizer(new MarianTokenizer);
    const Result<QJsonObject> read = readTokenizerConfig(dir);
    if (!read)
        return R::failure(read.error);
    const QJsonObject &config = *read.value;
    tokenizer->m_separate = config.value(QStringLiteral("separate_vocabs")).toBool(false);
    tokenizer->m_eos = tokenSpelling(config.value(QStringLiteral("eos_token")), tokenizer->m_eos);
    tokenizer->m_unknown = tokenSpelling(config.value(QStringLiteral("unk_token")), tokenizer->m_unknown);
    tokenizer->m_pad = tokenSpelling(config.value(QStringLiteral("pad_token")), tokenizer->m_pad);

    for (const auto &[name, processor] : {std::pair{QStringLiteral("source.spm"), &tokenizer->m_processors->source},
                                          std::pair{QStringLiteral("target.spm"), &tokenizer->m_processors->target}})
        if (const Status loaded = loadSentencePiece(dir, name, *processor, QStringLiteral("Marian's SentencePiece models")); !loaded)
            return R::failure(loaded.error);

    const QString vocabName = QStringLiteral("vocab.json");
    if (!dir.exists(vocabName))
        return R::failure(QStringLiteral("no tokenizer: the folder needs vocab.json"));
    Result<QHash<QString, int>> vocab = readVocabulary(dir.filePath(vocabName));
    if (!vocab)
        return R::failure(vocab.error);
    tokenizer->m_sourceVocab = std::move(*vocab.value);
    if (tokenizer->m_separate) {
        const QString targetName = QStringLiteral("target_vocab.json");
        if (!dir.exists(targetName))
            return R::failure(QStringLiteral("tokenizer_config.json says the vocabularies are separate, but there is no target_vocab.json"));
        Result<QHash<QString, int>> target = readVocabulary(dir.filePath(targetName));
        if (!target)
            return R::failure(target.error);
        tokenizer->m_targetVocab = std::move(*target.value);
    }
    for (const QHash<QString, int> *v : {&tokenizer->m_sourceVocab, tokenizer->m_separate ? &tokenizer->m_targetVocab : nullptr}) {
        if (!v)
            continue;
        if (!v->contains(tokenizer->m_unknown))
            return R::failure(QStringLiteral("the vocabulary has no unknown token \"%1\"").arg(tokenizer->m_unknown));
        if (!v->contains(tokenizer->m_eos))
            return R::failure(QStringLiteral("the vocabulary has no end token \"%1\"").arg(tokenizer->m_eos));
    }
    tokenizer->m_eosId = tokenizer->m_sourceVocab.value(tokenizer->m_eos);
    tokenizer->m_unknownId = tokenizer->m_sourceVocab.value(tokenizer->m_unknown);
    tokenizer->indexVocabulary(tokenizer->m_sourceVocab);
    const QHash<QString, int> &targetVocab = tokenizer->m_separate ? tokenizer->m_targetVocab : tokenizer->m_sourceVocab;
    for (auto it = targetVocab.cbegin(); it != targetVocab.cend(); ++it)
        if (!tokenizer->m_targetById.contains(it.value()))
            tokenizer->m_targetById.insert(it.value(), it.key());

    // The special tokens are split out of the text before SentencePiece sees it (as transformers'
    // slow tokenizers split their added tokens out), longest first.
    QStringList special{tokenizer->m_eos, tokenizer->m_unknown, tokenizer->m_pad};
    const QJsonObject added = config.value(QStringLiteral("added_tokens_decoder")).toObject();
    for (auto it = added.begin(); it != added.end(); ++it)
        if (const QString content = it.value().toObject().value(QStringLiteral("content")).toString(); !content.isEmpty())
            special.append(content);
    special.removeAll(QString());
    special.removeDuplicates();
    std::sort(special.begin(), special.end(), [](const QString &a, const QString &b) { return a.size() > b.size(); });
    tokenizer->m_specialTokens = special;
    return {tokenizer, {}};
}

Result<Encoding> MarianTokenizer::encode(const QString &text, const QString &pair, const std::atomic<bool> *cancel) const
{
    if (!pair.isEmpty())
        return Result<Encoding>::failure(QStringLiteral("a translation model takes the target as its own text, not as a second sentence"));
    if (cancelRequested(cancel))
        return Result<Encoding>::failure(cancelledMessage());
    return encodeWith(text, false);
}

Result<Encoding> MarianTokenizer::encodeTarget(const QString &text) const
{
    return encodeWith(text, true);
}

Result<Encoding> MarianTokenizer::encodeWith(const QString &text, bool target) const
{
    const sentencepiece::SentencePieceProcessor &processor = target ? m_processors->target : m_processors->source;
    const QHash<QString, int> &vocab = target && m_separate ? m_targetVocab : m_sourceVocab;
    const int unknown = vocab.value(m_unknown);
    Encoding encoding;
    const auto append = [&](const QString &piece) {
        encoding.tokens.append(piece);
        encoding.ids.push_back(vocab.value(piece, unknown));
        encoding.tokenTypes.push_back(0);
    };
    // A chunk between special tokens: a leading language code ">>xx<<" kept whole, the rest to SentencePiece.
    const auto appendChunk = [&](QString chunk) -> Status {
        if (chunk.startsWith(QStringLiteral(">>"))) {
            if (const qsizetype end = chunk.indexOf(QStringLiteral("<<")); end >= 0) {
                append(chunk.left(end + 2));
                chunk = chunk.mid(end + 2);
            }
        }
        const Result<std::vector<std::string>> pieces = sentencePieces(processor, chunk);
        if (!pieces)
            return Status::failure(pieces.error);
        for (const std::string &piece : *pieces.value)
            append(QString::fromStdString(piece));
        return Status::success();
    };
    if (const Status split = splitOnSpecialTokens(text, m_specialTokens, appendChunk, append); !split)
        return Result<Encoding>::failure(split.error);
    append(m_eos);
    return {std::move(encoding), {}};
}

bool MarianTokenizer::isSpecial(const QString &token) const
{
    return token == m_eos || token == m_pad || token == m_unknown;
}

QString MarianTokenizer::targetTokenForId(int id) const
{
    return m_targetById.value(id);
}

struct T5Tokenizer::Processor {
    sentencepiece::SentencePieceProcessor model;
};

T5Tokenizer::T5Tokenizer() : m_processor(std::make_unique<Processor>()) {}
T5Tokenizer::~T5Tokenizer() = default;

Result<std::shared_ptr<T5Tokenizer>> T5Tokenizer::fromFolder(const QString &directory)
{
    using R = Result<std::shared_ptr<T5Tokenizer>>;
    const QDir dir(directory);
    std::shared_ptr<T5Tokenizer> tokenizer(new T5Tokenizer);
    const Result<QJsonObject> read = readTokenizerConfig(dir);
    if (!read)
        return R::failure(read.error);
    const QJsonObject &config = *read.value;
    if (config.value(QStringLiteral("legacy")).isBool() && !config.value(QStringLiteral("legacy")).toBool())
        return R::failure(QStringLiteral("tokenizer_config.json: T5's non-legacy tokenization (\"legacy\": false) is not supported"));
    if (const Status loaded = loadSentencePiece(dir, QStringLiteral("spiece.model"), tokenizer->m_processor->model, QStringLiteral("T5's SentencePiece model"));
        !loaded)
        return R::failure(loaded.error);
    tokenizer->m_pieces = tokenizer->m_processor->model.GetPieceSize();
    tokenizer->m_extraIds = std::clamp(config.value(QStringLiteral("extra_ids")).toInt(100), 0, 100000);
    tokenizer->m_size = tokenizer->m_pieces + tokenizer->m_extraIds;
    QHash<QString, int> vocab;
    for (int id = 0; id < tokenizer->m_pieces; ++id)
        vocab.insert(QString::fromStdString(tokenizer->m_processor->model.IdToPiece(id)), id);
    QStringList special;
    for (int n = 0; n < tokenizer->m_extraIds; ++n) {
        const QString extra = QStringLiteral("<extra_id_%1>").arg(n);
        vocab.insert(extra, tokenizer->m_size - 1 - n);
        special.append(extra);
    }
    tokenizer->indexVocabulary(vocab);
    const QString eos = tokenSpelling(config.value(QStringLiteral("eos_token")), QStringLiteral("</s>"));
    tokenizer->m_eosId = tokenizer->idOf(eos);
    special.append({eos, tokenSpelling(config.value(QStringLiteral("unk_token")), QStringLiteral("<unk>")),
                    tokenSpelling(config.value(QStringLiteral("pad_token")), QStringLiteral("<pad>"))});
    special.removeDuplicates();
    std::sort(special.begin(), special.end(), [](const QString &a, const QString &b) { return a.size() > b.size(); });
    tokenizer->m_specialTokens = special;
    return {tokenizer, {}};
}

int T5Tokenizer::idOf(const QString &piece) const
{
    static const QRegularExpression extra(QStringLiteral("^<extra_id_(\\d+)>$"));
    if (const QRegularExpressionMatch match = extra.match(piece); match.hasMatch()) {
        const int n = match.captured(1).toInt();
        if (n >= 0 && n < m_extraIds)
            return m_size - 1 - n;
    }
    // SentencePiece's own id (its unknown piece's for anything it does not hold).
    return m_processor->model.PieceToId(piece.toStdString());
}

Result<Encoding> T5Tokenizer::encode(const QString &text, const QString &pair, const std::atomic<bool> *cancel) const
{
    if (!pair.isEmpty())
        return Result<Encoding>::failure(QStringLiteral("a translation model takes the target as its own text, not as a second sentence"));
    if (cancelRequested(cancel))
        return Result<Encoding>::failure(cancelledMessage());
    return encodeText(text);
}

Result<Encoding> T5Tokenizer::encodeText(const QString &text) const
{
    Encoding encoding;
    const auto append = [&](const QString &piece) {
        encoding.tokens.append(piece);
        encoding.ids.push_back(idOf(piece));
        encoding.tokenTypes.push_back(0);
    };
    const auto appendChunk = [&](const QString &chunk) -> Status {
        const Result<std::vector<std::string>> pieces = sentencePieces(m_processor->model, chunk);
        if (!pieces)
            return Status::failure(pieces.error);
        for (const std::string &piece : *pieces.value)
            append(QString::fromStdString(piece));
        return Status::success();
    };
    if (const Status split = splitOnSpecialTokens(text, m_specialTokens, appendChunk, append); !split)
        return Result<Encoding>::failure(split.error);
    append(tokenForId(m_eosId));
    return {std::move(encoding), {}};
}

bool T5Tokenizer::isSpecial(const QString &token) const
{
    return m_specialTokens.contains(token) && !token.startsWith(QStringLiteral("<extra_id_"));
}

} // namespace studio
