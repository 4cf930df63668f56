#include "embedding.h"
#include "modeltokenizer.h"
#include "testsupport.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

using namespace studio;

namespace {

const QString kData = QStringLiteral(STUDIO_TEST_DATA);

// The .inp file: strings separated by a line "__ggml_vocab_test__"; the .out file: one line of
// ids per string.
QList<std::pair<QString, std::vector<int>>> readVectors(const QString &name)
{
    QFile inp(kData + QStringLiteral("/tokenizers/vectors/") + name + QStringLiteral(".inp"));
    QFile out(kData + QStringLiteral("/tokenizers/vectors/") + name + QStringLiteral(".out"));
    if (!inp.open(QIODevice::ReadOnly) || !out.open(QIODevice::ReadOnly))
        return {};
    QStringList strings = QString::fromUtf8(inp.readAll()).split(QStringLiteral("\n__ggml_vocab_test__\n"));
    strings.removeLast(); // the piece after the last separator is empty
    const QStringList lines = QString::fromUtf8(out.readAll()).split(QLatin1Char('\n'));
    QList<std::pair<QString, std::vector<int>>> vectors;
    for (qsizetype i = 0; i < strings.size(); ++i) {
        std::vector<int> ids;
        for (const QString &id : lines.value(i).split(QLatin1Char(' '), Qt::SkipEmptyParts))
            ids.push_back(id.toInt());
        vectors.append({strings.at(i), ids});
    }
    return vectors;
}

QString describe(const std::vector<int> &ids)
{
    QStringList parts;
    for (int id : ids)
        parts.append(QString::number(id));
    return parts.join(QLatin1Char(' '));
}

} // namespace

class TestModelTokenizer : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void heapMergesEqualGpt2sRule();
    void manySpecialTokensInALongText();
    void gpt2MatchesReferenceVectors();
    void bertMatchesReferenceVectors();
    void tokenizerJsonMatchesVocabAndMerges();
    void tokenizerJsonWithPairMerges();
    void bertPairsAndSpecialTokensByName();
    void gpt2DisplayTokens();
    void gpt2RefusesPairs();
    void gpt2SpecialTokenIsMatchedWhole();
    void badFilesAreReported();
    void idsMustBeWholeNumbers_data();
    void idsMustBeWholeNumbers();
    void brokenTokenizerConfigIsRefused();
    void raisedCancelFlagStopsEncoding();
    void sentencePieceMatchesReferenceVectors_data();
    void sentencePieceMatchesReferenceVectors();
    void sentencePieceTemplateAndDisplay();
    void byteLevelWithItsOwnSplitPattern();
    void idsBackToTokensAndText();
};

void TestModelTokenizer::idsBackToTokensAndText()
{
    // GPT-2: every id names its token, and the tokens' texts put together give the text back.
    const auto gpt2 = BpeTokenizer::fromFiles(kData + QStringLiteral("/tokenizers/gpt2/vocab.json"), kData + QStringLiteral("/tokenizers/gpt2/merges.txt"));
    QVERIFY_OK(gpt2);
    const QString text = QStringLiteral("Héllo wörld — naïve café, 3.14 ✓");
    const auto encoded = (*gpt2.value)->encode(text);
    QVERIFY_OK(encoded);
    QByteArray joined;
    for (size_t i = 0; i < encoded.value->ids.size(); ++i) {
        const QString token = (*gpt2.value)->tokenForId(encoded.value->ids[i]);
        QCOMPARE(token, encoded.value->tokens.at(qsizetype(i)));
        QVERIFY(!(*gpt2.value)->isSpecial(token));
        joined += (*gpt2.value)->tokenText(token);
    }
    QCOMPARE(QString::fromUtf8(joined), text);
    QCOMPARE((*gpt2.value)->tokenForId(50256), QStringLiteral("<|endoftext|>"));
    QVERIFY((*gpt2.value)->isSpecial(QStringLiteral("<|endoftext|>")));
    QCOMPARE((*gpt2.value)->tokenText(QStringLiteral("<|endoftext|>")), QByteArrayLiteral("<|endoftext|>"));
    QCOMPARE((*gpt2.value)->tokenForId(50257), QString());
    QCOMPARE((*gpt2.value)->tokenForId(-1), QString());

    // SentencePiece: "▁" is a space, byte pieces are their bytes, <s> is special.
    const auto llama = SentencePieceBpeTokenizer::fromFile(kData + QStringLiteral("/checkpoints/llama-random-tiny/tokenizer.json"));
    QVERIFY_OK(llama);
    const SentencePieceBpeTokenizer &sp = **llama.value;
    const auto pieces = sp.encode(QStringLiteral("The cat\nsat"));
    QVERIFY_OK(pieces);
    QVERIFY(sp.isSpecial(pieces.value->tokens.front())); // <s>
    QByteArray spText;
    for (size_t i = 1; i < pieces.value->ids.size(); ++i) {
        QCOMPARE(sp.tokenForId(pieces.value->ids[i]), pieces.value->tokens.at(qsizetype(i)));
        QVERIFY(!sp.isSpecial(pieces.value->tokens.at(qsizetype(i))));
        spText += sp.tokenText(pieces.value->tokens.at(qsizetype(i)));
    }
    QCOMPARE(spText, QByteArrayLiteral(" The cat\nsat")); // the prepended "▁" reads as a space
    QCOMPARE(sp.tokenText(QStringLiteral("<0xE2>")), QByteArray(1, char(0xE2)));

    // WordPiece: [CLS], [SEP] and [PAD] are special; "##" joins the word before.
    const auto bert = WordPieceTokenizer::fromFiles(kData + QStringLiteral("/tokenizers/bert-base-uncased/vocab.txt"), {});
    QVERIFY_OK(bert);
    QVERIFY((*bert.value)->isSpecial(QStringLiteral("[CLS]")));
    QVERIFY((*bert.value)->isSpecial(QStringLiteral("[SEP]")));
    QVERIFY(!(*bert.value)->isSpecial(QStringLiteral("the")));
    QCOMPARE((*bert.value)->tokenText(QStringLiteral("##ing")), QByteArrayLiteral("ing"));
    QCOMPARE((*bert.value)->tokenForId(101), QStringLiteral("[CLS]"));
}

