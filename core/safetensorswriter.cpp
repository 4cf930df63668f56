#include "safetensorswriter.h"
#include "atomicfile.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <bit>
#include <cmath>
#include <cstring>

namespace studio {

namespace {

quint16 floatToHalf(float value)
{
    const quint32 bits = std::bit_cast<quint32>(value);
    const quint32 sign = (bits >> 16) & 0x8000;
    const int exponent = int((bits >> 23) & 0xFF) - 127 + 15;
    quint32 mantissa = bits & 0x7FFFFF;
    if (((bits >> 23) & 0xFF) == 0xFF) // Inf or NaN
        return quint16(sign | 0x7C00 | (mantissa ? 0x200 : 0));
    if (exponent >= 31)
        return quint16(sign | 0x7C00);
    if (exponent <= 0) { // subnormal or zero
        if (exponent < -10)
            return quint16(sign);
        mantissa |= 0x800000;
        const int shift = 14 - exponent;
        quint32 half = mantissa >> shift;
        const quint32 remainder = mantissa & ((1u << shift) - 1);
        const quint32 halfway = 1u << (shift - 1);
        if (remainder > halfway || (remainder == halfway && (half & 1)))
            ++half;
        return quint16(sign | half);
    }
    quint32 half = sign | quint32(exponent) << 10 | mantissa >> 13;
    const quint32 remainder = mantissa & 0x1FFF;
    if (remainder > 0x1000 || (remainder == 0x1000 && (half & 1)))
        ++half; // may carry into the exponent, which is the right rounding
    return quint16(half);
}

quint16 floatToBfloat(float value)
{
    const quint32 bits = std::bit_cast<quint32>(value);
    if (std::isnan(value))
        return quint16((bits >> 16) | 0x40);
    const quint32 rounding = 0x7FFF + ((bits >> 16) & 1);
    return quint16((bits + rounding) >> 16);
}

} // namespace

QByteArray encodeFloats(const std::vector<float> &values, DType dtype)
{
    QByteArray out;
    if (dtype == DType::F32) {
        out.resize(qsizetype(values.size() * 4));
        std::memcpy(out.data(), values.data(), values.size() * 4);
        return out;
    }
    out.resize(qsizetype(values.size() * 2));
    for (size_t i = 0; i < values.size(); ++i) {
        const quint16 h = dtype == DType::F16 ? floatToHalf(values[i]) : floatToBfloat(values[i]);
        std::memcpy(out.data() + 2 * i, &h, 2);
    }
    return out;
}

Status writeSafetensors(const QString &path, const std::vector<TensorToWrite> &tensors)
{
    QJsonObject header;
    qint64 offset = 0;
    for (const TensorToWrite &tensor : tensors) {
        qint64 count = 1;
        QJsonArray shape;
        for (qint64 d : tensor.shape) {
            count *= d;
            shape.append(d);
        }
        const qint64 size = count * dtypeSize(tensor.dtype);
        header.insert(tensor.name, QJsonObject{{QStringLiteral("dtype"), dtypeName(tensor.dtype)},
                                               {QStringLiteral("shape"), shape},
                                               {QStringLiteral("data_offsets"), QJsonArray{offset, offset + size}}});
        offset += size;
    }
    header.insert(QStringLiteral("__metadata__"), QJsonObject{{QStringLiteral("format"), QStringLiteral("pt")}});
    QByteArray json = QJsonDocument(header).toJson(QJsonDocument::Compact);
    while (json.size() % 8 != 0)
        json.append(' ');
    AtomicFile file(path);
    if (const Status opened = file.open(); !opened)
        return opened;
    const quint64 length = quint64(json.size());
    // Every write must be whole: a short write (full disk) leaves the previous file in place.
    bool complete = file.write(QByteArray(reinterpret_cast<const char *>(&length), 8)) && file.write(json);
    for (size_t t = 0; complete && t < tensors.size(); ++t)
        complete = file.write(tensors[t].bytes());
    return file.commit();
}

} // namespace studio
