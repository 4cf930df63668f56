#pragma once

// Helpers shared by the test executables: one definition each.

#include "tensor.h"

#include <QByteArray>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QString>
#include <QTest>

#include <cmath>
#include <csignal>
#include <vector>
#include <sys/resource.h>

namespace studio::testing {

// The whole content of a file (empty if it cannot be read).
inline QByteArray readAll(const QString &path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

// A JSON file's top-level object (empty if it cannot be read).
inline QJsonObject readJson(const QString &path)
{
    return QJsonDocument::fromJson(readAll(path)).object();
}

// A JSON array of integers.
inline std::vector<int> intList(const QJsonValue &value)
{
    std::vector<int> out;
    for (const QJsonValue &v : value.toArray())
        out.push_back(v.toInt());
    return out;
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

// Files of this process (and of the processes it starts) may grow to at most `bytes` while this
// lives, as on a full disk. With IgnoreSignal a write past the limit fails instead of raising
// SIGXFSZ in this process; with KeepSignal the signal's disposition is left as it is, so a child
// started meanwhile inherits the default (it would be killed unless it ignores the signal itself).
class ScopedFileSizeLimit {
public:
    enum Signal { IgnoreSignal, KeepSignal };
    ScopedFileSizeLimit(rlim_t bytes, Signal signal)
    {
        m_set = getrlimit(RLIMIT_FSIZE, &m_old) == 0;
        if (signal == IgnoreSignal)
            m_previousHandler = std::signal(SIGXFSZ, SIG_IGN);
        rlimit small = m_old;
        small.rlim_cur = bytes;
        m_set = m_set && setrlimit(RLIMIT_FSIZE, &small) == 0;
    }
    ~ScopedFileSizeLimit()
    {
        setrlimit(RLIMIT_FSIZE, &m_old);
        if (m_previousHandler != SIG_ERR)
            std::signal(SIGXFSZ, m_previousHandler);
    }
    ScopedFileSizeLimit(const ScopedFileSizeLimit &) = delete;
    ScopedFileSizeLimit &operator=(const ScopedFileSizeLimit &) = delete;
    bool isSet() const { return m_set; }

private:
    rlimit m_old{};
    void (*m_previousHandler)(int) = SIG_ERR;
    bool m_set = false;
};

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
