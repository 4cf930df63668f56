// libFuzzer target: arbitrary bytes as text for the GPT-2 and WordPiece tokenizers (real
// vocabularies) and for the teaching model's tokenizer.
#include "modeltokenizer.h"
#include "tokenizer.h"

#include <cstdint>
#include <memory>

namespace {

struct Tokenizers {
    std::shared_ptr<studio::BpeTokenizer> gpt2;
    std::shared_ptr<studio::WordPieceTokenizer> bert;
    Tokenizers()
    {
        gpt2 = *studio::BpeTokenizer::fromFiles(QStringLiteral(STUDIO_TEST_DATA "/tokenizers/gpt2/vocab.json"),
                                                QStringLiteral(STUDIO_TEST_DATA "/tokenizers/gpt2/merges.txt")).value;
        bert = *studio::WordPieceTokenizer::fromFiles(QStringLiteral(STUDIO_TEST_DATA "/tokenizers/bert-base-uncased/vocab.txt"), {}).value;
    }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const Tokenizers tokenizers;
    const QString text = QString::fromUtf8(reinterpret_cast<const char *>(data), qsizetype(size));
    const auto gpt2 = tokenizers.gpt2->encode(text);
    if (gpt2)
        for (const QString &token : gpt2.value->tokens)
            tokenizers.gpt2->displayToken(token);
    (void)tokenizers.bert->encode(text, text.left(8));
    studio::tokenizeText(text);
    return 0;
}
