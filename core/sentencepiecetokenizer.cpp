#include "modeltokenizer.h"

#include "bpemerge.h"
#include "regularfile.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>
#include <cmath>

namespace studio {

namespace {

const QString kMetaspace = QStringLiteral("\u2581"); // ▁

// Unicode White_Space, the whitespace lstrip and rstrip remove (it has no character beyond the BMP).
bool isWhiteSpace(QChar c)
{
    return c.isSpace();
}

bool isWordCharacter(QChar c)
{
    return c.isLetterOrNumber() || c == QLatin1Char('_');
}

QString byteToken(unsigned char byte)
{
    return QStringLiteral("<0x%1>").arg(QString::number(uint(byte), 16).toUpper().rightJustified(2, QLatin1Char('0')));
}

} // namespace

Result<std::shared_ptr<SentencePieceBpeTokenizer>> SentencePieceBpeTokenizer::fromFile(const QString &tokenizerJson)
{
    const Result<QByteArray> bytes = readRegularFile(tokenizerJson, kMaxTokenizerBytes);
    if (!bytes)
        return Result<std::shared_ptr<SentencePieceBpeTokenizer>>::failure(bytes.error);
    return fromBytes(*bytes.value);
}

Result<std::shared_ptr<SentencePieceBpeTokenizer>> SentencePieceBpeTokenizer::fromBytes(const QByteArray &tokenizerJson)
{
    using R = Result<std::shared_ptr<SentencePieceBpeTokenizer>>;
    QJsonParseError parseError{};
    const QJsonDocument document = QJsonDocument::fromJson(tokenizerJson, &parseError);
    if (parseError.error != QJsonParseError::NoError || !document.isObject())
        return R::failure(QStringLiteral("tokenizer.json is not a JSON object: %1").arg(parseError.errorString()));
    const QJsonObject root = document.object();
    const QJsonObject model = root.value(QStringLiteral("model")).toObject();
    if (model.value(QStringLiteral("type")).toString() != QStringLiteral("BPE"))
        return R::failure(QStringLiteral("tokenizer.json: model type \"%1\" is not supported here (BPE is)")
                              .arg(model.value(QStringLiteral("type")).toString()));
    std::shared_ptr<SentencePieceBpeTokenizer> tokenizer(new SentencePieceBpeTokenizer);
    SentencePieceBpeTokenizer &t = *tokenizer;

    const QJsonObject vocab = model.value(QStringLiteral("vocab")).toObject();
    if (vocab.isEmpty())
        return R::failure(QStringLiteral("tokenizer.json: the model has no vocabulary"));
    for (auto it = vocab.begin(); it != vocab.end(); ++it) {
        const double id = it.value().toDouble(-1);
        if (!it.value().isDouble() || id < 0 || id != std::floor(id) || id > 1e9)
            return R::failure(QStringLiteral("tokenizer.json: the id of \"%1\" is not a whole number").arg(it.key()));
        t.m_vocab.insert(it.key(), int(id));
    }
    const QJsonArray merges = model.value(QStringLiteral("merges")).toArray();
    for (qsizetype rank = 0; rank < merges.size(); ++rank) {
        const QJsonValue merge = merges.at(rank);
        QString pair;
        if (merge.isString()) {
            pair = merge.toString();
        } else if (merge.isArray() && merge.toArray().size() == 2) {
            pair = merge.toArray().at(0).toString() + QLatin1Char(' ') + merge.toArray().at(1).toString();
        }
        if (pair.count(QLatin1Char(' ')) < 1)
            return R::failure(QStringLiteral("tokenizer.json: merge %1 is not a pair").arg(rank));
        if (!t.m_mergeRanks.contains(pair))
            t.m_mergeRanks.insert(pair, int(rank));
    }
    t.m_byteFallback = model.value(QStringLiteral("byte_fallback")).toBool(false);
    t.m_fuseUnknown = model.value(QStringLiteral("fuse_unk")).toBool(false);
    t.m_unknown = model.value(QStringLiteral("unk_token")).toString();
    if (model.value(QStringLiteral("ignore_merges")).toBool(false))
        return R::failure(QStringLiteral("tokenizer.json: ignore_merges is not supported with this model layout"));

    // Normalizer: Prepend and Replace, alone or in a Sequence.
    const QJsonObject normalizer = root.value(QStringLiteral("normalizer")).toObject();
    QJsonArray normalizers = normalizer.value(QStringLiteral("normalizers")).toArray();
    if (normalizer.value(QStringLiteral("type")).toString() != QStringLiteral("Sequence") && !normalizer.isEmpty())
        normalizers = {normalizer};
    for (const QJsonValue &value : normalizers) {
        const QJsonObject step = value.toObject();
        const QString type = step.value(QStringLiteral("type")).toString();
        if (type == QStringLiteral("Prepend")) {
            t.m_normalizerPrepend = step.value(QStringLiteral("prepend")).toString();
        } else if (type == QStringLiteral("Replace") && step.value(QStringLiteral("pattern")).toObject().contains(QStringLiteral("String"))) {
            t.m_normalizerReplacements.append({step.value(QStringLiteral("pattern")).toObject().value(QStringLiteral("String")).toString(),
                                              step.value(QStringLiteral("content")).toString()});
        } else {
            return R::failure(QStringLiteral("tokenizer.json: the normalizer \"%1\" is not supported (Prepend and Replace are)").arg(type));
        }
    }

    // Pre-tokenizer: none, or Metaspace.
    const QJsonValue preTokenizerValue = root.value(QStringLiteral("pre_tokenizer"));
    if (!preTokenizerValue.isNull() && !preTokenizerValue.isUndefined()) {
        const QJsonObject preTokenizer = preTokenizerValue.toObject();
        if (preTokenizer.value(QStringLiteral("type")).toString() != QStringLiteral("Metaspace"))
            return R::failure(QStringLiteral("tokenizer.json: the pre-tokenizer \"%1\" is not supported with this model layout (Metaspace is)")
                                  .arg(preTokenizer.value(QStringLiteral("type")).toString()));
        t.m_metaspace = true;
        t.m_replacement = preTokenizer.value(QStringLiteral("replacement")).toString(kMetaspace);
        const QString scheme = preTokenizer.value(QStringLiteral("prepend_scheme"))
                                   .toString(preTokenizer.value(QStringLiteral("add_prefix_space")).toBool(true) ? QStringLiteral("always") : QStringLiteral("never"));
        if (scheme == QStringLiteral("always"))
            t.m_prependScheme = PrependScheme::Always;
        else if (scheme == QStringLiteral("first"))
            t.m_prependScheme = PrependScheme::First;
        else if (scheme == QStringLiteral("never"))
            t.m_prependScheme = PrependScheme::Never;
        else
            return R::failure(QStringLiteral("tokenizer.json: Metaspace prepend_scheme \"%1\" is not known").arg(scheme));
        t.m_splitOnReplacement = preTokenizer.value(QStringLiteral("split")).toBool(true);
        if (t.m_replacement.isEmpty())
            return R::failure(QStringLiteral("tokenizer.json: Metaspace has an empty replacement"));
    }

    // Added tokens, matched in the raw text before anything else, the longest first where two
    // start at one place.
    QStringList alternatives;
    for (const QJsonValue &value : root.value(QStringLiteral("added_tokens")).toArray()) {
        const QJsonObject added = value.toObject();
        AddedToken token;
        token.content = added.value(QStringLiteral("content")).toString();
        token.id = added.value(QStringLiteral("id")).toInt(-1);
        token.lstrip = added.value(QStringLiteral("lstrip")).toBool(false);
        token.rstrip = added.value(QStringLiteral("rstrip")).toBool(false);
        token.singleWord = added.value(QStringLiteral("single_word")).toBool(false);
        token.special = added.value(QStringLiteral("special")).toBool(false);
        if (token.content.isEmpty() || token.id < 0)
            return R::failure(QStringLiteral("tokenizer.json: an added token has no content or id"));
        t.m_added.push_back(token);
    }
    std::sort(t.m_added.begin(), t.m_added.end(), [](const AddedToken &a, const AddedToken &b) { return a.content.size() > b.content.size(); });
    for (const AddedToken &token : t.m_added)
        alternatives.append(QRegularExpression::escape(token.content));
    if (!alternatives.isEmpty())
        t.m_addedPattern = QRegularExpression(alternatives.join(QLatin1Char('|')));

    // The post-processor's template for one text: special tokens before and after "$A".
    Result<SpecialTokenTemplate> special = readSpecialTokenTemplate(root);
    if (!special)
        return R::failure(special.error);
    t.m_template = std::move(*special.value);
    QHash<QString, int> everything = t.m_vocab;
    for (const AddedToken &token : t.m_added)
        everything.insert(token.content, token.id);
    t.indexVocabulary(everything);
    return {tokenizer, {}};
}

bool SentencePieceBpeTokenizer::appendSection(const QString &section, qsizetype offset, Encoding &encoding) const
{
    if (section.isEmpty())
        return true;
    QString text = section;
    if (!m_normalizerPrepend.isEmpty())
        text.prepend(m_normalizerPrepend);
    for (const auto &[from, to] : m_normalizerReplacements)
        text.replace(from, to);
    QStringList words{text};
    if (m_metaspace) {
        text.replace(QLatin1Char(' '), m_replacement);
        const bool prepend = m_prependScheme == PrependScheme::Always || (m_prependScheme == PrependScheme::First && offset == 0);
        if (prepend && !text.startsWith(m_replacement))
            text.prepend(m_replacement);
        words = {text};
        if (m_splitOnReplacement) { // each word starts at a replacement character
            words.clear();
            qsizetype start = 0;
            for (qsizetype at = text.indexOf(m_replacement, 1); at >= 0; at = text.indexOf(m_replacement, at + 1)) {
                words.append(text.mid(start, at - start));
                start = at;
            }
            words.append(text.mid(start));
        }
    }
    for (const QString &word : words) {
        // One symbol per character; a character outside the vocabulary becomes its bytes, or the
        // unknown token (consecutive ones fused where the model says so).
        std::vector<QString> symbols;
        for (qsizetype i = 0; i < word.size();) {
            const qsizetype length = word.at(i).isHighSurrogate() && i + 1 < word.size() && word.at(i + 1).isLowSurrogate() ? 2 : 1;
            const QString character = word.mid(i, length);
            i += length;
            if (m_vocab.contains(character)) {
                symbols.push_back(character);
                continue;
            }
            if (m_byteFallback) {
                std::vector<QString> bytes;
                for (const char byte : character.toUtf8()) {
                    const QString token = byteToken(static_cast<unsigned char>(byte));
                    if (!m_vocab.contains(token)) {
                        bytes.clear();
                        break;
                    }
                    bytes.push_back(token);
                }
                if (!bytes.empty()) {
                    symbols.insert(symbols.end(), bytes.begin(), bytes.end());
                    continue;
                }
            }
            if (m_unknown.isEmpty() || !m_vocab.contains(m_unknown))
                return false;
            if (!(m_fuseUnknown && !symbols.empty() && symbols.back() == m_unknown))
                symbols.push_back(m_unknown);
        }
        for (const QString &piece : mergeByRank(std::move(symbols), m_mergeRanks)) {
            const auto id = m_vocab.constFind(piece);
            if (id == m_vocab.constEnd())
                return false;
            encoding.ids.push_back(id.value());
            encoding.tokens.append(piece);
            encoding.tokenTypes.push_back(0);
        }
    }
    return true;
}

Result<Encoding> SentencePieceBpeTokenizer::encodeText(const QString &text, const std::atomic<bool> *cancel) const
{
    using R = Result<Encoding>;
    Encoding encoding;
    qsizetype position = 0;
    const auto appendText = [&](qsizetype end) -> bool {
        if (end <= position)
            return true;
        return appendSection(text.mid(position, end - position), position, encoding);
    };
    while (position <= text.size()) {
        if (cancelRequested(cancel))
            return R::failure(cancelledMessage());
        QRegularExpressionMatch match;
        qsizetype searchFrom = position;
        const AddedToken *token = nullptr;
        qsizetype start = text.size(), end = text.size();
        // The next added token that stands as the token wants (single_word: not inside a word).
        while (m_addedPattern.isValid() && !m_addedPattern.pattern().isEmpty()) {
            match = m_addedPattern.match(text, searchFrom);
            if (!match.hasMatch())
                break;
            const auto found = std::find_if(m_added.begin(), m_added.end(), [&](const AddedToken &t) { return t.content == match.captured(0); });
            if (found == m_added.end())
                break;
            const qsizetype s = match.capturedStart(0), e = match.capturedEnd(0);
            if (found->singleWord && ((s > 0 && isWordCharacter(text.at(s - 1))) || (e < text.size() && isWordCharacter(text.at(e))))) {
                searchFrom = s + 1;
                continue;
            }
            token = &*found;
            start = s;
            end = e;
            break;
        }
        if (!token) {
            if (!appendText(text.size()))
                return R::failure(QStringLiteral("the text holds a character the tokenizer cannot encode"));
            break;
        }
        if (token->lstrip)
            while (start > position && isWhiteSpace(text.at(start - 1)))
                --start;
        if (token->rstrip)
            while (end < text.size() && isWhiteSpace(text.at(end)))
                ++end;
        if (!appendText(start))
            return R::failure(QStringLiteral("the text holds a character the tokenizer cannot encode"));
        encoding.ids.push_back(token->id);
        encoding.tokens.append(token->content);
        encoding.tokenTypes.push_back(0);
        position = end;
        if (position == text.size())
            break;
    }
    return {std::move(encoding), {}};
}

Result<Encoding> SentencePieceBpeTokenizer::encode(const QString &text, const QString &pair, const std::atomic<bool> *cancel) const
{
    using R = Result<Encoding>;
    if (!pair.isEmpty())
        return R::failure(QStringLiteral("this model takes one text, not a pair"));
    Result<Encoding> body = encodeText(text, cancel);
    if (!body)
        return body;
    Encoding encoding;
    encoding.ids = m_template.prefixIds;
    encoding.tokens = m_template.prefixTokens;
    encoding.ids.insert(encoding.ids.end(), body.value->ids.begin(), body.value->ids.end());
    encoding.tokens += body.value->tokens;
    encoding.ids.insert(encoding.ids.end(), m_template.suffixIds.begin(), m_template.suffixIds.end());
    encoding.tokens += m_template.suffixTokens;
    encoding.tokenTypes.assign(encoding.ids.size(), 0);
    return {std::move(encoding), {}};
}

Status SentencePieceBpeTokenizer::applyTokenizerConfig(const QJsonObject &config)
{
    if (!config.value(QStringLiteral("tokenizer_class")).toString().startsWith(QStringLiteral("LlamaTokenizer")))
        return Status::success();
    // add_bos_token / add_eos_token, where given, set the token before / after the text: the
    // bos_token / eos_token, a string or {"content": ...}, whose id is the added token's or the
    // vocabulary's.
    const auto apply = [&](const char *flag, const char *key, std::vector<int> &ids, QStringList &tokens) -> Status {
        if (!config.value(QLatin1String(flag)).isBool())
            return Status::success();
        ids.clear();
        tokens.clear();
        if (!config.value(QLatin1String(flag)).toBool())
            return Status::success();
        const QJsonValue value = config.value(QLatin1String(key));
        const QString content = value.isObject() ? value.toObject().value(QStringLiteral("content")).toString() : value.toString();
        const auto added = std::find_if(m_added.begin(), m_added.end(), [&](const AddedToken &t) { return t.content == content; });
        const int id = added != m_added.end() ? added->id : m_vocab.value(content, -1);
        if (id < 0)
            return Status::failure(QStringLiteral("tokenizer_config.json: %1 \"%2\" is not a token").arg(QLatin1String(key), content));
        ids = {id};
        tokens = {content};
        return Status::success();
    };
    if (const Status bos = apply("add_bos_token", "bos_token", m_template.prefixIds, m_template.prefixTokens); !bos)
        return bos;
    if (const Status eos = apply("add_eos_token", "eos_token", m_template.suffixIds, m_template.suffixTokens); !eos)
        return eos;
    return Status::success();
}

QString SentencePieceBpeTokenizer::displayToken(const QString &token) const
{
    // A byte piece of an ASCII character reads as the character; other bytes stay as they are
    // (one byte of a longer character means nothing alone).
    if (token.size() == 6 && token.startsWith(QStringLiteral("<0x")) && token.endsWith(QLatin1Char('>'))) {
        bool ok = false;
        const uint byte = token.mid(3, 2).toUInt(&ok, 16);
        if (ok && byte < 0x80)
            return QString(QChar(char16_t(byte)));
        return token;
    }
    if (std::any_of(m_added.begin(), m_added.end(), [&](const AddedToken &t) { return t.content == token; }))
        return token;
    QString shown = token;
    return shown.replace(m_metaspace ? m_replacement : kMetaspace, QStringLiteral("\u2423")); // ␣
}

bool SentencePieceBpeTokenizer::isSpecial(const QString &token) const
{
    if (m_template.prefixTokens.contains(token) || m_template.suffixTokens.contains(token))
        return true;
    return std::any_of(m_added.begin(), m_added.end(), [&](const AddedToken &t) { return t.special && t.content == token; });
}

QByteArray SentencePieceBpeTokenizer::tokenText(const QString &token) const
{
    if (std::any_of(m_added.begin(), m_added.end(), [&](const AddedToken &t) { return t.content == token; }))
        return token.toUtf8();
    if (token.size() == 6 && token.startsWith(QStringLiteral("<0x")) && token.endsWith(QLatin1Char('>'))) {
        bool ok = false;
        const uint byte = token.mid(3, 2).toUInt(&ok, 16);
        if (ok)
            return QByteArray(1, char(byte));
    }
    QString text = token;
    return text.replace(m_metaspace ? m_replacement : kMetaspace, QStringLiteral(" ")).toUtf8();
}

} // namespace studio
