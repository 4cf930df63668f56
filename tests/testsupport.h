#pragma once

// Helpers shared by the test executables: one definition each.

#include "tensor.h"

#include <QByteArray>
#include <QFile>
#include <QString>
#include <QTest>

#include <cmath>

namespace studio::testing {

// The whole content of a file (empty if it cannot be read).
inline QByteArray readAll(const QString &path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

// The largest absolute difference between two matrices of the same shape (∞ when shapes differ).
inline double maxAbsDifference(const Matrix &a, const Matrix &b)
{
    if (a.rows() != b.rows() || a.cols() != b.cols())
        return INFINITY;
    double worst = 0;
    for (Eigen::Index i = 0; i < a.size(); ++i)
        worst = std::max(worst, std::abs(double(a.data()[i]) - double(b.data()[i])));
    return worst;
}

} // namespace studio::testing

// A Result or Status that must have succeeded; prints its message when it did not.
#define QVERIFY_OK(result)                                                                  \
    do {                                                                                    \
        const auto &studioResult_ = (result);                                               \
        QVERIFY2(bool(studioResult_), qPrintable(QStringLiteral("failed: ") + studioResult_.error)); \
    } while (false)

// Two matrices of the same shape whose entries differ by at most tolerance.
#define COMPARE_MATRIX(actual, expected, tolerance)                                                   \
    do {                                                                                              \
        const double studioDifference_ = studio::testing::maxAbsDifference((actual), (expected));     \
        QVERIFY2(studioDifference_ <= (tolerance),                                                     \
                 qPrintable(QStringLiteral("max |Δ| %1 > %2").arg(studioDifference_).arg(double(tolerance)))); \
    } while (false)
