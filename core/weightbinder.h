#pragma once

#include "modelconfig.h"
#include "transformer.h"

#include <QHash>
#include <QStringList>

#include <deque>
#include <vector>

namespace studio {

// Every tensor of a model's files by name; a name in more than one file is refused.
inline Result<QHash<QString, TensorView>> tensorsOf(const std::vector<std::unique_ptr<SafetensorsFile>> &files)
{
    QHash<QString, TensorView> tensors;
    for (const std::unique_ptr<SafetensorsFile> &file : files)
        for (auto it = file->tensors().cbegin(); it != file->tensors().cend(); ++it) {
            if (tensors.contains(it.key()))
                return Result<QHash<QString, TensorView>>::failure(QStringLiteral("tensor \"%1\" is in more than one shard").arg(it.key()));
            tensors.insert(it.key(), it.value());
        }
    return {std::move(tensors), {}};
}

// Resolves tensor names as they occur in the wild: with or without the family's task-model prefix
// ("transformer.", "bert."), and the legacy LayerNorm gamma/beta spelling. Stops at the first error.
class WeightBinder {
public:
    WeightBinder(const QStringList &prefixes, LinearLayout layout, NormKind norm, const QHash<QString, TensorView> &tensors,
                 std::deque<std::vector<float>> &converted)
        : m_tensors(tensors), m_converted(converted), m_prefixes(prefixes), m_layout(layout), m_norm(norm)
    {
    }

    QString error() const { return m_error; }
    // Tensors holding NaN or ±∞: the model runs, but what they reach is undefined, and says so.
    QStringList nonFinite() const { return m_nonFinite; }

    WeightRef tensor(const QString &name, int rows, int cols)
    {
        const WeightRef ref = bind(name, rows, cols);
        const qint64 count = qint64(ref.rows) * ref.cols;
        const bool nonFinite = ref.isHalf() ? halfsHaveNonFinite(ref.halfType, ref.half, count)
                                            : ref.data && floatsHaveNonFinite(ref.data, count);
        if (nonFinite)
            m_nonFinite.append(find(name)->name);
        return ref;
    }

private:
    WeightRef bind(const QString &name, int rows, int cols)
    {
        if (!m_error.isEmpty())
            return {};
        const TensorView *view = find(name);
        if (!view) {
            m_error = QStringLiteral("missing tensor \"%1\"").arg(name);
            return {};
        }
        // A vector is stored 1-d, a matrix 2-d.
        const std::vector<qint64> expected = rows == 1 && cols > 0 && m_expectVector ? std::vector<qint64>{cols}
                                                                                      : std::vector<qint64>{rows, cols};
        if (view->shape != expected) {
            TensorView wanted;
            wanted.shape = expected;
            m_error = QStringLiteral("tensor \"%1\" has shape %2, expected %3 from config.json")
                          .arg(view->name, view->shapeText(), wanted.shapeText());
            return {};
        }
        const qint64 count = qint64(rows) * cols;
        if (view->dtype == DType::F32 && reinterpret_cast<quintptr>(view->data) % alignof(float) == 0)
            return {reinterpret_cast<const float *>(view->data), nullptr, DType::F32, rows, cols};
        // Half-precision matrices stay in the file, converted as they are used; vectors (norms,
        // biases) are converted once.
        if ((view->dtype == DType::F16 || view->dtype == DType::BF16) && rows > 1 && !m_expectVector)
            return {nullptr, view->data, view->dtype, rows, cols};
        // A converted copy (F16, BF16, F64, unaligned F32): its size is bounded by the file's, but
        // memory may still run out, which is a message, not an abort.
        std::vector<float> *converted = nullptr;
        try {
            converted = &m_converted.emplace_back(size_t(count));
        } catch (const std::bad_alloc &) {
            m_error = QStringLiteral("not enough memory to convert tensor \"%1\" (%2 MB as float)")
                          .arg(view->name).arg(double(count) * 4 / 1e6, 0, 'f', 0);
            return {};
        }
        std::vector<float> &copy = *converted;
        if (const Status read = readFloats(*view, copy.data(), count); !read) {
            m_error = read.error;
            return {};
        }
        return {copy.data(), nullptr, DType::F32, rows, cols};
    }

public:
    WeightRef vector(const QString &name, int size)
    {
        m_expectVector = true;
        const WeightRef ref = tensor(name, 1, size);
        m_expectVector = false;
        return ref;
    }

    LinearWeights linear(const QString &base, int inputs, int outputs, bool hasBias)
    {
        LinearWeights l;
        switch (m_layout) {
        case LinearLayout::InByOut: l.outByIn = false; break;
        case LinearLayout::OutByIn: l.outByIn = true; break;
        }
        l.weight = l.outByIn ? tensor(base + QStringLiteral(".weight"), outputs, inputs)
                             : tensor(base + QStringLiteral(".weight"), inputs, outputs);
        if (hasBias)
            l.bias = vector(base + QStringLiteral(".bias"), outputs);
        return l;
    }

    LayerNormWeights norm(const QString &base, int size)
    {
        switch (m_norm) {
        case NormKind::RmsNorm:
            return {vector(base + QStringLiteral(".weight"), size), {}};
        case NormKind::LayerNorm:
            break;
        }
        const bool legacy = !find(base + QStringLiteral(".weight")) && find(base + QStringLiteral(".gamma"));
        return {vector(base + (legacy ? QStringLiteral(".gamma") : QStringLiteral(".weight")), size),
                vector(base + (legacy ? QStringLiteral(".beta") : QStringLiteral(".bias")), size)};
    }

    // Whether a tensor is present, under any of the family's prefixes.
    bool has(const QString &name) const { return find(name) != nullptr; }

private:
    const TensorView *find(const QString &name) const
    {
        for (const QString &prefix : m_prefixes) {
            const auto it = m_tensors.constFind(prefix + name);
            if (it != m_tensors.constEnd())
                return &it.value();
        }
        return nullptr;
    }

    const QHash<QString, TensorView> &m_tensors;
    std::deque<std::vector<float>> &m_converted;
    const QStringList m_prefixes;
    const LinearLayout m_layout;
    const NormKind m_norm;
    QString m_error;
    QStringList m_nonFinite;
    bool m_expectVector = false;
};


} // namespace studio
