#pragma once

// The GPT-2-small-shaped checkpoint the benchmarks measure: 12 layers, 12 heads, n_embd 768,
// vocab 50257, 1024 positions, random weights (~500 MB), with the GPT-2 tokenizer files.

#include "../randomcheckpoint.h"

#include <QCoreApplication>
#include <QFile>

namespace studio::bench {

inline Status writeGpt2Small(const QString &folder)
{
    return testing::writeRandomGpt2(folder, testing::Gpt2Shape{});
}

// The benchmarks' default folder, beside their executables; written the first time it is asked for.
inline Result<QString> gpt2SmallFolder(int argc, char *argv[])
{
    const QString folder = argc > 1 ? QString::fromLocal8Bit(argv[1])
                                    : QCoreApplication::applicationDirPath() + QStringLiteral("/gpt2-small-random");
    if (!QFile::exists(folder + QStringLiteral("/model.safetensors"))) {
        if (const Status written = writeGpt2Small(folder); !written)
            return Result<QString>::failure(written.error);
    }
    return {folder, {}};
}

} // namespace studio::bench
