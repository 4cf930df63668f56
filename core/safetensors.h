#pragma once

#include "result.h"
#include "tensor.h"

#include <QFile>
#include <QHash>
#include <QString>

#include <memory>
#include <optional>
#include <vector>

namespace studio {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, Bool };

QString dtypeName(DType dtype);
int dtypeSize(DType dtype);

// One tensor inside a memory-mapped safetensors file. The bytes belong to the file's mapping.
struct TensorView {
    QString name;
    DType dtype = DType::F32;
    std::vector<qint64> shape; // empty for a 0-d (scalar) tensor
    const uchar *data = nullptr;
    qint64 byteCount = 0;

    qint64 elementCount() const;
    QString shapeText() const; // "[768, 2304]"
};

// A safetensors file, memory-mapped (QFile::map), never read whole. Every header entry is checked
// before use: header length, JSON, dtype, shape, byte size = elements × dtype size, offsets inside
// the data area and not overlapping.
class SafetensorsFile {
public:
    // The open file, or a message naming the file, the tensor and the problem.
    static Result<std::unique_ptr<SafetensorsFile>> open(const QString &path);

    const QString &path() const { return m_path; }
    qint64 fileSize() const { return m_size; }
    const QHash<QString, TensorView> &tensors() const { return m_tensors; }
    const TensorView *find(const QString &name) const;

    // The checks of open() on bytes in memory: the tensors (views into bytes), or what is wrong.
    // The bytes must outlive the views.
    static Result<QHash<QString, TensorView>> parse(const uchar *bytes, qint64 size);

private:
    SafetensorsFile() = default;
    QString m_path;
    QFile m_file;
    uchar *m_map = nullptr;
    qint64 m_size = 0;
    QHash<QString, TensorView> m_tensors;
};

// The largest header this reader accepts. Real headers are kilobytes to a few megabytes.
inline constexpr qint64 kMaxSafetensorsHeader = 100LL * 1024 * 1024;

// Converts a tensor's elements to float (F32 as is; F16, BF16 and F64 converted). Other dtypes,
// or a count that does not match, are refused with a message.
Status readFloats(const TensorView &view, float *out, qint64 count);
// count 16-bit floats (F16 or BF16, little-endian) at p as float: an exact conversion.
void halfsToFloats(DType dtype, const uchar *p, qint64 count, float *out);
// Whether any of count 16-bit floats at p is NaN or ±∞ (their exponent bits all set).
bool halfsHaveNonFinite(DType dtype, const uchar *p, qint64 count);
// Whether any of the floats is ±∞ or NaN.
bool floatsHaveNonFinite(const float *data, qint64 count);

} // namespace studio