void TestModelTokenizer::byteLevelWithItsOwnSplitPattern()
{
    // A Llama-3-style tokenizer.json: its own split pattern (numbers in groups of at most three,
    // a space before a digit on its own), ignore_merges, and BOS from the template.
    const QString pattern = QStringLiteral(R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)");
    QJsonObject vocab;
    int next = 0;
    for (const QChar c : QStringLiteral("Helowrd123456"))
        if (!vocab.contains(QString(c)))
            vocab.insert(QString(c), next++);
    vocab.insert(QStringLiteral("Ġ"), next++);
    vocab.insert(QStringLiteral("Hello"), 50);
    vocab.insert(QStringLiteral("Ġworld"), 51);
    vocab.insert(QStringLiteral("12"), 52);
    vocab.insert(QStringLiteral("123"), 53);
    vocab.insert(QStringLiteral("456"), 54);
    const QJsonObject root{
        {QStringLiteral("normalizer"), QJsonValue::Null},
        {QStringLiteral("pre_tokenizer"), QJsonObject{{QStringLiteral("type"), QStringLiteral("Sequence")},
            {QStringLiteral("pretokenizers"), QJsonArray{
                QJsonObject{{QStringLiteral("type"), QStringLiteral("Split")}, {QStringLiteral("pattern"), QJsonObject{{QStringLiteral("Regex"), pattern}}},
                            {QStringLiteral("behavior"), QStringLiteral("Isolated")}, {QStringLiteral("invert"), false}},
                QJsonObject{{QStringLiteral("type"), QStringLiteral("ByteLevel")}, {QStringLiteral("add_prefix_space"), false},
                            {QStringLiteral("use_regex"), false}}}}}},
        {QStringLiteral("added_tokens"), QJsonArray{QJsonObject{{QStringLiteral("id"), 100}, {QStringLiteral("content"), QStringLiteral("<|begin_of_text|>")}}}},
        {QStringLiteral("post_processor"), QJsonObject{{QStringLiteral("type"), QStringLiteral("Sequence")}, {QStringLiteral("processors"), QJsonArray{
            QJsonObject{{QStringLiteral("type"), QStringLiteral("ByteLevel")}},
            QJsonObject{{QStringLiteral("type"), QStringLiteral("TemplateProcessing")},
                        {QStringLiteral("single"), QJsonArray{QJsonObject{{QStringLiteral("SpecialToken"), QJsonObject{{QStringLiteral("id"), QStringLiteral("<|begin_of_text|>")}}}},
                                                              QJsonObject{{QStringLiteral("Sequence"), QJsonObject{{QStringLiteral("id"), QStringLiteral("A")}}}}}},
                        {QStringLiteral("special_tokens"), QJsonObject{{QStringLiteral("<|begin_of_text|>"), QJsonObject{
                            {QStringLiteral("id"), QStringLiteral("<|begin_of_text|>")}, {QStringLiteral("ids"), QJsonArray{100}},
                            {QStringLiteral("tokens"), QJsonArray{QStringLiteral("<|begin_of_text|>")}}}}}}}}}}},
        {QStringLiteral("model"), QJsonObject{{QStringLiteral("type"), QStringLiteral("BPE")}, {QStringLiteral("ignore_merges"), true},
                                              {QStringLiteral("vocab"), vocab}, {QStringLiteral("merges"), QJsonArray{QStringLiteral("1 2")}}}},
    };
    QVERIFY(BpeTokenizer::isByteLevel(root));
    const auto tokenizer = BpeTokenizer::fromTokenizerJsonBytes(QJsonDocument(root).toJson());
    QVERIFY_OK(tokenizer);
    const Result<Encoding> encoded = (*tokenizer.value)->encode(QStringLiteral("Hello world 123456"));
    QVERIFY_OK(encoded);
    // "Hello" and "Ġworld" whole (ignore_merges, no merge builds them), "Ġ" alone before the
    // digits, then "123" (whole) and "456" (whole): GPT-2's pattern would have made one "Ġ123456".
    QCOMPARE(encoded.value->tokens, (QStringList{QStringLiteral("<|begin_of_text|>"), QStringLiteral("Hello"), QStringLiteral("Ġworld"),
                                                 QStringLiteral("Ġ"), QStringLiteral("123"), QStringLiteral("456")}));
    QCOMPARE(encoded.value->ids.front(), 100);
    QCOMPARE(encoded.value->ids.size(), size_t(6));
    // Without ignore_merges "123" is built by the merges: "1 2" gives "12", and no merge joins "3".
    QJsonObject merged = root;
    QJsonObject model = merged.value(QStringLiteral("model")).toObject();
    model.insert(QStringLiteral("ignore_merges"), false);
    merged.insert(QStringLiteral("model"), model);
    const auto plain = BpeTokenizer::fromTokenizerJsonBytes(QJsonDocument(merged).toJson());
    QVERIFY_OK(plain);
    QCOMPARE((*plain.value)->encode(QStringLiteral("123")).value->tokens,
             (QStringList{QStringLiteral("<|begin_of_text|>"), QStringLiteral("12"), QStringLiteral("3")}));
    // A SentencePiece-style file is not byte-level.
    QVERIFY(!BpeTokenizer::isByteLevel(QJsonDocument::fromJson(testing::readAll(kData + QStringLiteral("/checkpoints/mistral-random-tiny/tokenizer.json"))).object()));
}

