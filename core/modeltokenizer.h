#pragma once

#include "result.h"
#include "tokenizertemplate.h"

#include <QHash>
#include <QJsonObject>
#include <QRegularExpression>
#include <QString>
#include <QStringList>

#include <atomic>
#include <memory>
#include <vector>

namespace studio {

// Token ids and their vocabulary strings for one input.
struct Encoding {
    std::vector<int> ids;
    QStringList tokens;          // as in the vocabulary ("Ġworld", "##ing")
    std::vector<int> tokenTypes; // 0 for the first sentence, 1 for the second
};

// Whether a cancel flag was given and raised. Tokenizers check it between words, so that a long
// text's tokenization stops soon after the user cancels.
inline bool cancelRequested(const std::atomic<bool> *cancel)
{
    return cancel && cancel->load(std::memory_order_relaxed);
}

// The failure a cancelled encode() returns.
inline QString cancelledMessage()
{
    return QStringLiteral("cancelled");
}

class ModelTokenizer {
public:
    virtual ~ModelTokenizer() = default;
    // A second text is used by models that take sentence pairs (BERT) and refused by others.
    // A raised cancel flag ends the work early with a failure.
    virtual Result<Encoding> encode(const QString &text, const QString &pair = {},
                                    const std::atomic<bool> *cancel = nullptr) const = 0;
    // A vocabulary string as a person reads it: spaces marked, byte tokens decoded.
    virtual QString displayToken(const QString &token) const = 0;
    virtual bool takesPairs() const = 0;
    // The vocabulary string of an id; empty for an id the vocabulary does not hold.
    QString tokenForId(int id) const { return m_byId.value(id); }
    // Whether a token is one of the tokenizer's special tokens ([CLS], [SEP], [PAD], <s>, </s>,
    // <|endoftext|> …): markers the tokenizer adds, not text.
    virtual bool isSpecial(const QString &token) const = 0;
    // The text a token stands for, as UTF-8 bytes (a byte-level token may hold part of a
    // character); a special token's own spelling.
    virtual QByteArray tokenText(const QString &token) const = 0;

protected:
    // Each tokenizer fills this from its vocabulary once it is complete.
    void indexVocabulary(const QHash<QString, int> &vocab)
    {
        m_byId.clear();
        for (auto it = vocab.cbegin(); it != vocab.cend(); ++it)
            if (!m_byId.contains(it.value()))
                m_byId.insert(it.value(), it.key());
    }

private:
    QHash<int, QString> m_byId;
};

// GPT-2's byte-level BPE: text is split by GPT-2's pattern, each piece's UTF-8 bytes are mapped to
// printable characters, and the merges are applied in rank order.
class BpeTokenizer final : public ModelTokenizer {
public:
    // From vocab.json + merges.txt, or from tokenizer.json (merges as "a b" strings or [a, b] pairs).
    // A tokenizer.json may split with its own pattern (Llama 3, Qwen2: a Split pre-tokenizer before
    // ByteLevel), take whole words found in the vocabulary before merging (ignore_merges), apply
    // NFC first, and add special tokens through its template (Llama 3's BOS).
    static Result<std::shared_ptr<BpeTokenizer>> fromFiles(const QString &vocabJson, const QString &mergesTxt);
    static Result<std::shared_ptr<BpeTokenizer>> fromTokenizerJson(const QString &tokenizerJson);
    static Result<std::shared_ptr<BpeTokenizer>> fromTokenizerJsonBytes(const QByteArray &tokenizerJson,
                                                                        const QString &name = QStringLiteral("tokenizer.json"));
    // Whether a tokenizer.json is byte-level BPE (GPT-2, Llama 3, Qwen2) rather than SentencePiece-style.
    static bool isByteLevel(const QJsonObject &tokenizerJson);
    // The same from the files' bytes; the names are used in messages.
    static Result<std::shared_ptr<BpeTokenizer>> fromBytes(const QByteArray &vocabJson, const QByteArray &mergesTxt,
                                                           const QString &vocabName = QStringLiteral("vocab.json"),
                                                           const QString &mergesName = QStringLiteral("merges.txt"));
    // merges: "left right", highest priority first.
    static Result<std::shared_ptr<BpeTokenizer>> fromData(QHash<QString, int> vocab, const QStringList &merges);

    Result<Encoding> encode(const QString &text, const QString &pair = {},
                            const std::atomic<bool> *cancel = nullptr) const override;
    QString displayToken(const QString &token) const override;
    bool takesPairs() const override { return false; }
    bool isSpecial(const QString &token) const override;
    QByteArray tokenText(const QString &token) const override;

    // The BPE pieces of one pre-tokenized word (already byte-mapped).
    QStringList bpe(const QString &word) const;
    // GPT-2's pre-tokenization of text.
    static QStringList pretokenize(const QString &text);
    // The printable character GPT-2 uses for each byte, and back.
    static QString bytesToSymbols(const QByteArray &bytes);
    static QByteArray symbolsToBytes(const QString &symbols);
    // The token a piece missing from the vocabulary becomes (as GPT2Tokenizer maps unknown pieces
    // to its unk_token). Ignored when the vocabulary does not hold it; without one, such a piece
    // is refused with a message naming it.
    void setUnknownToken(const QString &token) { m_unknown = m_vocab.contains(token) ? token : QString(); }
    QString unknownToken() const { return m_unknown; }

private:
    QHash<QString, int> m_vocab;
    QString m_unknown;
    QHash<QString, int> m_mergeRanks; // "a b" -> rank
    QStringList m_specialTokens;      // matched literally before pre-tokenization
    QRegularExpression m_specialPattern; // all of them, longest first, to find the next in one pass
    QRegularExpression m_splitPattern;   // a tokenizer.json's own pre-tokenizer pattern; empty = GPT-2's
    bool m_ignoreMerges = false;         // a word in the vocabulary is one token, whatever the merges
    bool m_nfc = false;                  // NFC-normalize the text first
    SpecialTokenTemplate m_template;     // the special tokens around the text

