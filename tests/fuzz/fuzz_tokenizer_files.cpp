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
    if (const auto bpe = studio::BpeTokenizer::fromBytes(first, second))
        (*bpe.value)->encode(text);
    if (const auto wordPiece = studio::WordPieceTokenizer::fromBytes(first, second))
        (*wordPiece.value)->encode(text, text);
    return 0;
}