void TestModelTokenizer::sentencePieceMatchesReferenceVectors_data()
{
    // The Phi-3 (= Llama 2) vocabulary in both layouts: the older normalizer (Prepend + Replace)
    // and the newer Metaspace pre-tokenizer, without and with added tokens (rstrip, adjacent
    // tokens, look-alikes, exotic whitespace).
    QTest::addColumn<QString>("checkpoint");
    QTest::addColumn<QString>("vectors");
    QTest::addColumn<int>("count");
    QTest::newRow("legacy layout") << QStringLiteral("llama-random-tiny") << QStringLiteral("phi-3") << 46;
    QTest::newRow("legacy layout, added tokens") << QStringLiteral("llama-random-tiny") << QStringLiteral("phi-3-added") << 25;
    QTest::newRow("metaspace") << QStringLiteral("mistral-random-tiny") << QStringLiteral("phi-3-4k-metaspace") << 46;
    QTest::newRow("metaspace, added tokens") << QStringLiteral("mistral-random-tiny") << QStringLiteral("phi-3-4k-metaspace-added") << 25;
}

void TestModelTokenizer::sentencePieceMatchesReferenceVectors()
{
    QFETCH(QString, checkpoint);
    QFETCH(QString, vectors);
    QFETCH(int, count);
    const auto tokenizer = SentencePieceBpeTokenizer::fromFile(kData + QStringLiteral("/checkpoints/") + checkpoint + QStringLiteral("/tokenizer.json"));
    QVERIFY_OK(tokenizer);
    const auto cases = readVectors(vectors);
    QCOMPARE(cases.size(), count);
    int failures = 0;
    for (const auto &[text, expected] : cases) {
        const Result<Encoding> encoding = (*tokenizer.value)->encodeText(text);
        QVERIFY_OK(encoding);
        if (encoding.value->ids != expected) {
            ++failures;
            qWarning("\"%s\": got %s, expected %s", qPrintable(text), qPrintable(describe(encoding.value->ids)), qPrintable(describe(expected)));
        }
    }
    QCOMPARE(failures, 0);
}

