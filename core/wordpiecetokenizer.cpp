#include "modeltokenizer.h"
#include "regularfile.h"

#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>

namespace studio {

namespace {

bool isWhitespace(char32_t c)
{
    return c == U' ' || c == U'\t' || c == U'\n' || c == U'\r' || QChar::category(c) == QChar::Separator_Space;
}

bool isControl(char32_t c)
{
    if (c == U'\t' || c == U'\n' || c == U'\r')
        return false;
    const QChar::Category category = QChar::category(c);
    return category == QChar::Other_Control || category == QChar::Other_Format;
}

bool isPunctuation(char32_t c)
{
    // ASCII symbols count as punctuation for BERT even where Unicode calls them symbols ($, ^, `).
    if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126))
        return true;
    switch (QChar::category(c)) {
    case QChar::Punctuation_Connector:
    case QChar::Punctuation_Dash:
    case QChar::Punctuation_Open:
    case QChar::Punctuation_Close:
    case QChar::Punctuation_InitialQuote:
    case QChar::Punctuation_FinalQuote:
    case QChar::Punctuation_Other:
        return true;
    default:
        return false;
    }
}

// The CJK Unified Ideographs blocks, as BERT defines them (not Hangul or Kana).
bool isChineseCharacter(char32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF)
        || (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF)
        || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

QString stripAccents(const QString &text)
{
    QString out;
    for (char32_t c : text.normalized(QString::NormalizationForm_D).toUcs4())
        if (QChar::category(c) != QChar::Mark_NonSpacing)
            out.append(QString::fromUcs4(&c, 1));
    return out;
}

} // namespace

Result<std::shared_ptr<WordPieceTokenizer>> WordPieceTokenizer::fromData(const QStringList &vocab, const Options &options)
{
    using R = Result<std::shared_ptr<WordPieceTokenizer>>;
    auto tokenizer = std::make_shared<WordPieceTokenizer>();
    for (qsizetype i = 0; i < vocab.size(); ++i)
        if (!tokenizer->m_vocab.contains(vocab.at(i)))
            tokenizer->m_vocab.insert(vocab.at(i), int(i));
    tokenizer->m_options = options;
    for (const QString &special : {options.unk, options.cls, options.sep})
        if (!tokenizer->m_vocab.contains(special))
            return R::failure(QStringLiteral("the vocabulary has no special token %1").arg(special));
    tokenizer->indexVocabulary(tokenizer->m_vocab);
    return {tokenizer, {}};
}

Result<std::shared_ptr<WordPieceTokenizer>> WordPieceTokenizer::fromFiles(const QString &vocabTxt, const QString &tokenizerConfig)
{
    using R = Result<std::shared_ptr<WordPieceTokenizer>>;
    const Result<QByteArray> vocab = readRegularFile(vocabTxt, kMaxTokenizerBytes);
    if (!vocab)
        return R::failure(vocab.error);
    QByteArray config;
    if (!tokenizerConfig.isEmpty() && QFileInfo::exists(tokenizerConfig)) {
        const Result<QByteArray> configBytes = readRegularFile(tokenizerConfig, kMaxConfigBytes);
        if (!configBytes)
            return R::failure(configBytes.error);
        config = *configBytes.value;
    }
    return fromBytes(*vocab.value, config);
}

Result<std::shared_ptr<WordPieceTokenizer>> WordPieceTokenizer::fromBytes(const QByteArray &vocabTxt, const QByteArray &tokenizerConfig)
{
    QStringList vocab = QString::fromUtf8(vocabTxt).split(QLatin1Char('\n'));
    for (QString &token : vocab)
        if (token.endsWith(QLatin1Char('\r')))
            token.chop(1);
    if (!vocab.isEmpty() && vocab.last().isEmpty())
        vocab.removeLast();
    using R = Result<std::shared_ptr<WordPieceTokenizer>>;
    Options options;
    if (!tokenizerConfig.isEmpty()) {
        // A broken configuration is refused: ignoring it would silently change lower-casing.
        QJsonParseError parseError;
        const QJsonDocument document = QJsonDocument::fromJson(tokenizerConfig, &parseError);
        if (parseError.error != QJsonParseError::NoError || !document.isObject())
            return R::failure(QStringLiteral("tokenizer_config.json is not a JSON object (%1 at byte %2)")
                                  .arg(parseError.error != QJsonParseError::NoError ? parseError.errorString() : QStringLiteral("another value"))
                                  .arg(parseError.offset));
        const QJsonObject config = document.object();
        options.lowerCase = config.value(QStringLiteral("do_lower_case")).toBool(true);
        const QJsonValue strip = config.value(QStringLiteral("strip_accents"));
        options.stripAccents = strip.isBool() ? strip.toBool() : options.lowerCase;
        options.chineseChars = config.value(QStringLiteral("tokenize_chinese_chars")).toBool(true);
        // Special tokens by name: a string, or an object with "content".
        auto special = [&](const char *key, QString *out) {
            const QJsonValue value = config.value(QLatin1String(key));
            if (value.isString())
                *out = value.toString();
            else if (value.isObject())
                *out = value.toObject().value(QStringLiteral("content")).toString(*out);
        };
        special("unk_token", &options.unk);
        special("cls_token", &options.cls);
        special("sep_token", &options.sep);
        special("pad_token", &options.pad);
    }
    return fromData(vocab, options);
}

