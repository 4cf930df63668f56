#include "modeltokenizer.h"

#include "bpemerge.h"
#include "regularfile.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <optional>
#include <queue>
#include <vector>

namespace studio {

namespace {

// GPT-2's byte-to-symbol table: printable Latin-1 bytes stand for themselves, the other 68 bytes
// are shifted to U+0100.. so that every byte has a visible, non-space symbol.
struct ByteTable {
    std::array<QChar, 256> symbol{};
    QHash<QChar, uchar> byte;

    ByteTable()
    {
        int next = 0;
        for (int b = 0; b < 256; ++b) {
            const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            symbol[size_t(b)] = printable ? QChar(b) : QChar(256 + next++);
            byte.insert(symbol[size_t(b)], uchar(b));
        }
    }
};

const ByteTable &byteTable()
{
    static const ByteTable table;
    return table;
}

// A token id: a whole number from 0 to 10⁹. A string or a fraction is not one (it must not become 0).
std::optional<int> tokenId(const QJsonValue &value)
{
    const double d = value.toDouble(-1);
    if (!value.isDouble() || d < 0 || d > 1e9 || d != std::floor(d))
        return std::nullopt;
    return int(d);
}

} // namespace

QString BpeTokenizer::bytesToSymbols(const QByteArray &bytes)
{
    QString out;
    out.reserve(bytes.size());
    for (char c : bytes)
        out.append(byteTable().symbol[size_t(uchar(c))]);
    return out;
}

QByteArray BpeTokenizer::symbolsToBytes(const QString &symbols)
{
    QByteArray out;
    for (QChar c : symbols) {
        const auto it = byteTable().byte.constFind(c);
        if (it != byteTable().byte.constEnd())
            out.append(char(it.value()));
    }
    return out;
}

QStringList BpeTokenizer::pretokenize(const QString &text)
{
    // GPT-2's pattern: English contractions, words with an optional leading space, numbers,
    // other symbols, and white space (trailing white space before a word stays separate).
    static const QRegularExpression pattern(
        QStringLiteral(R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)"),
        QRegularExpression::UseUnicodePropertiesOption);
    QStringList pieces;
    auto it = pattern.globalMatch(text);
    while (it.hasNext())
        pieces.append(it.next().captured(0));
    return pieces;
}

Result<std::shared_ptr<BpeTokenizer>> BpeTokenizer::fromData(QHash<QString, int> vocab, const QStringList &merges)
{
    using R = Result<std::shared_ptr<BpeTokenizer>>;
    if (vocab.isEmpty())
        return R::failure(QStringLiteral("the BPE vocabulary is empty"));
    auto tokenizer = std::make_shared<BpeTokenizer>();
    tokenizer->m_vocab = std::move(vocab);
    tokenizer->m_mergeRanks.reserve(merges.size());
    for (qsizetype i = 0; i < merges.size(); ++i) // the first rank of a repeated merge counts
        if (!tokenizer->m_mergeRanks.contains(merges.at(i)))
            tokenizer->m_mergeRanks.insert(merges.at(i), int(i));
    // Vocabulary entries spelled like <|...|> are special: matched whole, never split.
    for (auto it = tokenizer->m_vocab.cbegin(); it != tokenizer->m_vocab.cend(); ++it)
        if (it.key().startsWith(QStringLiteral("<|")) && it.key().endsWith(QStringLiteral("|>")) && it.key().size() > 4)
            tokenizer->m_specialTokens.append(it.key());
    QStringList alternatives = tokenizer->m_specialTokens;
    std::sort(alternatives.begin(), alternatives.end(), [](const QString &a, const QString &b) { return a.size() > b.size(); });
    for (QString &alternative : alternatives)
        alternative = QRegularExpression::escape(alternative);
    tokenizer->m_specialPattern.setPattern(alternatives.join(QLatin1Char('|')));
    tokenizer->indexVocabulary(tokenizer->m_vocab);
    return {tokenizer, {}};
}

Result<std::shared_ptr<BpeTokenizer>> BpeTokenizer::fromFiles(const QString &vocabJson, const QString &mergesTxt)
{
    using R = Result<std::shared_ptr<BpeTokenizer>>;
    const Result<QByteArray> vocabBytes = readRegularFile(vocabJson, kMaxTokenizerBytes);
    if (!vocabBytes)
        return R::failure(vocabBytes.error);
    const Result<QByteArray> mergesBytes = readRegularFile(mergesTxt, kMaxTokenizerBytes);
    if (!mergesBytes)
        return R::failure(mergesBytes.error);
    return fromBytes(*vocabBytes.value, *mergesBytes.value, vocabJson, mergesTxt);
}

Result<std::shared_ptr<BpeTokenizer>> BpeTokenizer::fromBytes(const QByteArray &vocabJson, const QByteArray &mergesTxt,
                                                            const QString &vocabName, const QString &mergesName)
{
    using R = Result<std::shared_ptr<BpeTokenizer>>;
    QJsonParseError parseError;
    const QJsonDocument vocabDoc = QJsonDocument::fromJson(vocabJson, &parseError);
    if (parseError.error != QJsonParseError::NoError || !vocabDoc.isObject())
        return R::failure(QStringLiteral("%1 is not a JSON object of token ids").arg(vocabName));
    QHash<QString, int> vocab;
    const QJsonObject object = vocabDoc.object();
    vocab.reserve(object.size());
    for (auto it = object.begin(); it != object.end(); ++it) {
        const std::optional<int> id = tokenId(it.value());
        if (!id)
            return R::failure(QStringLiteral("%1: the id of \"%2\" is not a token id").arg(vocabName, it.key()));
        vocab.insert(it.key(), *id);
    }
    // Each line "left right" is its merge's key as it is: no splitting and joining again.
    QStringList merges;
    const QString text = QString::fromUtf8(mergesTxt);
    merges.reserve(text.count(QLatin1Char('\n')) + 1);
    qsizetype lineNumber = 0;
    for (QStringView line : QStringTokenizer(text, QLatin1Char('\n'))) {
        ++lineNumber;
        line = line.trimmed();
        if (line.isEmpty() || line.startsWith(QLatin1String("#version")))
            continue;
        if (line.count(QLatin1Char(' ')) != 1)
            return R::failure(QStringLiteral("%1 line %2: a merge must be two symbols separated by a space").arg(mergesName).arg(lineNumber));
        merges.append(line.toString());
    }
    return fromData(std::move(vocab), merges);
}

Result<std::shared_ptr<BpeTokenizer>> BpeTokenizer::fromTokenizerJson(const QString &tokenizerJson)
{
    const Result<QByteArray> bytes = readRegularFile(tokenizerJson, kMaxTokenizerBytes);
    if (!bytes)
        return Result<std::shared_ptr<BpeTokenizer>>::failure(bytes.error);
    return fromTokenizerJsonBytes(*bytes.value, tokenizerJson);
}

namespace {

// The pre-tokenizers of a tokenizer.json, a Sequence flattened.
QJsonArray preTokenizerSteps(const QJsonObject &root)
{
    const QJsonObject pre = root.value(QStringLiteral("pre_tokenizer")).toObject();
    if (pre.value(QStringLiteral("type")).toString() == QStringLiteral("Sequence"))
        return pre.value(QStringLiteral("pretokenizers")).toArray();
    return pre.isEmpty() ? QJsonArray() : QJsonArray{pre};
}

} // namespace

bool BpeTokenizer::isByteLevel(const QJsonObject &tokenizerJson)
{
    for (const QJsonValue &step : preTokenizerSteps(tokenizerJson))
        if (step.toObject().value(QStringLiteral("type")).toString() == QStringLiteral("ByteLevel"))
            return true;
    return false;
}

Result<std::shared_ptr<BpeTokenizer>> BpeTokenizer::fromTokenizerJsonBytes(const QByteArray &bytes, const QString &tokenizerJson)
{
    using R = Result<std::shared_ptr<BpeTokenizer>>;
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(bytes, &parseError);
    if (parseError.error != QJsonParseError::NoError || !doc.isObject())
        return R::failure(QStringLiteral("%1 is not valid JSON").arg(tokenizerJson));
    const QJsonObject root = doc.object();
    const QJsonObject model = root.value(QStringLiteral("model")).toObject();
    if (model.value(QStringLiteral("type")).toString(QStringLiteral("BPE")) != QStringLiteral("BPE"))
        return R::failure(QStringLiteral("%1: model type \"%2\" is not BPE").arg(tokenizerJson, model.value(QStringLiteral("type")).toString()));
    QHash<QString, int> vocab;
    const QJsonObject vocabObject = model.value(QStringLiteral("vocab")).toObject();
    for (auto it = vocabObject.begin(); it != vocabObject.end(); ++it) {
        const std::optional<int> id = tokenId(it.value());
        if (!id)
            return R::failure(QStringLiteral("%1: the id of \"%2\" is not a token id").arg(tokenizerJson, it.key()));
        vocab.insert(it.key(), *id);
    }
    for (const QJsonValue &added : root.value(QStringLiteral("added_tokens")).toArray()) {
        const QJsonObject token = added.toObject();
        const std::optional<int> id = tokenId(token.value(QStringLiteral("id")));
        if (!id)
            return R::failure(QStringLiteral("%1: the id of added token \"%2\" is not a token id")
                                  .arg(tokenizerJson, token.value(QStringLiteral("content")).toString()));
        vocab.insert(token.value(QStringLiteral("content")).toString(), *id);
    }
    QStringList merges; // "left right"
    for (const QJsonValue &merge : model.value(QStringLiteral("merges")).toArray()) {
        if (merge.isString()) {
            if (merge.toString().count(QLatin1Char(' ')) != 1)
                return R::failure(QStringLiteral("%1: merge \"%2\" is not two symbols").arg(tokenizerJson, merge.toString()));
            merges.append(merge.toString());
        } else if (merge.isArray() && merge.toArray().size() == 2) {
            merges.append(merge.toArray().at(0).toString() + QLatin1Char(' ') + merge.toArray().at(1).toString());
        } else {
            return R::failure(QStringLiteral("%1: a merge must be \"a b\" or [\"a\", \"b\"]").arg(tokenizerJson));
        }
    }
    R made = fromData(std::move(vocab), merges);
    if (!made)
        return made;
    BpeTokenizer &t = **made.value;
    t.m_ignoreMerges = model.value(QStringLiteral("ignore_merges")).toBool(false);
    t.setUnknownToken(model.value(QStringLiteral("unk_token")).toString()); // null for GPT-2's own file

    // Pre-tokenizers: ByteLevel alone (GPT-2's pattern), or a Split with its own pattern first.
    for (const QJsonValue &value : preTokenizerSteps(root)) {
        const QJsonObject step = value.toObject();
        const QString type = step.value(QStringLiteral("type")).toString();
        if (type == QStringLiteral("ByteLevel")) {
            if (step.value(QStringLiteral("add_prefix_space")).toBool(false))
                return R::failure(QStringLiteral("%1: ByteLevel with add_prefix_space is not supported").arg(tokenizerJson));
        } else if (type == QStringLiteral("Split")) {
            const QString pattern = step.value(QStringLiteral("pattern")).toObject().value(QStringLiteral("Regex")).toString();
            if (pattern.isEmpty() || step.value(QStringLiteral("behavior")).toString() != QStringLiteral("Isolated")
                || step.value(QStringLiteral("invert")).toBool(false))
                return R::failure(QStringLiteral("%1: only a Split by a regular expression, isolating its matches, is supported").arg(tokenizerJson));
            t.m_splitPattern = QRegularExpression(pattern, QRegularExpression::UseUnicodePropertiesOption);
            if (!t.m_splitPattern.isValid())
                return R::failure(QStringLiteral("%1: the split pattern is not a valid regular expression: %2")
                                      .arg(tokenizerJson, t.m_splitPattern.errorString()));
        } else {
            return R::failure(QStringLiteral("%1: the pre-tokenizer \"%2\" is not supported").arg(tokenizerJson, type));
        }
    }
    const QJsonObject normalizer = root.value(QStringLiteral("normalizer")).toObject();
    const QString normalizerType = normalizer.value(QStringLiteral("type")).toString();
    if (normalizerType == QStringLiteral("NFC"))
        t.m_nfc = true;
    else if (!normalizer.isEmpty())
        return R::failure(QStringLiteral("%1: the normalizer \"%2\" is not supported with byte-level BPE").arg(tokenizerJson, normalizerType));

    // The post-processor's template (Llama 3 puts its BOS there).
    Result<SpecialTokenTemplate> special = readSpecialTokenTemplate(root);
    if (!special)
        return R::failure(special.error);
    t.m_template = std::move(*special.value);
    return made;
}

QStringList BpeTokenizer::split(const QString &text) const
{
    if (m_splitPattern.pattern().isEmpty())
        return pretokenize(text);
    QStringList pieces;
    auto it = m_splitPattern.globalMatch(text);
    qsizetype end = 0;
    while (it.hasNext()) {
        const QRegularExpressionMatch match = it.next();
        if (match.capturedStart(0) > end) // text no match covers is a piece of its own (Isolated)
            pieces.append(text.mid(end, match.capturedStart(0) - end));
        if (match.capturedLength(0) > 0)
            pieces.append(match.captured(0));
        end = match.capturedEnd(0);
    }
    if (end < text.size())
        pieces.append(text.mid(end));
    return pieces;
}

QStringList BpeTokenizer::bpe(const QString &word) const
{
    // Byte-mapped words hold one symbol per UTF-16 unit.
    std::vector<QString> symbols;
    symbols.reserve(size_t(word.size()));
    for (const QChar c : word)
        symbols.emplace_back(c);
    return mergeByRank(std::move(symbols), m_mergeRanks);
}

Result<Encoding> BpeTokenizer::encode(const QString &input, const QString &pair, const std::atomic<bool> *cancel) const
{
    using R = Result<Encoding>;
    if (!pair.isEmpty())
        return R::failure(QStringLiteral("this model takes one text, not a pair"));
    const QString text = m_nfc ? input.normalized(QString::NormalizationForm_C) : input;
    Encoding encoding;
    encoding.ids = m_template.prefixIds;
    encoding.tokens = m_template.prefixTokens;
    encoding.tokenTypes.assign(m_template.prefixIds.size(), 0);
    auto addPiece = [&](const QString &piece) -> bool {
        auto it = m_vocab.constFind(piece);
        if (it == m_vocab.constEnd() && !m_unknown.isEmpty())
            it = m_vocab.constFind(m_unknown);
        if (it == m_vocab.constEnd())
            return false;
        if (it.key() != piece) { // the unknown token stands for the piece
            encoding.ids.push_back(it.value());
            encoding.tokens.append(it.key());
            encoding.tokenTypes.push_back(0);
            return true;
        }
        encoding.ids.push_back(it.value());
        encoding.tokens.append(piece);
        encoding.tokenTypes.push_back(0);
        return true;
    };
    // Special tokens are matched literally first, in one pass over the text (the longest where
    // two start at one place); the text between them is tokenized normally.
    qsizetype position = 0;
    while (position <= text.size()) {
        qsizetype nextSpecial = text.size();
        QString special;
        if (!m_specialTokens.isEmpty()) {
            const QRegularExpressionMatch match = m_specialPattern.match(text, position);
            if (match.hasMatch()) {
                nextSpecial = match.capturedStart(0);
                special = match.captured(0);
            }
        }
        for (const QString &word : split(text.mid(position, nextSpecial - position))) {
            if (cancelRequested(cancel))
                return R::failure(cancelledMessage());
            const QString symbols = bytesToSymbols(word.toUtf8());
            // ignore_merges: a word the vocabulary holds whole is one token.
            if (m_ignoreMerges && m_vocab.contains(symbols)) {
                addPiece(symbols);
                continue;
            }
            for (const QString &piece : bpe(symbols)) {
                if (!addPiece(piece))
                    return R::failure(QStringLiteral("the piece \"%1\" is not in the vocabulary, which has no unknown token to stand for it")
                                          .arg(displayToken(piece)));
            }
        }
        if (special.isEmpty())
            break;
        addPiece(special);
        position = nextSpecial + special.size();
    }
    encoding.ids.insert(encoding.ids.end(), m_template.suffixIds.begin(), m_template.suffixIds.end());
    encoding.tokens += m_template.suffixTokens;
    encoding.tokenTypes.resize(encoding.ids.size(), 0);
    return {encoding, {}};
}

bool BpeTokenizer::isSpecial(const QString &token) const
{
    return m_specialTokens.contains(token) || m_template.prefixTokens.contains(token) || m_template.suffixTokens.contains(token);
}

QByteArray BpeTokenizer::tokenText(const QString &token) const
{
    return m_specialTokens.contains(token) ? token.toUtf8() : symbolsToBytes(token);
}

QString BpeTokenizer::displayToken(const QString &token) const
{
    if (m_specialTokens.contains(token))
        return token;
    const QByteArray bytes = symbolsToBytes(token);
    QString text = QString::fromUtf8(bytes);
    // A token that ends inside a multi-byte character shows its bytes instead.
    if (text.contains(QChar::ReplacementCharacter) && !bytes.contains("\xEF\xBF\xBD")) {
        QStringList hex;
        for (char b : bytes)
            hex.append(QStringLiteral("%1").arg(uint(uchar(b)), 2, 16, QLatin1Char('0')).toUpper());
        return QLatin1Char('<') + hex.join(QLatin1Char(' ')) + QLatin1Char('>');
    }
    text.replace(QLatin1Char(' '), QStringLiteral("␣"));
    text.replace(QLatin1Char('\n'), QStringLiteral("↵"));
    text.replace(QLatin1Char('\t'), QStringLiteral("⇥"));
    return text;
}

} // namespace studio