void TestModelTokenizer::sentencePieceTemplateAndDisplay()
{
    const auto tokenizer = SentencePieceBpeTokenizer::fromFile(kData + QStringLiteral("/checkpoints/llama-random-tiny/tokenizer.json"));
    QVERIFY_OK(tokenizer);
    const SentencePieceBpeTokenizer &t = **tokenizer.value;
    // encode() adds the template's BOS; the README's leading-space example.
    const Result<Encoding> encoded = t.encode(QStringLiteral(" Hello world"));
    QVERIFY_OK(encoded);
    QCOMPARE(encoded.value->ids, (std::vector<int>{1, 29871, 15043, 3186}));
    QCOMPARE(encoded.value->tokens, (QStringList{QStringLiteral("<s>"), QStringLiteral("\u2581"), QStringLiteral("\u2581Hello"), QStringLiteral("\u2581world")}));
    QVERIFY(!t.encode(QStringLiteral("a"), QStringLiteral("b")));
    QCOMPARE(t.displayToken(QStringLiteral("\u2581the")), QStringLiteral("\u2423the"));
    QCOMPARE(t.displayToken(QStringLiteral("<0x0A>")), QStringLiteral("\n"));
    QCOMPARE(t.displayToken(QStringLiteral("<0xF0>")), QStringLiteral("<0xF0>")); // a lone byte of a longer character
    QCOMPARE(t.displayToken(QStringLiteral("<s>")), QStringLiteral("<s>"));
    // tokenizer_config.json of a Llama tokenizer decides BOS and EOS, as transformers does.
    const auto configured = SentencePieceBpeTokenizer::fromFile(kData + QStringLiteral("/checkpoints/llama-random-tiny/tokenizer.json"));
    QVERIFY_OK(configured);
    QVERIFY_OK((*configured.value)->applyTokenizerConfig(QJsonObject{
        {QStringLiteral("tokenizer_class"), QStringLiteral("LlamaTokenizer")}, {QStringLiteral("add_bos_token"), false},
        {QStringLiteral("add_eos_token"), true}, {QStringLiteral("eos_token"), QJsonObject{{QStringLiteral("content"), QStringLiteral("</s>")}}}}));
    QCOMPARE((*configured.value)->encode(QStringLiteral("Hello")).value->ids, (std::vector<int>{15043, 2}));
    QVERIFY(!(*configured.value)->applyTokenizerConfig(QJsonObject{
        {QStringLiteral("tokenizer_class"), QStringLiteral("LlamaTokenizerFast")}, {QStringLiteral("add_bos_token"), true},
        {QStringLiteral("bos_token"), QStringLiteral("<nope>")}}));
    // Other classes keep the file's template.
    const auto other = SentencePieceBpeTokenizer::fromFile(kData + QStringLiteral("/checkpoints/llama-random-tiny/tokenizer.json"));
    QVERIFY_OK((*other.value)->applyTokenizerConfig(QJsonObject{{QStringLiteral("tokenizer_class"), QStringLiteral("PreTrainedTokenizerFast")},
                                                               {QStringLiteral("add_bos_token"), false}}));
    QCOMPARE((*other.value)->encode(QStringLiteral("Hello")).value->ids, (std::vector<int>{1, 15043}));
    // Files that are not a SentencePiece-style BPE say what they are.
    QVERIFY(SentencePieceBpeTokenizer::fromBytes(R"({"model": {"type": "Unigram"}})").error.contains(QStringLiteral("Unigram")));
    QVERIFY(SentencePieceBpeTokenizer::fromBytes(R"({"model": {"type": "BPE", "vocab": {"a": 0}}, "pre_tokenizer": {"type": "ByteLevel"}})")
                .error.contains(QStringLiteral("ByteLevel")));
    QVERIFY(SentencePieceBpeTokenizer::fromBytes(R"({"model": {"type": "BPE", "vocab": {"a": 0.5}}})").error.contains(QStringLiteral("whole number")));
    QVERIFY(!SentencePieceBpeTokenizer::fromBytes("{"));
}

void TestModelTokenizer::gpt2MatchesReferenceVectors()
{
    const auto tokenizer = BpeTokenizer::fromFiles(kData + QStringLiteral("/tokenizers/gpt2/vocab.json"),
                                                   kData + QStringLiteral("/tokenizers/gpt2/merges.txt"));
    QVERIFY2(tokenizer, qPrintable(tokenizer.error));
    const auto vectors = readVectors(QStringLiteral("gpt2"));
    QCOMPARE(vectors.size(), 46);
    for (const auto &[text, expected] : vectors) {
        const Result<Encoding> encoding = (*tokenizer.value)->encode(text);
        QVERIFY(encoding);
        QVERIFY2(encoding.value->ids == expected,
                 qPrintable(QStringLiteral("\"%1\": got %2, expected %3").arg(text, describe(encoding.value->ids), describe(expected))));
    }
}

