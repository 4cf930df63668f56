#pragma once

#include "safetensors.h"

#include <QByteArray>
#include <QString>

#include <functional>
#include <vector>

namespace studio {

// Writes a safetensors file: 8-byte header length, JSON header (padded with spaces to 8 bytes),
// then the tensors' bytes in order. Used to make test fixtures and benchmark checkpoints.
struct TensorToWrite {
    QString name;
    DType dtype = DType::F32;
    std::vector<qint64> shape;
    // Produces the bytes (elements × dtype size) when the file is written, so that large
    // checkpoints never sit in memory whole.
    std::function<QByteArray()> bytes;
};

// Writes atomically; on failure says why.
Status writeSafetensors(const QString &path, const std::vector<TensorToWrite> &tensors);

// Float data as F32, F16 or BF16 bytes (round to nearest even).
QByteArray encodeFloats(const std::vector<float> &values, DType dtype);

} // namespace studio