    QStringList split(const QString &text) const;
};

// BERT's WordPiece: basic tokenization (cleaning, CJK spacing, lower-casing and accent stripping,
// punctuation splitting), then greedy longest-match-first pieces with "##" continuations.
class WordPieceTokenizer final : public ModelTokenizer {
public:
    struct Options {
        bool lowerCase = true;
        bool stripAccents = true; // follows lowerCase unless tokenizer_config.json says otherwise
        bool chineseChars = true;
        QString unk = QStringLiteral("[UNK]");
        QString cls = QStringLiteral("[CLS]");
        QString sep = QStringLiteral("[SEP]");
        QString pad = QStringLiteral("[PAD]");
    };
    // vocab.txt (one token per line, the line number is the id) and tokenizer_config.json (optional).
    static Result<std::shared_ptr<WordPieceTokenizer>> fromFiles(const QString &vocabTxt, const QString &tokenizerConfig);
    static Result<std::shared_ptr<WordPieceTokenizer>> fromData(const QStringList &vocab, const Options &options);
    // From the bytes of vocab.txt and tokenizer_config.json (may be empty).
    static Result<std::shared_ptr<WordPieceTokenizer>> fromBytes(const QByteArray &vocabTxt, const QByteArray &tokenizerConfig);

    Result<Encoding> encode(const QString &text, const QString &pair = {},
                            const std::atomic<bool> *cancel = nullptr) const override;
    QString displayToken(const QString &token) const override { return token; }
    bool takesPairs() const override { return true; }
    bool isSpecial(const QString &token) const override;
    QByteArray tokenText(const QString &token) const override;

    // Pieces of a text without [CLS]/[SEP].
    QStringList tokenize(const QString &text) const;
    // The same, ending early (false) when the cancel flag is raised.
    bool tokenize(const QString &text, QStringList &pieces, const std::atomic<bool> *cancel) const;
    int padId() const { return m_vocab.value(m_options.pad, -1); }

private:
    QStringList basicTokenize(const QString &text) const;
    void wordPieces(const QString &word, QStringList &out) const;
    QHash<QString, int> m_vocab;
    Options m_options;
};

// SentencePiece-style BPE as Hugging Face's tokenizers library runs it from tokenizer.json (Llama 2,
// Mistral, TinyLlama, Phi-3): added tokens split out of the raw text first (leftmost, longest;
// lstrip/rstrip take the whitespace beside them), then each remaining section is normalized
// (Prepend "▁" + Replace " " → "▁", the older layout) or pre-tokenized (Metaspace, the newer),
// split into characters, merged by rank, and characters outside the vocabulary become their UTF-8
// bytes ("<0xE2>") where the model has byte fallback, else the unknown token. The post-processor's
// template adds BOS (and whatever else it names).
class SentencePieceBpeTokenizer final : public ModelTokenizer {
public:
    static Result<std::shared_ptr<SentencePieceBpeTokenizer>> fromFile(const QString &tokenizerJson);
    static Result<std::shared_ptr<SentencePieceBpeTokenizer>> fromBytes(const QByteArray &tokenizerJson);

    Result<Encoding> encode(const QString &text, const QString &pair = {},
                            const std::atomic<bool> *cancel = nullptr) const override;
    // Without the template's special tokens (add_special_tokens=False).
    Result<Encoding> encodeText(const QString &text, const std::atomic<bool> *cancel = nullptr) const;
    // tokenizer_config.json of a LlamaTokenizer(Fast): its add_bos_token and add_eos_token decide
    // the special tokens around the text, as transformers rebuilds the template from them. Other
    // tokenizer classes, and configs without those keys, keep the template of tokenizer.json.
    Status applyTokenizerConfig(const QJsonObject &config);
    // "▁the" as "␣the"; a byte piece of an ASCII character as that character.
    QString displayToken(const QString &token) const override;
    bool takesPairs() const override { return false; }
    bool isSpecial(const QString &token) const override;
    QByteArray tokenText(const QString &token) const override;

private:
    struct AddedToken {
        QString content;
        int id = 0;
        bool lstrip = false, rstrip = false, singleWord = false;
        bool special = false;
    };
    enum class PrependScheme { Always, First, Never };
    bool appendSection(const QString &section, qsizetype offset, Encoding &encoding) const;

    QHash<QString, int> m_vocab;
    QHash<QString, int> m_mergeRanks; // "a b" -> rank
    bool m_byteFallback = false;
    bool m_fuseUnknown = false;
    QString m_unknown;
    // Normalizer (older layout): prepended to each non-empty section, then replacements.
    QString m_normalizerPrepend;
    QList<std::pair<QString, QString>> m_normalizerReplacements;
    // Metaspace pre-tokenizer (newer layout).
    bool m_metaspace = false;
    QString m_replacement = QStringLiteral("\u2581");
    PrependScheme m_prependScheme = PrependScheme::Always;
    bool m_splitOnReplacement = false;
    std::vector<AddedToken> m_added;
    QRegularExpression m_addedPattern; // every added token, longest first
    SpecialTokenTemplate m_template;   // the special tokens around the text
};

} // namespace studio