void TestModelTokenizer::bertMatchesReferenceVectors()
{
    const auto tokenizer = WordPieceTokenizer::fromFiles(kData + QStringLiteral("/tokenizers/bert-base-uncased/vocab.txt"), {});
    QVERIFY2(tokenizer, qPrintable(tokenizer.error));
    const auto vectors = readVectors(QStringLiteral("bert-uncased"));
    QCOMPARE(vectors.size(), 46);
    for (const auto &[text, expected] : vectors) {
        const Result<Encoding> encoding = (*tokenizer.value)->encode(text);
        QVERIFY(encoding);
        // encode adds [CLS] ... [SEP]; the vectors hold the pieces between.
        std::vector<int> ids(encoding.value->ids.begin() + 1, encoding.value->ids.end() - 1);
        QVERIFY2(ids == expected, qPrintable(QStringLiteral("\"%1\": got %2, expected %3").arg(text, describe(ids), describe(expected))));
        QCOMPARE(encoding.value->ids.front(), 101);
        QCOMPARE(encoding.value->ids.back(), 102);
    }
}

void TestModelTokenizer::tokenizerJsonMatchesVocabAndMerges()
{
    const QString dir = kData + QStringLiteral("/checkpoints/hf-fake-gpt2/");
    const auto fromFiles = BpeTokenizer::fromFiles(dir + QStringLiteral("vocab.json"), dir + QStringLiteral("merges.txt"));
    const auto fromJson = BpeTokenizer::fromTokenizerJson(dir + QStringLiteral("tokenizer.json"));
    QVERIFY2(fromFiles && fromJson, qPrintable(fromFiles.error + fromJson.error));
    for (const auto &[text, expected] : readVectors(QStringLiteral("gpt2"))) {
        QCOMPARE((*fromJson.value)->encode(text).value->ids, expected);
        QCOMPARE((*fromFiles.value)->encode(text).value->ids, expected);
    }
}

void TestModelTokenizer::tokenizerJsonWithPairMerges()
{
    // Newer tokenizer.json files store merges as ["a", "b"] pairs.
    QFile original(kData + QStringLiteral("/checkpoints/hf-fake-gpt2/tokenizer.json"));
    QVERIFY(original.open(QIODevice::ReadOnly));
    QJsonObject root = QJsonDocument::fromJson(original.readAll()).object();
    QJsonObject model = root.value(QStringLiteral("model")).toObject();
    QJsonArray pairs;
    for (const QJsonValue &merge : model.value(QStringLiteral("merges")).toArray()) {
        const QStringList parts = merge.toString().split(QLatin1Char(' '));
        pairs.append(QJsonArray{parts.at(0), parts.at(1)});
    }
    QCOMPARE(pairs.size(), 50000);
    model.insert(QStringLiteral("merges"), pairs);
    root.insert(QStringLiteral("model"), model);
    QTemporaryDir dir;
    QFile file(dir.filePath(QStringLiteral("tokenizer.json")));
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(QJsonDocument(root).toJson(QJsonDocument::Compact));
    file.close();
    const auto tokenizer = BpeTokenizer::fromTokenizerJson(file.fileName());
    QVERIFY2(tokenizer, qPrintable(tokenizer.error));
    for (const auto &[text, expected] : readVectors(QStringLiteral("gpt2")))
        QCOMPARE((*tokenizer.value)->encode(text).value->ids, expected);
}

void TestModelTokenizer::bertPairsAndSpecialTokensByName()
{
    // bert-random-tiny's vocabulary puts [CLS] at 2 and [SEP] at 3: looked up by name, not by number.
    const QString dir = kData + QStringLiteral("/checkpoints/bert-random-tiny/");
    const auto tokenizer = WordPieceTokenizer::fromFiles(dir + QStringLiteral("vocab.txt"), dir + QStringLiteral("tokenizer_config.json"));
    QVERIFY2(tokenizer, qPrintable(tokenizer.error));
    const Result<Encoding> encoding = (*tokenizer.value)->encode(QStringLiteral("Hello, world!"), QStringLiteral("Is it?"));
    QVERIFY(encoding);
    QCOMPARE(encoding.value->ids.front(), 2);
    QCOMPARE(encoding.value->tokens.front(), QStringLiteral("[CLS]"));
    const qsizetype firstSep = encoding.value->tokens.indexOf(QStringLiteral("[SEP]"));
    QVERIFY(firstSep > 0);
    QCOMPARE(encoding.value->ids[size_t(firstSep)], 3);
    QCOMPARE(encoding.value->tokens.last(), QStringLiteral("[SEP]"));
    for (qsizetype i = 0; i < encoding.value->tokens.size(); ++i)
        QCOMPARE(encoding.value->tokenTypes[size_t(i)], i <= firstSep ? 0 : 1);
    QVERIFY(encoding.value->tokens.contains(QStringLiteral(",")));
}

