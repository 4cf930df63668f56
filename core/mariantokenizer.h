#pragma once

#include "modeltokenizer.h"

#include <QHash>
#include <QString>
#include <QStringList>

#include <memory>

namespace studio {

// What a translation model's tokenizer gives beyond a single-stack one's: the target side.
class TranslationTokenizer : public ModelTokenizer {
public:
    // The target text (text_target=), its end token appended.
    virtual Result<Encoding> encodeTarget(const QString &text) const = 0;
    // The decoder's vocabulary: the string of an id, empty if none.
    virtual QString targetTokenForId(int id) const = 0;
    virtual int eosId() const = 0;
    // How many ids the source side's vocabulary holds (checked against the model's).
    virtual int sourceVocabularySize() const = 0;
    bool takesPairs() const override { return false; }
    // "▁Haus" as "␣Haus"; special tokens as they are.
    QString displayToken(const QString &token) const override;
    QByteArray tokenText(const QString &token) const override;

protected:
    QStringList m_specialTokens; // split out of the text before SentencePiece, longest first
};

// Marian's tokenizer as transformers' MarianTokenizer applies it: two SentencePiece models
// (source.spm for the source text, target.spm for the target), whose pieces are looked up in
// vocab.json (the target's in target_vocab.json when the vocabularies are separate) — a piece the
// vocabulary does not hold becomes <unk>; SentencePiece's own ids are never used. A leading
// language code ">>de<<" is kept as one token; the special tokens (</s>, <unk>, <pad>) written in
// the text are split out first; </s> is appended.
class MarianTokenizer final : public TranslationTokenizer {
public:
    // From a model folder: source.spm, target.spm, vocab.json (and target_vocab.json),
    // tokenizer_config.json (optional: separate_vocabs, the special tokens' spellings).
    static Result<std::shared_ptr<MarianTokenizer>> fromFolder(const QString &directory);
    ~MarianTokenizer() override;

    // The source text (the encoder's input). A second text is refused: the target has its own.
    Result<Encoding> encode(const QString &text, const QString &pair = {}, const std::atomic<bool> *cancel = nullptr) const override;
    // The target text (text_target=): target.spm and the target vocabulary, </s> appended.
    Result<Encoding> encodeTarget(const QString &text) const override;
    bool isSpecial(const QString &token) const override;
    // The decoder's vocabulary (the target's when separate).
    QString targetTokenForId(int id) const override;
    bool separateVocabularies() const { return m_separate; }
    int eosId() const override { return m_eosId; }
    int unknownId() const { return m_unknownId; }
    int sourceVocabularySize() const override { return int(m_sourceVocab.size()); }
    int targetVocabularySize() const { return int(m_separate ? m_targetVocab.size() : m_sourceVocab.size()); }

private:
    struct Processors;
    MarianTokenizer();
    Result<Encoding> encodeWith(const QString &text, bool target) const;

    std::unique_ptr<Processors> m_processors;
    QHash<QString, int> m_sourceVocab;
    QHash<QString, int> m_targetVocab; // separate vocabularies only
    QHash<int, QString> m_targetById;
    bool m_separate = false;
    QString m_eos = QStringLiteral("</s>");
    QString m_unknown = QStringLiteral("<unk>");
    QString m_pad = QStringLiteral("<pad>");
    int m_eosId = 0;
    int m_unknownId = 1;
};

// T5's tokenizer as transformers' T5Tokenizer (legacy) applies it: one SentencePiece model
// (spiece.model) for both sides, whose own ids are the model's; <extra_id_N> is id
// vocab − 1 − N past the pieces; special tokens written in the text are split out first; </s> is
// appended.
class T5Tokenizer final : public TranslationTokenizer {
public:
    static Result<std::shared_ptr<T5Tokenizer>> fromFolder(const QString &directory);
    ~T5Tokenizer() override;

    Result<Encoding> encode(const QString &text, const QString &pair = {}, const std::atomic<bool> *cancel = nullptr) const override;
    Result<Encoding> encodeTarget(const QString &text) const override { return encodeText(text); }
    bool isSpecial(const QString &token) const override;
    QString targetTokenForId(int id) const override { return tokenForId(id); }
    int eosId() const override { return m_eosId; }
    int sourceVocabularySize() const override { return m_size; }

private:
    struct Processor;
    T5Tokenizer();
    Result<Encoding> encodeText(const QString &text) const;
    int idOf(const QString &piece) const;

    std::unique_ptr<Processor> m_processor;
    int m_pieces = 0;   // SentencePiece's own pieces
    int m_extraIds = 0; // <extra_id_0> … after them, in reverse
    int m_size = 0;
    int m_eosId = 1;
};

} // namespace studio