QStringList WordPieceTokenizer::basicTokenize(const QString &text) const
{
    // Clean: drop NUL, U+FFFD and control characters; white space becomes a plain space; CJK
    // ideographs get spaces around them.
    QString cleaned;
    for (char32_t c : text.toUcs4()) {
        if (c == 0 || c == 0xFFFD || isControl(c))
            continue;
        if (isWhitespace(c)) {
            cleaned.append(QLatin1Char(' '));
        } else if (m_options.chineseChars && isChineseCharacter(c)) {
            cleaned.append(QLatin1Char(' '));
            cleaned.append(QString::fromUcs4(&c, 1));
            cleaned.append(QLatin1Char(' '));
        } else {
            cleaned.append(QString::fromUcs4(&c, 1));
        }
    }
    QStringList words;
    for (QString word : cleaned.split(QLatin1Char(' '), Qt::SkipEmptyParts)) {
        if (m_options.lowerCase)
            word = word.toLower();
        if (m_options.stripAccents)
            word = stripAccents(word);
        // Split off every punctuation character as a word of its own.
        QString current;
        for (char32_t c : word.toUcs4()) {
            if (isPunctuation(c)) {
                if (!current.isEmpty())
                    words.append(current);
                current.clear();
                words.append(QString::fromUcs4(&c, 1));
            } else {
                current.append(QString::fromUcs4(&c, 1));
            }
        }
        if (!current.isEmpty())
            words.append(current);
    }
    return words;
}

void WordPieceTokenizer::wordPieces(const QString &word, QStringList &out) const
{
    const QList<uint> codePoints = word.toUcs4();
    constexpr qsizetype kMaxWordLength = 100;
    if (codePoints.size() > kMaxWordLength) {
        out.append(m_options.unk);
        return;
    }
    QStringList pieces;
    qsizetype start = 0;
    while (start < codePoints.size()) {
        qsizetype end = codePoints.size();
        QString found;
        while (start < end) {
            QString candidate = QString::fromUcs4(reinterpret_cast<const char32_t *>(codePoints.constData() + start), end - start);
            if (start > 0)
                candidate.prepend(QStringLiteral("##"));
            if (m_vocab.contains(candidate)) {
                found = candidate;
                break;
            }
            --end;
        }
        if (found.isEmpty()) { // no piece fits: the whole word is unknown
            out.append(m_options.unk);
            return;
        }
        pieces.append(found);
        start = end;
    }
    out.append(pieces);
}

QStringList WordPieceTokenizer::tokenize(const QString &text) const
{
    QStringList pieces;
    tokenize(text, pieces, nullptr);
    return pieces;
}

bool WordPieceTokenizer::tokenize(const QString &text, QStringList &pieces, const std::atomic<bool> *cancel) const
{
    for (const QString &word : basicTokenize(text)) {
        if (cancelRequested(cancel))
            return false;
        wordPieces(word, pieces);
    }
    return true;
}

Result<Encoding> WordPieceTokenizer::encode(const QString &text, const QString &pair, const std::atomic<bool> *cancel) const
{
    Encoding encoding;
    auto add = [&](const QString &token, int type) {
        encoding.ids.push_back(m_vocab.value(token, m_vocab.value(m_options.unk)));
        encoding.tokens.append(token);
        encoding.tokenTypes.push_back(type);
    };
    add(m_options.cls, 0);
    QStringList pieces;
    if (!tokenize(text, pieces, cancel))
        return Result<Encoding>::failure(cancelledMessage());
    for (const QString &piece : pieces)
        add(piece, 0);
    add(m_options.sep, 0);
    if (!pair.isEmpty()) {
        pieces.clear();
        if (!tokenize(pair, pieces, cancel))
            return Result<Encoding>::failure(cancelledMessage());
        for (const QString &piece : pieces)
            add(piece, 1);
        add(m_options.sep, 1);
    }
    return {encoding, {}};
}

bool WordPieceTokenizer::isSpecial(const QString &token) const
{
    return token == m_options.cls || token == m_options.sep || token == m_options.pad;
}

QByteArray WordPieceTokenizer::tokenText(const QString &token) const
{
    // A continuation joins the word before it; a word piece starts a new word.
    return token.startsWith(QStringLiteral("##")) ? token.mid(2).toUtf8() : (QLatin1Char(' ') + token).toUtf8();
}

} // namespace studio