void TestModelTokenizer::gpt2DisplayTokens()
{
    const auto tokenizer = BpeTokenizer::fromFiles(kData + QStringLiteral("/tokenizers/gpt2/vocab.json"),
                                                   kData + QStringLiteral("/tokenizers/gpt2/merges.txt"));
    const BpeTokenizer &bpe = **tokenizer.value;
    QCOMPARE(bpe.displayToken(QStringLiteral("Ġworld")), QStringLiteral("␣world"));
    QCOMPARE(bpe.displayToken(QStringLiteral("Ċ")), QStringLiteral("↵"));
    QCOMPARE(bpe.displayToken(QStringLiteral("<|endoftext|>")), QStringLiteral("<|endoftext|>"));
    // "🦙" is four bytes split over tokens: a partial token shows its bytes.
    const Result<Encoding> llama = bpe.encode(QStringLiteral(" 🦙"));
    QVERIFY(llama.value->tokens.size() >= 2);
    QVERIFY(bpe.displayToken(llama.value->tokens.last()).startsWith(QLatin1Char('<')));
    QCOMPARE(BpeTokenizer::symbolsToBytes(BpeTokenizer::bytesToSymbols(QByteArray("\x00\xff a\n", 5))), QByteArray("\x00\xff a\n", 5));
}

void TestModelTokenizer::gpt2RefusesPairs()
{
    const auto tokenizer = BpeTokenizer::fromData({{QStringLiteral("a"), 0}}, {});
    QVERIFY(tokenizer);
    const Result<Encoding> encoding = (*tokenizer.value)->encode(QStringLiteral("a"), QStringLiteral("a"));
    QVERIFY(!encoding);
    QVERIFY(encoding.error.contains(QStringLiteral("pair")));
    // A piece outside a toy vocabulary without an unknown token is named, not dropped.
    const Result<Encoding> unknown = (*tokenizer.value)->encode(QStringLiteral("b"));
    QVERIFY(!unknown);
    QVERIFY2(unknown.error.contains(QStringLiteral("\"b\"")), qPrintable(unknown.error));
    // With one, the piece becomes it (a token the vocabulary lacks cannot be the unknown token).
    const auto withUnknown = BpeTokenizer::fromData({{QStringLiteral("a"), 0}, {QStringLiteral("<unk>"), 1}}, {});
    (*withUnknown.value)->setUnknownToken(QStringLiteral("<missing>"));
    QCOMPARE((*withUnknown.value)->unknownToken(), QString());
    (*withUnknown.value)->setUnknownToken(QStringLiteral("<unk>"));
    const Result<Encoding> mapped = (*withUnknown.value)->encode(QStringLiteral("ab"));
    QVERIFY2(mapped, qPrintable(mapped.error));
    QCOMPARE(mapped.value->ids, (std::vector<int>{0, 1}));
    QCOMPARE(mapped.value->tokens, (QStringList{QStringLiteral("a"), QStringLiteral("<unk>")}));
    QCOMPARE(mapped.value->tokenTypes.size(), size_t(2));
}

void TestModelTokenizer::gpt2SpecialTokenIsMatchedWhole()
{
    const auto tokenizer = BpeTokenizer::fromFiles(kData + QStringLiteral("/tokenizers/gpt2/vocab.json"),
                                                   kData + QStringLiteral("/tokenizers/gpt2/merges.txt"));
    const Result<Encoding> encoding = (*tokenizer.value)->encode(QStringLiteral("Hi<|endoftext|>there"));
    QCOMPARE(encoding.value->ids, (std::vector<int>{17250, 50256, 8117}));
}

