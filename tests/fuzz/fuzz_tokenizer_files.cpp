// libFuzzer target: arbitrary vocabulary and merges files. The input is split at the first NUL
// byte into vocab.json and merges.txt (BPE) and, read again, into vocab.txt and
// tokenizer_config.json (WordPiece); each tokenizer that loads then encodes a fixed text.
#include "modeltokenizer.h"

#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArray input(reinterpret_cast<const char *>(data), qsizetype(size));
    const qsizetype split = input.indexOf('\0');
    const QByteArray first = split < 0 ? input : input.left(split);
    const QByteArray second = split < 0 ? QByteArray() : input.mid(split + 1);
    const QString text = QStringLiteral("Hello, world! naïve 🦙 lower newer");
    // Whatever the files hold, an encoding that succeeds has one id and one type per token.
    auto check = [](const studio::Result<studio::Encoding> &encoded) {
        if (encoded && (encoded.value->ids.size() != size_t(encoded.value->tokens.size())
                        || encoded.value->tokenTypes.size() != encoded.value->ids.size()))
            __builtin_trap();
    };
    if (const auto bpe = studio::BpeTokenizer::fromBytes(first, second))
        check((*bpe.value)->encode(text));
    if (const auto wordPiece = studio::WordPieceTokenizer::fromBytes(first, second))
        check((*wordPiece.value)->encode(text, text));
    if (const auto sentencePiece = studio::SentencePieceBpeTokenizer::fromBytes(input))
        check((*sentencePiece.value)->encode(text + QStringLiteral("</s>  <s>x")));
    return 0;
}
