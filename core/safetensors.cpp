#include "safetensors.h"
#include "parallel.h"
#include "regularfile.h"

#include <QThread>
#include <QtEndian>

#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSet>
#include <QJsonObject>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>
#include <limits>

namespace studio {

namespace {

struct DTypeInfo {
    const char *name;
    DType dtype;
    int size;
};

constexpr DTypeInfo kDTypes[] = {
    {"F64", DType::F64, 8}, {"F32", DType::F32, 4}, {"F16", DType::F16, 2}, {"BF16", DType::BF16, 2},
    {"I64", DType::I64, 8}, {"I32", DType::I32, 4}, {"I16", DType::I16, 2}, {"I8", DType::I8, 1},
    {"U8", DType::U8, 1},   {"BOOL", DType::Bool, 1},
};

float halfToFloat(quint16 h)
{
    const quint32 sign = quint32(h & 0x8000) << 16;
    const quint32 exponent = (h >> 10) & 0x1F;
    quint32 mantissa = h & 0x3FF;
    quint32 bits;
    if (exponent == 0) {
        if (mantissa == 0) {
            bits = sign;
        } else { // subnormal: normalise
            int e = -1;
            do {
                ++e;
                mantissa <<= 1;
            } while ((mantissa & 0x400) == 0);
            bits = sign | quint32(127 - 15 - e) << 23 | (mantissa & 0x3FF) << 13;
        }
    } else if (exponent == 0x1F) {
        bits = sign | 0x7F800000 | mantissa << 13; // Inf or NaN
    } else {
        bits = sign | (exponent + 127 - 15) << 23 | mantissa << 13;
    }
    return std::bit_cast<float>(bits);
}

template<typename T>
T readLittleEndian(const uchar *p)
{
    T value;
    std::memcpy(&value, p, sizeof(T));
    return value; // x86 and ARM Linux are little-endian, as the format is
}


// The keys of a JSON object's top level, in file order, duplicates included (QJsonObject keeps
// only the last of equal keys). The text must already have parsed as an object.
QStringList topLevelKeys(const QByteArray &json)
{
    QStringList keys;
    int depth = 0;
    bool expectKey = false;
    for (qsizetype i = 0; i < json.size(); ++i) {
        const char c = json.at(i);
        if (c == '"') {
            qsizetype end = i + 1;
            while (end < json.size() && json.at(end) != '"')
                end += json.at(end) == '\\' ? 2 : 1;
            if (depth == 1 && expectKey) // decoded by Qt's own reader, escapes and all
                keys.append(QJsonDocument::fromJson("[" + json.mid(i, end - i + 1) + "]").array().at(0).toString());
            expectKey = false;
            i = end;
        } else if (c == '{' || c == '[') {
            ++depth;
            expectKey = c == '{' && depth == 1;
        } else if (c == '}' || c == ']') {
            --depth;
        } else if (c == ',' && depth == 1) {
            expectKey = true;
        }
    }
    return keys;
}

} // namespace

QString dtypeName(DType dtype)
{
    for (const DTypeInfo &info : kDTypes)
        if (info.dtype == dtype)
            return QString::fromLatin1(info.name);
    return {};
}

int dtypeSize(DType dtype)
{
    for (const DTypeInfo &info : kDTypes)
        if (info.dtype == dtype)
            return info.size;
    return 0;
}

qint64 TensorView::elementCount() const
{
    qint64 count = 1;
    for (qint64 d : shape)
        count *= d;
    return count;
}

QString TensorView::shapeText() const
{
    QStringList parts;
    for (qint64 d : shape)
        parts.append(QString::number(d));
    return QLatin1Char('[') + parts.join(QStringLiteral(", ")) + QLatin1Char(']');
}

const TensorView *SafetensorsFile::find(const QString &name) const
{
    const auto it = m_tensors.constFind(name);
    return it == m_tensors.constEnd() ? nullptr : &it.value();
}

Result<std::unique_ptr<SafetensorsFile>> SafetensorsFile::open(const QString &path)
{
    using R = Result<std::unique_ptr<SafetensorsFile>>;
    const QString name = QFileInfo(path).fileName();
    auto fail = [&](const QString &message) { return R::failure(QStringLiteral("%1: %2").arg(name, message)); };
    std::unique_ptr<SafetensorsFile> file(new SafetensorsFile);
    file->m_path = path;
    file->m_file.setFileName(path);
    if (QFileInfo(path).isDir())
        return fail(QStringLiteral("is a folder, not a file"));
    if (const Status regular = requireRegularFile(path); !regular) // a pipe or device would block
        return R::failure(regular.error);
    if (!file->m_file.open(QIODevice::ReadOnly))
        return fail(file->m_file.errorString());
    file->m_size = file->m_file.size();
    if (file->m_size < 8)
        return fail(QStringLiteral("file is %1 bytes, too short for a safetensors header").arg(file->m_size));
    file->m_map = file->m_file.map(0, file->m_size);
    if (!file->m_map)
        return fail(QStringLiteral("cannot memory-map the file: %1").arg(file->m_file.errorString()));
    Result<QHash<QString, TensorView>> tensors = parse(file->m_map, file->m_size);
    if (!tensors)
        return fail(tensors.error);
    file->m_tensors = std::move(*tensors.value);
    return {std::move(file), {}};
}

Result<QHash<QString, TensorView>> SafetensorsFile::parse(const uchar *bytes, qint64 size)
{
    using R = Result<QHash<QString, TensorView>>;
    auto fail = [](const QString &message) { return R::failure(message); };
    if (size < 8)
        return fail(QStringLiteral("file is %1 bytes, too short for a safetensors header").arg(size));
    const quint64 headerLength = readLittleEndian<quint64>(bytes);
    if (headerLength > quint64(kMaxSafetensorsHeader))
        return fail(QStringLiteral("header length %1 is larger than the %2 bytes this reader accepts").arg(headerLength).arg(kMaxSafetensorsHeader));
    if (headerLength > quint64(size - 8))
        return fail(QStringLiteral("header length %1 runs past the end of the %2-byte file (truncated?)").arg(headerLength).arg(size));
    const QByteArray headerBytes = QByteArray::fromRawData(reinterpret_cast<const char *>(bytes + 8), qsizetype(headerLength));
    QJsonParseError parseError;
    const QJsonDocument header = QJsonDocument::fromJson(headerBytes, &parseError);
    if (parseError.error != QJsonParseError::NoError)
        return fail(QStringLiteral("header is not valid JSON: %1 at byte %2").arg(parseError.errorString()).arg(parseError.offset));
    if (!header.isObject())
        return fail(QStringLiteral("header is not a JSON object"));

    // The format forbids two entries of one name; a JSON reader would silently keep the last.
    QSet<QString> seen;
    for (const QString &key : topLevelKeys(headerBytes)) {
        if (seen.contains(key))
            return fail(QStringLiteral("tensor \"%1\" is named twice in the header").arg(key));
        seen.insert(key);
    }

    const uchar *dataStart = bytes + 8 + headerLength;
    const qint64 dataSize = size - 8 - qint64(headerLength);
    QHash<QString, TensorView> tensors;
    const QJsonObject entries = header.object();
    struct Span {
        qint64 begin, end;
        QString name;
    };
    std::vector<Span> spans;
    for (auto it = entries.begin(); it != entries.end(); ++it) {
        if (it.key() == QStringLiteral("__metadata__"))
            continue;
        const QString tensorName = it.key();
        auto bad = [&](const QString &problem) { return fail(QStringLiteral("tensor \"%1\": %2").arg(tensorName, problem)); };
        if (!it.value().isObject())
            return bad(QStringLiteral("entry is not an object"));
        const QJsonObject entry = it.value().toObject();
        TensorView view;
        view.name = tensorName;
        const QString dtype = entry.value(QStringLiteral("dtype")).toString();
        const auto info = std::find_if(std::begin(kDTypes), std::end(kDTypes),
                                       [&](const DTypeInfo &i) { return dtype == QLatin1String(i.name); });
        if (info == std::end(kDTypes))
            return bad(QStringLiteral("unknown dtype \"%1\"").arg(dtype));
        view.dtype = info->dtype;
        const QJsonValue shapeValue = entry.value(QStringLiteral("shape"));
        if (!shapeValue.isArray())
            return bad(QStringLiteral("shape is missing or not an array"));
        qint64 elements = 1;
        for (const QJsonValue &d : shapeValue.toArray()) {
            const double dim = d.toDouble(-1);
            if (!d.isDouble() || dim < 0 || dim != std::floor(dim) || dim > 1e15)
                return bad(QStringLiteral("shape holds \"%1\", not a dimension").arg(QString::fromUtf8(QJsonDocument(QJsonArray{d}).toJson(QJsonDocument::Compact))));
            view.shape.push_back(qint64(dim));
            if (dim > 0 && elements > std::numeric_limits<qint64>::max() / 16 / qint64(dim))
                return bad(QStringLiteral("shape %1 is impossibly large").arg(view.shapeText()));
            elements *= qint64(dim);
        }
        const QJsonArray offsets = entry.value(QStringLiteral("data_offsets")).toArray();
        if (offsets.size() != 2 || !offsets.at(0).isDouble() || !offsets.at(1).isDouble())
            return bad(QStringLiteral("data_offsets must be two numbers"));
        const double begin = offsets.at(0).toDouble();
        const double end = offsets.at(1).toDouble();
        if (begin < 0 || end < begin || begin != std::floor(begin) || end != std::floor(end))
            return bad(QStringLiteral("data_offsets [%1, %2] are not a valid range").arg(begin).arg(end));
        if (end > double(dataSize))
            return bad(QStringLiteral("data_offsets [%1, %2] run past the end of the data (%3 bytes; truncated file?)")
                           .arg(qint64(begin)).arg(qint64(end)).arg(dataSize));
        view.byteCount = qint64(end) - qint64(begin);
        if (view.byteCount != elements * info->size)
            return bad(QStringLiteral("shape %1 of %2 needs %3 bytes but data_offsets give %4")
                           .arg(view.shapeText(), dtype).arg(elements * info->size).arg(view.byteCount));
        view.data = dataStart + qint64(begin);
        spans.push_back({qint64(begin), qint64(end), tensorName});
        tensors.insert(tensorName, view);
    }
    // The tensors must cover the data exactly, in some order: no overlap, no hole, nothing after
    // the last one (the format forbids bytes that no tensor accounts for).
    std::sort(spans.begin(), spans.end(), [](const Span &a, const Span &b) { return a.begin < b.begin; });
    qint64 covered = 0;
    for (size_t i = 0; i < spans.size(); ++i) {
        if (i > 0 && spans[i].begin < spans[i - 1].end)
            return fail(QStringLiteral("tensors \"%1\" and \"%2\" overlap").arg(spans[i - 1].name, spans[i].name));
        if (spans[i].begin > covered)
            return fail(QStringLiteral("bytes %1 to %2 of the data belong to no tensor (before \"%3\")")
                            .arg(covered).arg(spans[i].begin).arg(spans[i].name));
        covered = std::max(covered, spans[i].end);
    }
    if (covered != dataSize)
        return fail(QStringLiteral("bytes %1 to %2 of the data belong to no tensor").arg(covered).arg(dataSize));
    return {std::move(tensors), {}};
}

void halfsToFloats(DType dtype, const uchar *p, qint64 count, float *out)
{
    if (dtype == DType::BF16) {
        for (qint64 i = 0; i < count; ++i)
            out[i] = std::bit_cast<float>(quint32(readLittleEndian<quint16>(p + 2 * i)) << 16);
        return;
    }
    for (qint64 i = 0; i < count; ++i)
        out[i] = halfToFloat(readLittleEndian<quint16>(p + 2 * i));
}

namespace {

// Whether any of `count` little-endian words has every bit of `exponent` set (±∞ or NaN), over
// blocks: within a block the test is an OR of masked compares, which the compiler vectorises;
// blocks run on a few threads (a checkpoint's weights are hundreds of megabytes, read from the
// page cache at memory speed).
template<typename Word, bool littleEndianInFile>
bool anyExponentAllOnes(const uchar *p, qint64 count, Word exponent)
{
    constexpr qint64 kBlock = 1 << 16;
    const qint64 blocks = (count + kBlock - 1) / kBlock;
    std::atomic<bool> found = false;
    const int threads = std::clamp(QThread::idealThreadCount(), 1, 4);
    parallelFor(blocks > 16 ? threads : 1, int(blocks), [&](int begin, int end) {
        for (qint64 b = begin; b < end && !found.load(std::memory_order_relaxed); ++b) {
            const qint64 first = b * kBlock;
            const qint64 last = std::min(count, first + kBlock);
            Word any = 0;
            for (qint64 i = first; i < last; ++i) {
                Word word;
                std::memcpy(&word, p + qint64(sizeof(Word)) * i, sizeof(Word));
                if constexpr (littleEndianInFile && QSysInfo::ByteOrder == QSysInfo::BigEndian)
                    word = qFromLittleEndian(word);
                any |= Word((word & exponent) == exponent);
            }
            if (any)
                found = true;
        }
    });
    return found;
}

} // namespace

bool halfsHaveNonFinite(DType dtype, const uchar *p, qint64 count)
{
    return anyExponentAllOnes<quint16, true>(p, count, dtype == DType::BF16 ? 0x7F80 : 0x7C00);
}

bool floatsHaveNonFinite(const float *data, qint64 count)
{
    return anyExponentAllOnes<quint32, false>(reinterpret_cast<const uchar *>(data), count, 0x7F800000u);
}

Status readFloats(const TensorView &view, float *out, qint64 count)
{
    if (count != view.elementCount())
        return Status::failure(QStringLiteral("tensor \"%1\" has %2 elements, expected %3").arg(view.name).arg(view.elementCount()).arg(count));
    const uchar *p = view.data;
    switch (view.dtype) {
    case DType::F32:
        std::memcpy(out, p, size_t(count) * 4);
        return Status::success();
    case DType::F16:
    case DType::BF16:
        halfsToFloats(view.dtype, p, count, out);
        return Status::success();
    case DType::F64:
        for (qint64 i = 0; i < count; ++i)
            out[i] = float(readLittleEndian<double>(p + 8 * i));
        return Status::success();
    default:
        return Status::failure(QStringLiteral("tensor \"%1\" has dtype %2; weights must be F32, F16, BF16 or F64")
                                   .arg(view.name, dtypeName(view.dtype)));
    }
}

} // namespace studio