void TestModelTokenizer::badFilesAreReported()
{
    QTemporaryDir dir;
    const QString vocab = dir.filePath(QStringLiteral("vocab.json"));
    const QString merges = dir.filePath(QStringLiteral("merges.txt"));
    QFile v(vocab);
    QVERIFY(v.open(QIODevice::WriteOnly));
    v.write("[1, 2]");
    v.close();
    QFile m(merges);
    QVERIFY(m.open(QIODevice::WriteOnly));
    m.write("#version: 0.2\na b c\n");
    m.close();
    auto result = BpeTokenizer::fromFiles(vocab, merges);
    QVERIFY(!result);
    QVERIFY2(result.error.contains(QStringLiteral("not a JSON object")), qPrintable(result.error));
    QVERIFY(v.open(QIODevice::WriteOnly));
    v.write("{\"a\": 0}");
    v.close();
    result = BpeTokenizer::fromFiles(vocab, merges);
    QVERIFY(!result);
    QVERIFY2(result.error.contains(QStringLiteral("line 2")), qPrintable(result.error));
    const auto missing = BpeTokenizer::fromFiles(dir.filePath(QStringLiteral("nope.json")), merges);
    QVERIFY(!missing);
    QVERIFY(missing.error.contains(QStringLiteral("cannot read")));
    // A WordPiece vocabulary without [CLS] cannot frame an input.
    const auto noCls = WordPieceTokenizer::fromData({QStringLiteral("[UNK]"), QStringLiteral("[SEP]")}, {});
    QVERIFY(!noCls);
    QVERIFY(noCls.error.contains(QStringLiteral("[CLS]")));
}

void TestModelTokenizer::idsMustBeWholeNumbers_data()
{
    QTest::addColumn<QByteArray>("vocab");
    QTest::addColumn<bool>("tokenizerJson");
    QTest::newRow("fractional in vocab.json") << QByteArray(R"({"a": 0, "b": 1.5})") << false;
    QTest::newRow("string in vocab.json") << QByteArray(R"({"a": 0, "b": "1"})") << false;
    QTest::newRow("fractional in tokenizer.json") << QByteArray(R"({"a": 0, "b": 0.25})") << true;
    QTest::newRow("string in tokenizer.json") << QByteArray(R"({"a": 0, "b": "one"})") << true;
    QTest::newRow("negative in tokenizer.json") << QByteArray(R"({"a": 0, "b": -3})") << true;
}

void TestModelTokenizer::idsMustBeWholeNumbers()
{
    // An id that is not a whole number used to become 0: the wrong token, silently.
    QFETCH(QByteArray, vocab);
    QFETCH(bool, tokenizerJson);
    Result<std::shared_ptr<BpeTokenizer>> result = Result<std::shared_ptr<BpeTokenizer>>::failure({});
    QTemporaryDir dir;
    if (tokenizerJson) {
        const QString path = dir.filePath(QStringLiteral("tokenizer.json"));
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(R"({"model": {"type": "BPE", "vocab": )" + vocab + R"(, "merges": []}})");
        file.close();
        result = BpeTokenizer::fromTokenizerJson(path);
    } else {
        result = BpeTokenizer::fromBytes(vocab, "#version: 0.2\n");
    }
    QVERIFY(!result);
    QVERIFY2(result.error.contains(QStringLiteral("the id of \"b\" is not a token id")), qPrintable(result.error));
}

void TestModelTokenizer::brokenTokenizerConfigIsRefused()
{
    // Ignored, a broken configuration would silently change lower-casing.
    const QByteArray vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n";
    const auto broken = WordPieceTokenizer::fromBytes(vocab, R"({"do_lower_case": false,)");
    QVERIFY(!broken);
    QVERIFY2(broken.error.contains(QStringLiteral("tokenizer_config.json is not a JSON object")), qPrintable(broken.error));
    QVERIFY(!WordPieceTokenizer::fromBytes(vocab, "[1]"));
    QVERIFY_OK(WordPieceTokenizer::fromBytes(vocab, R"({"do_lower_case": false})"));
}

namespace {

// GPT-2's rule as its reference code runs it: merge every occurrence of the lowest-ranked pair,
// left to right, until no pair can merge. Quadratic, kept here as the independent reference.
QStringList referenceBpe(const QString &word, const QHash<QString, int> &ranks)
{
    QStringList symbols;
    for (QChar c : word)
        symbols.append(QString(c));
    while (symbols.size() > 1) {
        int bestRank = std::numeric_limits<int>::max();
        qsizetype bestAt = -1;
        for (qsizetype i = 0; i + 1 < symbols.size(); ++i) {
            const int rank = ranks.value(symbols.at(i) + QLatin1Char(' ') + symbols.at(i + 1), -1);
            if (rank >= 0 && rank < bestRank) {
                bestRank = rank;
                bestAt = i;
            }
        }
        if (bestAt < 0)
            break;
        const QString first = symbols.at(bestAt), second = symbols.at(bestAt + 1);
        QStringList merged;
        for (qsizetype i = 0; i < symbols.size();) {
            if (i + 1 < symbols.size() && symbols.at(i) == first && symbols.at(i + 1) == second) {
                merged.append(first + second);
                i += 2;
            } else {
                merged.append(symbols.at(i++));
            }
        }
        symbols = merged;
    }
    return symbols;
}

} // namespace

void TestModelTokenizer::heapMergesEqualGpt2sRule()
{
    const QString folder = QStringLiteral(STUDIO_TEST_DATA "/tokenizers/gpt2/");
    const auto tokenizer = BpeTokenizer::fromFiles(folder + QStringLiteral("vocab.json"), folder + QStringLiteral("merges.txt"));
    QVERIFY_OK(tokenizer);
    QHash<QString, int> ranks;
    QFile merges(folder + QStringLiteral("merges.txt"));
    QVERIFY(merges.open(QIODevice::ReadOnly));
    int rank = 0;
    for (const QByteArray &line : merges.readAll().split('\n'))
        if (!line.isEmpty() && !line.startsWith("#version") && !ranks.contains(QString::fromUtf8(line.trimmed())))
            ranks.insert(QString::fromUtf8(line.trimmed()), rank++);
    // Words that stress the order of merges: repeats, overlapping pairs, long runs, real words.
    SplitMix64 random(11);
    const QString alphabet = QStringLiteral("aaabbeeilnorsttĠ");
    QStringList words{QStringLiteral("aaaaaaa"), QStringLiteral("ĠTheĠtheĠthe"), QStringLiteral("lowerlowestnewestwidest"),
                      QStringLiteral("ĠAttentionĠStudioĠtransformers"), QString(300, QLatin1Char('a')), QString(257, QLatin1Char('e'))};
    for (int w = 0; w < 300; ++w) {
        QString word;
        const int length = 1 + int(random.next() % 60);
        for (int i = 0; i < length; ++i)
            word.append(alphabet.at(qsizetype(random.next() % quint64(alphabet.size()))));
        words.append(word);
    }
    for (const QString &word : words)
        QCOMPARE((*tokenizer.value)->bpe(word), referenceBpe(word, ranks));
    // A pathological word of 120,000 letters is split too (it once took most of a minute).
    const QString huge = QString(120000, QLatin1Char('z'));
    QCOMPARE((*tokenizer.value)->bpe(huge).join(QString()), huge);
}

void TestModelTokenizer::manySpecialTokensInALongText()
{
    // Thousands of special tokens in a long text, found in one pass each, in order.
    const QString folder = QStringLiteral(STUDIO_TEST_DATA "/tokenizers/gpt2/");
    const auto tokenizer = BpeTokenizer::fromFiles(folder + QStringLiteral("vocab.json"), folder + QStringLiteral("merges.txt"));
    QVERIFY_OK(tokenizer);
    QString text;
    for (int i = 0; i < 5000; ++i)
        text += QStringLiteral("Hi<|endoftext|>");
    const auto encoding = (*tokenizer.value)->encode(text);
    QVERIFY_OK(encoding);
    QCOMPARE(encoding.value->tokens.count(QStringLiteral("<|endoftext|>")), 5000);
    QCOMPARE(encoding.value->tokens.size(), 10000);
}

void TestModelTokenizer::raisedCancelFlagStopsEncoding()
{
    // The window's Cancel raises the flag while a long text is tokenized: both tokenizers stop
    // with a failure instead of finishing the whole text; a lowered flag changes nothing.
    const auto bpe = BpeTokenizer::fromFiles(kData + QStringLiteral("/tokenizers/gpt2/vocab.json"),
                                             kData + QStringLiteral("/tokenizers/gpt2/merges.txt"));
    const auto wordPiece = WordPieceTokenizer::fromFiles(kData + QStringLiteral("/tokenizers/bert-base-uncased/vocab.txt"), {});
    QVERIFY_OK(bpe);
    QVERIFY_OK(wordPiece);
    const QString text = QStringLiteral("The quick brown fox jumps over the lazy dog. ").repeated(2000);
    std::atomic<bool> cancel{true};
    const Result<Encoding> stoppedBpe = (*bpe.value)->encode(text, {}, &cancel);
    const Result<Encoding> stoppedWordPiece = (*wordPiece.value)->encode(text, text, &cancel);
    QVERIFY(!stoppedBpe);
    QVERIFY(!stoppedWordPiece);
    QCOMPARE(stoppedBpe.error, cancelledMessage());
    QCOMPARE(stoppedWordPiece.error, cancelledMessage());
    cancel = false;
    const Result<Encoding> whole = (*bpe.value)->encode(text, {}, &cancel);
    QVERIFY_OK(whole);
    QCOMPARE(whole.value->ids, (*bpe.value)->encode(text).value->ids);
    QVERIFY_OK((*wordPiece.value)->encode(text, text, &cancel));
}

QTEST_GUILESS_MAIN(TestModelTokenizer)
#include "tst_modeltokenizer.moc"
